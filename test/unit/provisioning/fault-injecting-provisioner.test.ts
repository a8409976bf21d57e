import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createProvisioner,
  generateTenantPassword,
  ProvisionerError,
  withFaults,
  type Provisioner,
  type TenantAccess,
} from '../../../src/orders/provisioning/index.js';
import type { Pool } from '../../../src/platform/db/pool.js';
import { createSealedBox } from '../../../src/platform/sealed-box.js';

/** An in-memory provisioner that counts its own calls. */
function fakeInner(): Provisioner & { calls: string[] } {
  const calls: string[] = [];
  const access: TenantAccess = { frontEndUrl: 'https://t', userName: 'u', password: 'p' };
  return {
    kind: 'fake',
    calls,
    create: async (id) => (calls.push(`create ${id}`), access),
    changeSpec: async (id) => void calls.push(`changeSpec ${id}`),
    freeze: async (id) => void calls.push(`freeze ${id}`),
    resume: async (id) => {
      calls.push(`resume ${id}`);
      throw new ProvisionerError('TENANT_NOT_FOUND', 'no tenant');
    },
    remove: async (id) => void calls.push(`remove ${id}`),
    get: async (id) => (calls.push(`get ${id}`), { ...access, status: 'ACTIVE' as const }),
  };
}

const spec = { spec: {}, trial: false, testOrder: true };

describe('withFaults', () => {
  it('fails the next n calls before the inner provisioner, then passes through', async () => {
    const inner = fakeInner();
    const { provisioner, faults, effects, attempts } = withFaults(inner);
    faults.failNext('create', 2, 'PROVISIONER_UNAVAILABLE');
    await expect(provisioner.create('a', spec)).rejects.toMatchObject({ code: 'PROVISIONER_UNAVAILABLE' });
    await expect(provisioner.create('a', spec)).rejects.toMatchObject({ code: 'PROVISIONER_UNAVAILABLE' });
    await expect(provisioner.create('a', spec)).resolves.toMatchObject({ userName: 'u' });
    expect(inner.calls).toEqual(['create a']);
    expect(effects.create).toBe(1);
    expect(attempts.create).toBe(3);
    expect(provisioner.kind).toBe('fake');
  });

  it("fails 'after' the effect: counted as an effect, answered as a failure", async () => {
    const inner = fakeInner();
    const { provisioner, faults, effects } = withFaults(inner);
    faults.failNext('remove', 1, 'PROVISIONER_UNAVAILABLE', 'after');
    await expect(provisioner.remove('a')).rejects.toBeInstanceOf(ProvisionerError);
    expect(inner.calls).toEqual(['remove a']);
    expect(effects.remove).toBe(1);
  });

  it('does not count inner failures as effects, and keeps operations apart', async () => {
    const { provisioner, faults, effects } = withFaults(fakeInner());
    faults.failNext('freeze', 1, 'PROVISIONING_REJECTED');
    await expect(provisioner.resume('a')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await provisioner.changeSpec('a', spec);
    await expect(provisioner.freeze('a')).rejects.toMatchObject({ code: 'PROVISIONING_REJECTED' });
    await provisioner.freeze('a');
    await provisioner.get('a');
    expect(effects).toEqual({ create: 0, changeSpec: 1, freeze: 1, resume: 0, remove: 0, get: 1 });
  });

  it('delays calls until reset, and reset drops pending failures', async () => {
    const inner = fakeInner();
    const { provisioner, faults } = withFaults(inner);
    faults.delayMs('freeze', 120);
    faults.failNext('remove', 3, 'PROVISIONER_UNAVAILABLE');
    let started = Date.now();
    await provisioner.freeze('a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    faults.reset();
    started = Date.now();
    await provisioner.freeze('a');
    expect(Date.now() - started).toBeLessThan(100);
    await expect(provisioner.remove('a')).resolves.toBeUndefined();
  });

  it('refuses nonsense fault settings', () => {
    const { faults } = withFaults(fakeInner());
    expect(() => faults.failNext('create', -1, 'PROVISIONER_UNAVAILABLE')).toThrow(RangeError);
    expect(() => faults.delayMs('create', Number.NaN)).toThrow(RangeError);
  });
});

describe('createProvisioner', () => {
  const sealedBox = createSealedBox('unit-test-data-encryption-key-0001');
  const pool = {} as Pool;

  it('chooses the adapter from the configuration', () => {
    expect(
      createProvisioner({ kind: 'builtin', tenantUrlTemplate: 'https://{tenant}.x', tenantAdminUrlTemplate: '' }, { pool, sealedBox }).kind,
    ).toBe('builtin');
    expect(createProvisioner({ kind: 'http', url: 'https://merchant.example/api', token: 't' }, { pool, sealedBox }).kind).toBe('http');
  });
});

describe('generateTenantPassword', () => {
  it('is long, mixes every class, and never repeats', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.constant(null), () => {
        const pw = generateTenantPassword();
        expect(pw.length).toBeGreaterThanOrEqual(20);
        expect(pw).toMatch(/[A-Z]/);
        expect(pw).toMatch(/[a-z]/);
        expect(pw).toMatch(/[0-9]/);
        expect(pw).toMatch(/[^A-Za-z0-9]/);
        expect(pw).toMatch(/^[\x21-\x7e]+$/);
        expect(seen.has(pw)).toBe(false);
        seen.add(pw);
      }),
      { numRuns: 500 },
    );
  });
});
