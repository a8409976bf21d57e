import { describe, expect, it } from 'vitest';
import { parseLicenseCodeRequest, parseLicenseTime, parseOnlineLicenseRequest, parseV1LicenseRequest } from '../../../src/koogallery/license-requests.js';
import { describeLedger, emptyLedger, linearValueOf, quotaOf, withEffectiveOrder, withIssued, LEDGER_FINGERPRINTS } from '../../../src/licenses/state.js';
import { fingerprintLabel, licenseClaims } from '../../../src/licenses/store.js';
import { createKeyedLimiter } from '../../../src/platform/keyed-limiter.js';
import type { OrderDetails } from '../../../src/orders/contract.js';

const details = (linearValue?: unknown): OrderDetails => ({ trial: false, spec: linearValue === undefined ? {} : { linearValue: linearValue as number } });

describe('license ledger', () => {
  it('when no order states a linearValue, then the quota is 1; otherwise the sum over the effective orders', () => {
    let l = emptyLedger('ONLINE_LICENSE');
    expect(quotaOf(l)).toBe(1);
    l = withEffectiveOrder(l, 'purchase', details());
    expect(quotaOf(l)).toBe(1);
    l = withEffectiveOrder(l, 'purchase', details(3));
    l = withEffectiveOrder(l, 'change-1', details(2));
    expect(quotaOf(l)).toBe(5);
    // The same order applied twice counts once.
    l = withEffectiveOrder(l, 'change-1', details(2));
    expect(quotaOf(l)).toBe(5);
  });

  it('when linearValue is odd, then only whole positive licenses count', () => {
    expect(linearValueOf(details(2.7) as never)).toBe(2);
    expect(linearValueOf(details('4') as never)).toBe(4);
    for (const bad of [0, -1, 0.5, 'x', NaN, Infinity]) expect(linearValueOf(details(bad) as never), String(bad)).toBeUndefined();
  });

  it('when licenses are issued, then the newest fingerprint comes first, repeats move up, and the list stays bounded', () => {
    let l = emptyLedger('ONLINE_LICENSE');
    for (let i = 0; i < LEDGER_FINGERPRINTS + 5; i++) l = withIssued(l, i + 1, `FP-${i}`);
    expect(l.fingerprints).toHaveLength(LEDGER_FINGERPRINTS);
    expect(l.fingerprints[0]).toBe(`FP-${LEDGER_FINGERPRINTS + 4}`);
    l = withIssued(l, 99, 'FP-10');
    expect(l.fingerprints[0]).toBe('FP-10');
    expect(l.fingerprints.filter((f) => f === 'FP-10')).toHaveLength(1);
    expect(withIssued(l, 100, undefined).fingerprints).toEqual(l.fingerprints);
    expect(describeLedger(l)).toContain('licenses 99/1');
  });

  it('when a fingerprint is long, then its label is its hash; absent, none', () => {
    expect(fingerprintLabel('SHORT')).toBe('SHORT');
    expect(fingerprintLabel('x'.repeat(101))).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fingerprintLabel(undefined)).toBeUndefined();
    expect(fingerprintLabel('')).toBeUndefined();
  });

  it('when claims are built, then the request decides times unless it names no expiry, and epoch seconds match', () => {
    const base = { instanceId: 'i', family: 'ONLINE_LICENSE' as const, quota: 2, allowNew: true, testOrder: false, productId: 'p' };
    const c = licenseClaims({ ...base, request: { eventId: 'e', effectiveTime: '2025-01-01T00:00:00.000Z', testOrder: false }, instanceExpireTime: '2026-01-01T00:00:00.000Z' }, 'lic', new Date('2025-02-01T00:00:00Z'));
    expect(c).toEqual({ licenseId: 'lic', family: 'ONLINE_LICENSE', instanceId: 'i', productId: 'p', effectiveTime: '2025-01-01T00:00:00.000Z', expireTime: '2026-01-01T00:00:00.000Z', eventId: 'e', quota: 2, iat: 1738368000, nbf: 1735689600, exp: 1767225600 });
    const perpetual = licenseClaims({ ...base, testOrder: true, request: { eventId: 'e', effectiveTime: '2025-01-01T00:00:00.000Z', deviceFingerprint: 'D', testOrder: true } }, 'lic', new Date());
    expect(perpetual).toMatchObject({ deviceFingerprint: 'D', testOrder: true });
    expect(perpetual.exp).toBeUndefined();
  });
});

describe('keyed limiter', () => {
  it('when more calls than the limit arrive for one key, then at most `limit` run at once, in arrival order; other keys are not held up', async () => {
    const limiter = createKeyedLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gate: Array<() => void> = [];
    const task = (i: number) =>
      limiter.run('k', async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise<void>((r) => gate.push(r));
        running--;
        return i;
      });
    const all = [0, 1, 2, 3, 4].map(task);
    const other = limiter.run('other', async () => 'free');
    expect(await other).toBe('free');
    expect(limiter.pending('k')).toBe(5);
    while (gate.length > 0 || running > 0) {
      gate.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.pending('k')).toBe(0);
  });

  it('when a call fails, then its slot is freed for the next', async () => {
    const limiter = createKeyedLimiter(1);
    await expect(limiter.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run('k', async () => 'next')).toBe('next');
  });
});

describe('License request schemas', () => {
  const good = { activity: 'getLicenseAsync', instanceId: 'i-1', effectiveTime: '20250101000000', eventId: 'e-1' };

  it('when getLicenseAsync is well-formed, then it parses; times in compact or ISO form with a zone, testFlag as number', () => {
    expect(parseOnlineLicenseRequest(good)).toMatchObject({ ok: true, request: good });
    expect(parseOnlineLicenseRequest({ ...good, effectiveTime: '2025-01-01T08:00:00+08:00', expireTime: '2026-01-01T00:00:00Z', testFlag: 1, deviceFingerprint: '' })).toMatchObject({ ok: true, request: { testFlag: '1' } });
    expect(parseLicenseTime('2025-01-01T08:00:00+08:00')?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(parseLicenseTime('20250101000000123')?.toISOString()).toBe('2025-01-01T00:00:00.123Z');
  });

  it.each([
    [{ ...good, eventId: undefined }, 'eventId'],
    [{ ...good, eventId: 'e'.repeat(65) }, 'eventId'],
    [{ ...good, instanceId: '' }, 'instanceId'],
    [{ ...good, effectiveTime: '2025-01-01' }, 'effectiveTime'],
    [{ ...good, effectiveTime: '2025-01-01T00:00:00' }, 'effectiveTime'],
    [{ ...good, expireTime: '20240101000000' }, 'expireTime'],
    [{ ...good, deviceFingerprint: 'x'.repeat(1025) }, 'deviceFingerprint'],
    [{ ...good, deviceFingerprint: 5 }, 'deviceFingerprint'],
    [{ ...good, testFlag: '2' }, 'testFlag'],
    [{ ...good, activity: 'getLicense' }, 'activity'],
    [{ ...good, eventId: 'x\ud800' }, 'eventId'],
    [{ ...good, deviceFingerprint: '\udc00MAC' }, 'deviceFingerprint'],
  ])('when getLicenseAsync is %j, then 000002 naming %s', (body, field) => {
    expect(parseOnlineLicenseRequest(body)).toMatchObject({ ok: false, code: '000002', field });
  });

  it('when V1 License calls arrive, then getLicense needs order, customer and businessId; expire/release may omit instanceId; refresh may not', () => {
    const v1 = { authToken: 't', timeStamp: '20250101000000000' };
    expect(parseV1LicenseRequest({ ...v1, activity: 'getLicense', businessId: 'b', orderId: 'o', customerId: 'c' }).ok).toBe(true);
    expect(parseV1LicenseRequest({ ...v1, activity: 'getLicense', orderId: 'o', customerId: 'c' })).toMatchObject({ ok: false, field: 'businessId' });
    expect(parseV1LicenseRequest({ ...v1, activity: 'releaseLicense', orderId: 'o' }).ok).toBe(true);
    expect(parseV1LicenseRequest({ ...v1, activity: 'expireLicense', orderId: 'o' }).ok).toBe(true);
    expect(parseV1LicenseRequest({ ...v1, activity: 'refreshLicense', orderId: 'o', expireTime: '20260101000000' })).toMatchObject({ ok: false, field: 'instanceId' });
    expect(parseV1LicenseRequest({ ...v1, activity: 'newInstance' })).toMatchObject({ ok: false, field: 'activity' });
  });

  it('when License code 2.0 calls arrive, then the documented scenes and statuses parse, others are refused', () => {
    expect(parseLicenseCodeRequest({ activity: 'refreshLicenseCode', scene: 'RENEWAL', orderId: 'o', orderLineId: 'l', license: 'CODE-1', expireTime: '20260101000000' }).ok).toBe(true);
    expect(parseLicenseCodeRequest({ activity: 'refreshLicenseCode', scene: 'TRIAL_TO_FORMAL', orderId: 'o', orderLineId: 'l', license: 'CODE-1', expireTime: '20260101000000' })).toMatchObject({ ok: false, field: 'scene' });
    expect(parseLicenseCodeRequest({ activity: 'updateLicenseCodeStatus', license: 'CODE-1', status: 'FREEZE' }).ok).toBe(true);
    expect(parseLicenseCodeRequest({ activity: 'updateLicenseCodeStatus', license: 'CODE-1', status: 'NORMAL' })).toMatchObject({ ok: false, field: 'status' });
    expect(parseLicenseCodeRequest({ activity: 'releaseLicenseCode', license: 'CODE-1' }).ok).toBe(true);
    expect(parseLicenseCodeRequest({ activity: 'releaseLicenseCode' })).toMatchObject({ ok: false, field: 'license' });
  });
});
