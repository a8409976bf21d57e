import { describe, expect, it } from 'vitest';
import { parseV1LicenseRequest, v1LicenseCommand } from '../../../src/koogallery/license-requests.js';

// V1 License calls become the SaaS production interface's commands (§7.3: getLicense is V1 newInstance with a
// license in the answer; refresh/expire/release mirror the SaaS calls), so the order service runs them unchanged.

const common = { authToken: 'token', timeStamp: '20250101000000000' };

function parsed(params: Record<string, string>) {
  const r = parseV1LicenseRequest({ ...common, ...params });
  if (!r.ok) throw new Error(`${r.field} ${r.reason}`);
  return r.request;
}

describe('v1LicenseCommand', () => {
  it('when getLicense arrives, then it is a V1 purchase keyed by its order alone, with the pushed facts', () => {
    const c = v1LicenseCommand(parsed({ activity: 'getLicense', businessId: 'b-1', orderId: 'CS1', customerId: 'cust', productId: 'p', chargingMode: '0', periodType: 'year', periodNumber: '2', expireTime: '20300101000000', trialFlag: '1', testFlag: '1' }));
    expect(c).toEqual({
      interfaceVersion: 'V1',
      testOrder: true,
      kind: 'purchase',
      // On-demand or not: one instance and one license per order (getLicense is idempotent per orderId).
      key: { kind: 'v1-order', orderId: 'CS1' },
      businessId: 'b-1',
      facts: { customerId: 'cust', productId: 'p', chargingMode: 'ON_DEMAND', periodType: 'year', periodNumber: 2, expireTime: '2030-01-01T00:00:00.000Z', trial: true, spec: {} },
    });
  });

  it('when chargingMode or periodNumber are hostile, then they are left out rather than read from Object.prototype', () => {
    const c = v1LicenseCommand(parsed({ activity: 'getLicense', businessId: 'b', orderId: 'CS2', customerId: 'c', chargingMode: '__proto__', periodNumber: '1e' }));
    expect(c.kind === 'purchase' ? c.facts : undefined).toEqual({ customerId: 'c', trial: false, spec: {} });
  });

  it('when refreshLicense carries a negative amount, then it is a renewal refund; otherwise a renewal', () => {
    expect(v1LicenseCommand(parsed({ activity: 'refreshLicense', orderId: 'R1', instanceId: 'i', expireTime: '20300101000000', orderAmount: '-10' }))).toMatchObject({ kind: 'renew', scene: 'UNSUBSCRIBE_RENEWAL_PERIOD', instanceId: 'i', orderId: 'R1' });
    expect(v1LicenseCommand(parsed({ activity: 'refreshLicense', orderId: 'R2', instanceId: 'i', expireTime: '20300101000000' }))).toMatchObject({ kind: 'renew', scene: 'RENEWAL', expireTime: '2030-01-01T00:00:00.000Z' });
  });

  it('when expireLicense or releaseLicense name only their order, then the instance found for it is used; named, their own', () => {
    expect(v1LicenseCommand(parsed({ activity: 'expireLicense', orderId: 'CS3' }), 'found')).toMatchObject({ kind: 'expire', instanceId: 'found', orderId: 'CS3' });
    expect(v1LicenseCommand(parsed({ activity: 'releaseLicense', orderId: 'CS3', instanceId: 'named' }), 'found')).toMatchObject({ kind: 'release', instanceId: 'named' });
  });
});
