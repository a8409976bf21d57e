import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countTenants,
  createBuiltinTenantRegistry,
  deriveTenantKey,
} from '../../../src/orders/provisioning/builtin-tenant-store.js';
import { withFaults } from '../../../src/orders/provisioning/fault-injecting-provisioner.js';
import { ProvisionerError, type Provisioner, type TenantSpec } from '../../../src/orders/provisioning/provisioner.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createSealedBox } from '../../../src/platform/sealed-box.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { aTenantSpec } from '../../support/factories.js';
import { rejectionOf } from '../../support/rejection.js';

const sealedBox = createSealedBox('integration-test-data-encryption-key');
const URL_TEMPLATE = 'https://{tenant}.saas.test.example';
const ADMIN_TEMPLATE = 'https://admin.saas.test.example/{tenant}/console?t={tenant}';

const spec = aTenantSpec({ customerId: 'cust-9' });

interface Row {
  tenant_key: string;
  status: string;
  spec: unknown;
  credentials_sealed: string;
  updated_at: Date;
  deleted_at: Date | null;
}

let pool: Pool;
let registry: Provisioner;

const rowOf = async (instanceId: string): Promise<Row | undefined> =>
  (await pool.query<Row>('SELECT tenant_key, status, spec, credentials_sealed, updated_at, deleted_at FROM tenants WHERE instance_id = $1', [instanceId]))
    .rows[0];

const failureOf = (p: Promise<unknown>): Promise<ProvisionerError> => rejectionOf(p, ProvisionerError);

beforeAll(() => {
  pool = createPool({ url: testInfra().databaseUrl, max: 25, applicationName: 'test-builtin-tenant-registry' });
  registry = createBuiltinTenantRegistry({ pool, sealedBox, tenantUrlTemplate: URL_TEMPLATE, tenantAdminUrlTemplate: ADMIN_TEMPLATE });
});

afterAll(async () => {
  await pool.end();
});

describe('builtin tenant registry', () => {
  it('turns 20 concurrent creates of one instance into one tenant with identical access', async () => {
    const instanceId = uniqueId('inst');
    const results = await Promise.all(Array.from({ length: 20 }, () => registry.create(instanceId, spec)));

    expect(await countTenants(pool, instanceId)).toBe(1);
    const first = results[0]!;
    for (const access of results) expect(access).toEqual(first);
    expect(first.password.length).toBeGreaterThanOrEqual(20);
    expect(first.password).toMatch(/[A-Z]/);
    expect(first.password).toMatch(/[a-z]/);
    expect(first.password).toMatch(/[0-9]/);
    expect(first.password).toMatch(/[^A-Za-z0-9]/);
    // A later, sequential repeat still answers the same credentials.
    await expect(registry.create(instanceId, spec)).resolves.toEqual(first);
  });

  it('builds URLs and the user name from the templates and a DNS-safe tenant key', async () => {
    const instanceId = uniqueId('inst');
    const access = await registry.create(instanceId, spec);
    const key = deriveTenantKey(sealedBox, instanceId);
    expect(key).toMatch(/^t[0-9a-f]{16}$/);
    expect((await rowOf(instanceId))?.tenant_key).toBe(key);
    expect(access.frontEndUrl).toBe(`https://${key}.saas.test.example`);
    expect(access.adminUrl).toBe(`https://admin.saas.test.example/${key}/console?t=${key}`);
    expect(access.userName).toBe(`admin-${key}`);
    // Derived from the instance only: another instance gets another key, a fresh registry the same one.
    expect(deriveTenantKey(sealedBox, uniqueId('inst'))).not.toBe(key);
    const again = createBuiltinTenantRegistry({ pool, sealedBox, tenantUrlTemplate: URL_TEMPLATE, tenantAdminUrlTemplate: ADMIN_TEMPLATE });
    await expect(again.create(instanceId, spec)).resolves.toEqual(access);
  });

  it('omits the admin URL when there is no admin template', async () => {
    const noAdmin = createBuiltinTenantRegistry({ pool, sealedBox, tenantUrlTemplate: URL_TEMPLATE });
    const access = await noAdmin.create(uniqueId('inst'), spec);
    expect(access.adminUrl).toBeUndefined();
  });

  it('stores the credentials sealed, never the password in plain text', async () => {
    const instanceId = uniqueId('inst');
    const access = await registry.create(instanceId, spec);
    const row = await rowOf(instanceId);
    expect(row?.credentials_sealed.startsWith('v1.')).toBe(true);
    expect(row?.credentials_sealed).not.toContain(access.password);
    expect(JSON.stringify(row)).not.toContain(access.password);
    expect(sealedBox.openJson(row!.credentials_sealed)).toEqual({ userName: access.userName, password: access.password });
    expect(row?.spec).toEqual(spec);
  });

  it('creates the admin account with the buyer\'s contacts, stored only sealed (and kept when a replayed create has none)', async () => {
    const instanceId = uniqueId('inst-contacts');
    const contacts = { mobilePhone: '+86 138-0000-1234', email: 'buyer@example.com' };
    await registry.create(instanceId, spec, { contacts });
    const stored = async () =>
      (await pool.query<{ admin_contacts_sealed: string | null; row: string }>('SELECT admin_contacts_sealed, row_to_json(t)::text AS row FROM tenants t WHERE instance_id = $1', [instanceId])).rows[0]!;
    const first = await stored();
    expect(sealedBox.openJson(first.admin_contacts_sealed!)).toEqual(contacts);
    expect(first.row).not.toContain('1234');
    expect(first.row).not.toContain('buyer@example.com');
    await registry.remove(instanceId);
    await registry.create(instanceId, spec);
    expect(sealedBox.openJson((await stored()).admin_contacts_sealed!)).toEqual(contacts);
    const other = uniqueId('inst-no-contacts');
    await registry.create(other, spec);
    expect((await pool.query('SELECT admin_contacts_sealed FROM tenants WHERE instance_id = $1', [other])).rows[0].admin_contacts_sealed).toBeNull();
  });

  it('refuses a contact the admin account cannot be created with (MOBILE_REJECTED / EMAIL_REJECTED), creating nothing and naming no contact', async () => {
    for (const [contacts, code] of [
      [{ mobilePhone: 'call me maybe' }, 'MOBILE_REJECTED'],
      [{ mobilePhone: '123' }, 'MOBILE_REJECTED'],
      [{ email: 'buyer-at-example.com' }, 'EMAIL_REJECTED'],
      [{ mobilePhone: '13800001234', email: `${'x'.repeat(250)}@example.com` }, 'EMAIL_REJECTED'],
    ] as const) {
      const instanceId = uniqueId('inst-bad-contact');
      const err = await failureOf(registry.create(instanceId, spec, { contacts }));
      expect(err.code).toBe(code);
      expect(err.retryable).toBe(false);
      for (const value of Object.values(contacts)) expect(err.message).not.toContain(value);
      expect(await countTenants(pool, instanceId)).toBe(0);
    }
  });

  it('freezes and resumes idempotently, and get reports the status', async () => {
    const instanceId = uniqueId('inst');
    const access = await registry.create(instanceId, spec);
    await registry.freeze(instanceId);
    const frozenAt = (await rowOf(instanceId))!.updated_at;
    await registry.freeze(instanceId);
    expect((await rowOf(instanceId))!.updated_at).toEqual(frozenAt);
    await expect(registry.get(instanceId)).resolves.toEqual({ ...access, status: 'FROZEN' });
    // A repeated create of a frozen tenant answers its access and does not thaw it.
    await expect(registry.create(instanceId, spec)).resolves.toEqual(access);
    expect((await rowOf(instanceId))!.status).toBe('FROZEN');

    await registry.resume(instanceId);
    await registry.resume(instanceId);
    await expect(registry.get(instanceId)).resolves.toEqual({ ...access, status: 'ACTIVE' });
    expect(await countTenants(pool, instanceId)).toBe(1);
  });

  it('changes the spec idempotently', async () => {
    const instanceId = uniqueId('inst');
    await registry.create(instanceId, spec);
    const bigger: TenantSpec = { ...spec, skuCode: 'sku-pro', spec: { amount: 10, diskSize: '200' } };
    await registry.changeSpec(instanceId, bigger);
    await registry.changeSpec(instanceId, bigger);
    expect((await rowOf(instanceId))!.spec).toEqual(bigger);
  });

  it('removes idempotently as a soft delete, and succeeds for an unknown tenant', async () => {
    const instanceId = uniqueId('inst');
    const access = await registry.create(instanceId, spec);
    await registry.remove(instanceId);
    const removed = await rowOf(instanceId);
    expect(removed?.status).toBe('DELETED');
    expect(removed?.deleted_at).toBeInstanceOf(Date);
    await registry.remove(instanceId);
    expect((await rowOf(instanceId))!.deleted_at).toEqual(removed!.deleted_at);
    await expect(registry.get(instanceId)).resolves.toEqual({ ...access, status: 'DELETED' });

    const unknown = uniqueId('never-created');
    await expect(registry.remove(unknown)).resolves.toBeUndefined();
    expect(await countTenants(pool, unknown)).toBe(0);
    await expect(registry.get(unknown)).resolves.toBeUndefined();
  });

  it('answers TENANT_NOT_FOUND for resume/freeze/changeSpec after remove, and for unknown tenants', async () => {
    const instanceId = uniqueId('inst');
    await registry.create(instanceId, spec);
    await registry.remove(instanceId);
    expect((await failureOf(registry.resume(instanceId))).code).toBe('TENANT_NOT_FOUND');
    expect((await failureOf(registry.freeze(instanceId))).code).toBe('TENANT_NOT_FOUND');
    expect((await failureOf(registry.changeSpec(instanceId, spec))).code).toBe('TENANT_NOT_FOUND');
    expect((await rowOf(instanceId))!.status).toBe('DELETED');

    const unknown = uniqueId('never-created');
    expect((await failureOf(registry.freeze(unknown))).code).toBe('TENANT_NOT_FOUND');
    expect((await failureOf(registry.resume(unknown))).code).toBe('TENANT_NOT_FOUND');
    expect((await failureOf(registry.changeSpec(unknown, spec))).code).toBe('TENANT_NOT_FOUND');
    expect(await countTenants(pool, unknown)).toBe(0);
  });

  it('re-activates a removed tenant on a replayed create, with the same key and credentials', async () => {
    const instanceId = uniqueId('inst');
    const access = await registry.create(instanceId, spec);
    await registry.remove(instanceId);
    await expect(registry.create(instanceId, spec)).resolves.toEqual(access);
    const row = await rowOf(instanceId);
    expect(row?.status).toBe('ACTIVE');
    expect(row?.deleted_at).toBeNull();
    expect(await countTenants(pool, instanceId)).toBe(1);
  });

  it('rejects a create whose tenant key is taken by another instance', async () => {
    const instanceId = uniqueId('inst');
    const key = deriveTenantKey(sealedBox, instanceId);
    const squatter = uniqueId('squatter');
    await pool.query(
      `INSERT INTO tenants (instance_id, tenant_key, status, front_end_url, credentials_sealed) VALUES ($1, $2, 'ACTIVE', 'https://x', 'v1.x.x.x')`,
      [squatter, key],
    );
    const err = await failureOf(registry.create(instanceId, spec));
    expect(err.code).toBe('PROVISIONING_REJECTED');
    expect(await countTenants(pool, instanceId)).toBe(0);
  });

  it('dates rows with the injected clock', async () => {
    const clock = { t: new Date('2030-05-01T10:00:00.000Z') };
    const timed = createBuiltinTenantRegistry({ pool, sealedBox, tenantUrlTemplate: URL_TEMPLATE, now: () => clock.t });
    const instanceId = uniqueId('inst');
    await timed.create(instanceId, spec);
    expect((await rowOf(instanceId))!.updated_at.toISOString()).toBe('2030-05-01T10:00:00.000Z');
    clock.t = new Date('2030-06-01T10:00:00.000Z');
    await timed.remove(instanceId);
    expect((await rowOf(instanceId))!.deleted_at?.toISOString()).toBe('2030-06-01T10:00:00.000Z');
  });

  it('reports an unreadable credential (changed key) as PROVISIONER_UNAVAILABLE', async () => {
    const instanceId = uniqueId('inst');
    await registry.create(instanceId, spec);
    const rotated = createBuiltinTenantRegistry({ pool, sealedBox: createSealedBox('a-different-data-encryption-key'), tenantUrlTemplate: URL_TEMPLATE });
    const err = await failureOf(rotated.get(instanceId));
    expect(err.code).toBe('PROVISIONER_UNAVAILABLE');
  });

  it('reports a database outage as PROVISIONER_UNAVAILABLE', async () => {
    const deadPool = createPool({ url: 'postgres://nobody:nothing@127.0.0.1:1/none', max: 1, applicationName: 'test-dead' });
    try {
      const dead = createBuiltinTenantRegistry({ pool: deadPool, sealedBox, tenantUrlTemplate: URL_TEMPLATE });
      const err = await failureOf(dead.create(uniqueId('inst'), spec));
      expect(err.code).toBe('PROVISIONER_UNAVAILABLE');
      expect(err.retryable).toBe(true);
    } finally {
      await deadPool.end();
    }
  });
});

describe('fault-injecting wrapper over the builtin registry', () => {
  it('counts only the calls that reached the registry and succeeded', async () => {
    const { provisioner, faults, effects, attempts } = withFaults(registry);
    const instanceId = uniqueId('inst');

    faults.failNext('create', 2, 'PROVISIONER_UNAVAILABLE');
    expect((await failureOf(provisioner.create(instanceId, spec))).code).toBe('PROVISIONER_UNAVAILABLE');
    expect((await failureOf(provisioner.create(instanceId, spec))).code).toBe('PROVISIONER_UNAVAILABLE');
    expect(await countTenants(pool, instanceId)).toBe(0);
    expect(effects.create).toBe(0);

    const access = await provisioner.create(instanceId, spec);
    expect(effects.create).toBe(1);
    expect(attempts.create).toBe(3);

    // A lost answer: the effect happened, the caller saw a failure, the retry converges on the same tenant.
    faults.failNext('remove', 1, 'PROVISIONER_UNAVAILABLE', 'after');
    expect((await failureOf(provisioner.remove(instanceId))).code).toBe('PROVISIONER_UNAVAILABLE');
    expect(effects.remove).toBe(1);
    expect((await rowOf(instanceId))!.status).toBe('DELETED');
    await provisioner.remove(instanceId);
    expect(effects.remove).toBe(2);

    // Failures of the inner provisioner are not effects.
    expect((await failureOf(provisioner.resume(instanceId))).code).toBe('TENANT_NOT_FOUND');
    expect(effects.resume).toBe(0);
    expect(attempts.resume).toBe(1);

    await expect(provisioner.create(instanceId, spec)).resolves.toEqual(access);
    expect(await countTenants(pool, instanceId)).toBe(1);
    expect(provisioner.kind).toBe('builtin');
  });

  it('delays calls and clears faults on reset', async () => {
    const { provisioner, faults, effects } = withFaults(registry);
    const instanceId = uniqueId('inst');
    faults.delayMs('create', 150);
    faults.failNext('freeze', 5, 'PROVISIONING_REJECTED');
    const started = Date.now();
    await provisioner.create(instanceId, spec);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect((await failureOf(provisioner.freeze(instanceId))).code).toBe('PROVISIONING_REJECTED');
    faults.reset();
    await provisioner.freeze(instanceId);
    expect(effects).toMatchObject({ create: 1, freeze: 1 });
    expect((await rowOf(instanceId))!.status).toBe('FROZEN');
  });
});
