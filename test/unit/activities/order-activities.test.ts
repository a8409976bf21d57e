import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { encryptField } from '../../../src/koogallery/index.js';
import type { MarketplaceOrder } from '../../../src/marketplace-api/order-schema.js';
import { createOrderActivities } from '../../../src/orders/activities.js';
import { OrderFailureType, type OrderDetails } from '../../../src/orders/contract.js';
import { ProvisionerError, type CreateOptions, type Provisioner, type TenantAccess, type TenantSpec } from '../../../src/orders/provisioning/provisioner.js';
import { loadConfig } from '../../../src/platform/config.js';
import { createSealedBox } from '../../../src/platform/sealed-box.js';
import { createSupervisionCatalogue } from '../../../src/supervision/catalogue.js';

// The order activities at the provisioning boundary: the buyer's contacts reach the provisioner (and only sealed
// anywhere else), the provisioner's typed refusals become typed, non-retryable failures, and access the marketplace
// would not accept never leaves the activity.

const KEY = 'TestAccessKey-0123456789';
const sealedBox = createSealedBox('unit-test-data-encryption-key');
const unusedPool = new Proxy({}, { get: () => () => Promise.reject(new Error('no database in this test')) }) as Pool;
const ACCESS: TenantAccess = { frontEndUrl: 'https://t1.tenants.test', userName: 'admin-t1', password: 'S3cret!pass' };

function order(buyerInfo: MarketplaceOrder['buyerInfo'], orderType: MarketplaceOrder['orderType'] = 'NEW'): MarketplaceOrder {
  const line = { orderLineId: 'L1', chargingMode: 'PERIOD' as const, periodType: 'year', periodNumber: 1, productInfo: [{ productId: 'HW-1', skuCode: 'sku' }] };
  return { orderId: 'O1', orderType, line, lines: [line], ...(buyerInfo ? { buyerInfo } : {}), extendParams: [] };
}

/** A provisioner that records create calls and answers with `access` (or throws `fail`). */
function recordingProvisioner(o: { access?: TenantAccess; fail?: ProvisionerError } = {}) {
  const creates: Array<[string, TenantSpec, CreateOptions | undefined, number]> = [];
  const removed: string[] = [];
  const provisioner: Provisioner = {
    kind: 'recording',
    async create(instanceId, spec, ...rest: [CreateOptions?]) {
      creates.push([instanceId, spec, rest[0], 2 + rest.length]);
      if (o.fail) throw o.fail;
      return o.access ?? ACCESS;
    },
    changeSpec: async () => undefined,
    freeze: async () => undefined,
    resume: async () => undefined,
    remove: async (instanceId) => void removed.push(instanceId),
    get: async () => undefined,
  };
  return { provisioner, creates, removed };
}

function activities(o: { provisioner?: Provisioner; queryOrder?: MarketplaceOrder; supervised?: string } = {}) {
  const config = loadConfig({ SUPERVISED_PRODUCTS: o.supervised ?? '' });
  return createOrderActivities({
    pool: unusedPool,
    provisioner: o.provisioner ?? recordingProvisioner().provisioner,
    sealedBox,
    accessKey: KEY,
    queryOrder: async () => o.queryOrder ?? order(undefined),
    supervisionTermsFor: createSupervisionCatalogue(config.supervision),
  });
}

const DETAILS: OrderDetails = { customerId: 'c1', productId: 'p1', trial: false, spec: {} };

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('fetchOrderDetails: the buyer\'s contacts from Query Order', () => {
  it('when Query Order names the buyer\'s phone and e-mail, then the details carry them sealed, never in plain text', async () => {
    const { details } = await activities({ queryOrder: order({ customerId: 'c1', mobilePhone: '13800001234', email: 'buyer@example.com' }) }).fetchOrderDetails({ orderId: 'O1', orderLineId: 'L1' });
    expect(JSON.stringify(details)).not.toMatch(/13800001234|buyer@example\.com/);
    expect(sealedBox.openJson(details.buyerContactsSealed!)).toEqual({ mobilePhone: '13800001234', email: 'buyer@example.com' });
  });

  it('when Query Order sends them encrypted like V1 does, then they are sealed decrypted', async () => {
    const { details } = await activities({ queryOrder: order({ customerId: 'c1', email: encryptField(KEY, 'buyer@example.com') }) }).fetchOrderDetails({ orderId: 'O1' });
    expect(sealedBox.openJson(details.buyerContactsSealed!)).toEqual({ email: 'buyer@example.com' });
  });

  it('when the buyer has no contacts, then the details have no sealed contacts', async () => {
    const { details } = await activities({ queryOrder: order({ customerId: 'c1' }) }).fetchOrderDetails({ orderId: 'O1' });
    expect(details.buyerContactsSealed).toBeUndefined();
  });
});

describe('lookUpSupervisionTerms: the worker answers for V1 orders too', () => {
  it('when a supervised product is bought, then the terms come from the same catalogue as V2\'s; a renewal or another product gets none', async () => {
    const a = activities({ supervised: 'HW-1=HARDWARE' });
    expect((await a.lookUpSupervisionTerms({ productId: 'HW-1', orderType: 'NEW' })).terms).toMatchObject({ kind: 'HARDWARE' });
    expect((await a.lookUpSupervisionTerms({ productId: 'HW-1', orderType: 'TRIAL' })).terms).toMatchObject({ kind: 'HARDWARE' });
    expect(await a.lookUpSupervisionTerms({ productId: 'HW-1', orderType: 'RENEW' })).toEqual({});
    expect(await a.lookUpSupervisionTerms({ productId: 'OTHER', orderType: 'NEW' })).toEqual({});
    expect(await a.lookUpSupervisionTerms({ orderType: 'NEW' })).toEqual({});
    const v2 = await activities({ supervised: 'HW-1=HARDWARE', queryOrder: order({ customerId: 'c1' }) }).fetchOrderDetails({ orderId: 'O1' });
    expect(v2.details.supervision).toEqual((await a.lookUpSupervisionTerms({ productId: 'HW-1', orderType: 'NEW' })).terms);
  });
});

describe('provisionTenant', () => {
  it('when the order carries sealed contacts, then the provisioner gets them in plain text for the admin account', async () => {
    const rec = recordingProvisioner();
    const details = { ...DETAILS, buyerContactsSealed: sealedBox.sealJson({ mobilePhone: '13800001234', email: 'buyer@example.com' }) };
    const access = await activities({ provisioner: rec.provisioner }).provisionTenant({ instanceId: 'i-1', details, testOrder: false });
    expect(rec.creates).toHaveLength(1);
    const [instanceId, spec, options] = rec.creates[0]!;
    expect(instanceId).toBe('i-1');
    expect(options).toEqual({ contacts: { mobilePhone: '13800001234', email: 'buyer@example.com' } });
    // The spec (which the built-in registry stores as JSON) never holds them, nor does the access written to history.
    expect(JSON.stringify(spec)).not.toMatch(/13800001234|example\.com|buyerContactsSealed/);
    expect(JSON.stringify(access)).not.toMatch(/13800001234|example\.com/);
    expect(sealedBox.openJson(access.credentialsSealed)).toEqual({ userName: ACCESS.userName, password: ACCESS.password });
  });

  it('when the order has no contacts, then create is called with the spec alone', async () => {
    const rec = recordingProvisioner();
    await activities({ provisioner: rec.provisioner }).provisionTenant({ instanceId: 'i-2', details: DETAILS, testOrder: true });
    expect(rec.creates[0]![3]).toBe(2);
  });

  it.each([
    ['MOBILE_REJECTED', OrderFailureType.MobileRejected],
    ['EMAIL_REJECTED', OrderFailureType.EmailRejected],
    ['PROVISIONING_REJECTED', OrderFailureType.ProvisioningRejected],
  ] as const)('when the provisioner refuses with %s, then the activity fails for good with %s', async (code, type) => {
    const rec = recordingProvisioner({ fail: new ProvisionerError(code, `refused (${code})`) });
    const failure = await failureOf(activities({ provisioner: rec.provisioner }).provisionTenant({ instanceId: 'i-3', details: DETAILS, testOrder: false }));
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(true);
  });

  it('when the provisioner is unavailable, then the failure is retryable', async () => {
    const rec = recordingProvisioner({ fail: new ProvisionerError('PROVISIONER_UNAVAILABLE', 'down') });
    const failure = await failureOf(activities({ provisioner: rec.provisioner }).provisionTenant({ instanceId: 'i-4', details: DETAILS, testOrder: false }));
    expect(failure.type).toBe('PROVISIONER_UNAVAILABLE');
    expect(failure.nonRetryable).toBe(false);
  });

  it.each([
    ['a password that encrypts to more than 128 characters', { ...ACCESS, password: 'p'.repeat(80) }, 'appInfo.password is 144 characters as sent (encrypted)'],
    ['a front-end URL over 512 characters', { ...ACCESS, frontEndUrl: `https://t1.tenants.test/${'x'.repeat(500)}` }, 'appInfo.frontEndUrl is 524 characters'],
    ['a memo over 1024 characters once escaped', { ...ACCESS, memo: '说明'.repeat(90) }, 'appInfo.memo is 1080 characters'],
  ])('when the provisioner answers %s, then the tenant is removed and the purchase fails for good, naming the field and never the value', async (_what, access, reason) => {
    const rec = recordingProvisioner({ access });
    const failure = await failureOf(activities({ provisioner: rec.provisioner }).provisionTenant({ instanceId: 'i-5', details: DETAILS, testOrder: false }));
    expect(failure.type).toBe(OrderFailureType.AppInfoTooLong);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(reason);
    expect(failure.message).not.toContain('ppppp');
    expect(rec.removed).toEqual(['i-5']);
  });
});
