import { describe, expect, it } from 'vitest';
import {
  v1ChargingMode,
  buyerContactsFromQueryOrder,
  commandIds,
  encryptField,
  parseV1Request,
  parseV2Request,
  v1Command,
  v1RenewalScene,
  v2Command,
  type CommandResult,
  type ProductionCommand,
} from '../../../src/koogallery/index.js';

// A validated request becomes one command with every wire quirk resolved (spec §3, §4): the router only passes
// commands on, so everything V1/V2-specific about an order is decided here.

const KEY = 'TestAccessKey-0123456789';
const V1_COMMON = { authToken: 'x'.repeat(44), timeStamp: '20260101000000000' };

function v1(params: Record<string, string>): CommandResult {
  const parsed = parseV1Request({ ...V1_COMMON, ...params });
  if (!parsed.ok) throw new Error(`fixture does not validate: ${parsed.field} ${parsed.reason}`);
  return v1Command(parsed.request, { accessKey: KEY });
}

function v1Ok(params: Record<string, string>): ProductionCommand {
  const r = v1(params);
  if (!r.ok) throw new Error(`expected a command, got ${r.code} ${r.field} ${r.reason}`);
  return r.command;
}

function v2(body: Record<string, unknown>): ProductionCommand {
  const parsed = parseV2Request(body);
  if (!parsed.ok) throw new Error(`fixture does not validate: ${parsed.field} ${parsed.reason}`);
  return v2Command(parsed.request);
}

const V1_PURCHASE = {
  activity: 'newInstance',
  customerId: 'cust-1',
  customerName: 'ACME',
  businessId: 'biz-1',
  orderId: 'CS1906666666ABCDE',
  productId: '00301-666666-0--0',
  skuCode: 'sku-basic',
  chargingMode: '1',
  periodType: 'month',
  periodNumber: '3',
  expireTime: '20270101000000',
  orderAmount: '99.5',
  amount: '5',
  diskSize: 'lots',
  trialFlag: '0',
};

describe('V1 newInstance → purchase', () => {
  it('when a period purchase arrives, then its facts are normalised: charging mode named, expiry ISO, numbers as numbers', () => {
    expect(v1Ok(V1_PURCHASE)).toEqual({
      kind: 'purchase',
      interfaceVersion: 'V1',
      testOrder: false,
      key: { kind: 'v1-order', orderId: 'CS1906666666ABCDE' },
      businessId: 'biz-1',
      facts: {
        customerId: 'cust-1',
        customerName: 'ACME',
        productId: '00301-666666-0--0',
        skuCode: 'sku-basic',
        chargingMode: 'PERIOD',
        periodType: 'month',
        periodNumber: 3,
        expireTime: '2027-01-01T00:00:00.000Z',
        trial: false,
        // diskSize "lots" is not a number: dropped, not refused.
        spec: { amount: 5 },
        orderAmount: '99.5',
      },
    });
  });

  it('when an on-demand item is bought, then the key is order + product (one instance per billing item, §3.1)', () => {
    const c = v1Ok({ ...V1_PURCHASE, chargingMode: '0', expireTime: '' });
    expect(c).toMatchObject({ kind: 'purchase', key: { kind: 'v1-on-demand', orderId: V1_PURCHASE.orderId, productId: V1_PURCHASE.productId } });
    expect(c.kind === 'purchase' && c.facts?.chargingMode).toBe('ON_DEMAND');
    expect(c.kind === 'purchase' && c.facts?.expireTime).toBeUndefined();
  });

  it.each([
    ['3', 'ONE_TIME'],
    ['5', 'ON_DEMAND_PKG'],
    ['9', undefined],
  ])('when chargingMode is %s, then it is read as %s', (code, name) => {
    const c = v1Ok({ ...V1_PURCHASE, chargingMode: code });
    expect(c.kind === 'purchase' && c.facts?.chargingMode).toBe(name);
  });

  it('when a trial with testFlag=1 is bought, then the command says trial and test order', () => {
    const c = v1Ok({ ...V1_PURCHASE, trialFlag: '1', testFlag: '1' });
    expect(c).toMatchObject({ testOrder: true, facts: { trial: true } });
  });

  it('when mobilePhone and email arrive encrypted (AES-256 or AES-128), then the command carries them decrypted', () => {
    const c = v1Ok({ ...V1_PURCHASE, mobilePhone: encryptField(KEY, '+86 13800001234', '1'), email: encryptField(KEY, 'buyer@example.com', '2') });
    expect(c.kind === 'purchase' && c.contacts).toEqual({ mobilePhone: '+86 13800001234', email: 'buyer@example.com' });
  });

  it('when a "+" in the ciphertext arrived as a space (query decoding), then it still decrypts', () => {
    let sealed = encryptField(KEY, 'buyer@example.com');
    for (let i = 0; !sealed.slice(16).includes('+') && i < 200; i++) sealed = encryptField(KEY, 'buyer@example.com');
    expect(sealed.slice(16)).toContain('+');
    const c = v1Ok({ ...V1_PURCHASE, email: sealed.replace(/\+/g, ' ') });
    expect(c.kind === 'purchase' && c.contacts).toEqual({ email: 'buyer@example.com' });
  });

  it('when no contacts are sent (the listing does not ask for them), then the command has none', () => {
    const c = v1Ok(V1_PURCHASE);
    expect(c.kind === 'purchase' && 'contacts' in c).toBe(false);
  });

  it('when mobilePhone cannot be decrypted, then the call is refused with 000101 naming the field, not the value', () => {
    const r = v1({ ...V1_PURCHASE, mobilePhone: encryptField('another-key', '13800001234') });
    expect(r).toEqual({ ok: false, code: '000101', field: 'mobilePhone', reason: 'could not be decrypted' });
  });

  it('when email is not even a ciphertext, then the call is refused with 000102', () => {
    expect(v1({ ...V1_PURCHASE, email: 'buyer@example.com' })).toEqual({ ok: false, code: '000102', field: 'email', reason: 'could not be decrypted' });
  });
});

describe('V1 lifecycle activities → commands', () => {
  const common = { instanceId: 'inst-1' };

  it('when a renewal arrives, then it is a renewal; with trialToFormal=1 a trial conversion; with a negative amount a refund', () => {
    const renew = (extra: Record<string, string>) => v1Ok({ activity: 'refreshInstance', ...common, orderId: 'CS-REN', expireTime: '20280101000000', ...extra });
    expect(renew({ periodType: 'year', periodNumber: '1', orderAmount: '120' })).toEqual({
      kind: 'renew',
      interfaceVersion: 'V1',
      testOrder: false,
      instanceId: 'inst-1',
      orderId: 'CS-REN',
      scene: 'RENEWAL',
      expireTime: '2028-01-01T00:00:00.000Z',
      periodType: 'year',
      periodNumber: 1,
      orderAmount: '120',
    });
    expect(renew({ trialToFormal: '1', productId: 'p-formal' })).toMatchObject({ scene: 'TRIAL_TO_FORMAL', productId: 'p-formal' });
    expect(renew({ orderAmount: '-30.5' })).toMatchObject({ scene: 'UNSUBSCRIBE_RENEWAL_PERIOD' });
    expect(v1RenewalScene({ orderAmount: '0' })).toBe('RENEWAL');
  });

  it('when an instance expires, then it is an expiry (a freeze a renewal lifts), naming the purchase order', () => {
    expect(v1Ok({ activity: 'expireInstance', ...common, orderId: 'CS-BUY' })).toEqual({ kind: 'expire', interfaceVersion: 'V1', testOrder: false, instanceId: 'inst-1', orderId: 'CS-BUY' });
  });

  it('when instanceStatus says FREEZE or NORMAL, then it is a freeze or an unfreeze', () => {
    expect(v1Ok({ activity: 'instanceStatus', ...common, instanceStatus: 'FREEZE' })).toEqual({ kind: 'freeze', interfaceVersion: 'V1', testOrder: false, instanceId: 'inst-1' });
    expect(v1Ok({ activity: 'instanceStatus', ...common, instanceStatus: 'NORMAL', testFlag: '1' })).toEqual({ kind: 'unfreeze', interfaceVersion: 'V1', testOrder: true, instanceId: 'inst-1' });
  });

  it('when an upgrade arrives, then the new spec is inline; a release names its order; a query its ids', () => {
    expect(v1Ok({ activity: 'upgrade', ...common, orderId: 'CS-UP', skuCode: 'sku-pro', amount: '20' })).toEqual({
      kind: 'upgrade',
      interfaceVersion: 'V1',
      testOrder: false,
      instanceId: 'inst-1',
      orderId: 'CS-UP',
      skuCode: 'sku-pro',
      spec: { amount: 20 },
    });
    expect(v1Ok({ activity: 'releaseInstance', ...common, orderId: 'CS-BUY' })).toEqual({ kind: 'release', interfaceVersion: 'V1', testOrder: false, instanceId: 'inst-1', orderId: 'CS-BUY' });
    expect(v1Ok({ activity: 'queryInstance', instanceId: 'a, b' })).toEqual({ kind: 'query', interfaceVersion: 'V1', testOrder: false, instanceIds: ['a', 'b'] });
  });
});

describe('V2 bodies → commands', () => {
  it('when a purchase arrives, then it carries the order line key only (the worker pulls the rest)', () => {
    expect(v2({ activity: 'newInstance', orderId: 'CS2', orderLineId: 'CS2-000001', businessId: 'biz-2', testFlag: 1 })).toEqual({
      kind: 'purchase',
      interfaceVersion: 'V2',
      testOrder: true,
      key: { kind: 'v2-line', orderId: 'CS2', orderLineId: 'CS2-000001' },
      businessId: 'biz-2',
    });
  });

  it('when refreshInstance has no scene, then it is a plain renewal; with one, that scene', () => {
    const body = { activity: 'refreshInstance', orderId: 'CS-R', orderLineId: 'CS-R-1', instanceId: 'i', expireTime: '20281124023618256' };
    expect(v2(body)).toEqual({ kind: 'renew', interfaceVersion: 'V2', testOrder: false, instanceId: 'i', orderId: 'CS-R', orderLineId: 'CS-R-1', scene: 'RENEWAL', expireTime: '2028-11-24T02:36:18.256Z' });
    expect(v2({ ...body, scene: 'RENEWAL_CHANGE' })).toMatchObject({ scene: 'RENEWAL_CHANGE' });
  });

  it('when the status, release, upgrade and change check arrive, then each is its command', () => {
    expect(v2({ activity: 'updateInstanceStatus', instanceId: 'i', status: 'FREEZE' })).toMatchObject({ kind: 'freeze', instanceId: 'i' });
    expect(v2({ activity: 'updateInstanceStatus', instanceId: 'i', status: 'UNFREEZE' })).toMatchObject({ kind: 'unfreeze', instanceId: 'i' });
    expect(v2({ activity: 'releaseInstance', instanceId: 'i' })).toEqual({ kind: 'release', interfaceVersion: 'V2', testOrder: false, instanceId: 'i' });
    expect(v2({ activity: 'releaseInstance', instanceId: 'i', orderId: 'U', orderLineId: 'U-1' })).toMatchObject({ orderId: 'U', orderLineId: 'U-1' });
    expect(v2({ activity: 'upgradeInstance', instanceId: 'i', orderId: 'C', orderLineId: 'C-1' })).toEqual({ kind: 'upgrade', interfaceVersion: 'V2', testOrder: false, instanceId: 'i', orderId: 'C', orderLineId: 'C-1' });
    expect(v2({ activity: 'changeInstanceCheck', instanceId: 'i', productInfo: {} })).toEqual({ kind: 'check-change', interfaceVersion: 'V2', testOrder: false, instanceId: 'i' });
    expect(v2({ activity: 'queryInstance', instanceId: 'i' })).toEqual({ kind: 'query', interfaceVersion: 'V2', testOrder: false, instanceIds: ['i'] });
  });
});

describe('ids for logs', () => {
  it('when a purchase carries contacts, then its ids name the order and never the contacts', () => {
    const c = v1Ok({ ...V1_PURCHASE, email: encryptField(KEY, 'buyer@example.com') });
    const ids = commandIds(c);
    expect(ids).toEqual({ testFlag: false, businessId: 'biz-1', orderId: V1_PURCHASE.orderId });
    expect(JSON.stringify(ids)).not.toContain('example.com');
  });

  it('when a query names many ids, then none is recorded as the instance; one id is', () => {
    expect(commandIds({ kind: 'query', interfaceVersion: 'V2', testOrder: false, instanceIds: ['a', 'b'] })).toEqual({ testFlag: false });
    expect(commandIds({ kind: 'query', interfaceVersion: 'V2', testOrder: false, instanceIds: ['a'] })).toEqual({ testFlag: false, instanceId: 'a' });
    expect(commandIds(v2({ activity: 'upgradeInstance', instanceId: 'i', orderId: 'C', orderLineId: 'C-1' }))).toEqual({ testFlag: false, instanceId: 'i', orderId: 'C', orderLineId: 'C-1' });
  });
});

describe('Query Order buyer contacts', () => {
  it('when they are plain text, then they are taken as sent (trimmed)', () => {
    expect(buyerContactsFromQueryOrder([KEY], { mobilePhone: ' 13800001234 ', email: 'buyer@example.com' })).toEqual({ mobilePhone: '13800001234', email: 'buyer@example.com' });
  });

  it('when they come encrypted like V1 contacts, then they are decrypted', () => {
    expect(buyerContactsFromQueryOrder([KEY], { mobilePhone: encryptField(KEY, '13800001234'), email: encryptField(KEY, 'b@example.com', '2') })).toEqual({
      mobilePhone: '13800001234',
      email: 'b@example.com',
    });
  });

  it('when a value looks encrypted but does not open with our key, then it is passed on as sent (the provisioner judges it)', () => {
    const foreign = encryptField('another-key', '13800001234');
    expect(buyerContactsFromQueryOrder([KEY], { mobilePhone: foreign })).toEqual({ mobilePhone: foreign });
  });

  it('when several access keys are configured, then a value encrypted with any of them is decrypted, and with none is passed on', () => {
    const other = 'other-product-access-key';
    expect(buyerContactsFromQueryOrder([KEY, other], { mobilePhone: encryptField(other, '13800001234'), email: encryptField(KEY, 'b@example.com') })).toEqual({
      mobilePhone: '13800001234',
      email: 'b@example.com',
    });
    const foreign = encryptField('a-third-key', '13800001234');
    expect(buyerContactsFromQueryOrder([KEY, other], { mobilePhone: foreign })).toEqual({ mobilePhone: foreign });
  });

  it('when there are none, then there are no contacts', () => {
    expect(buyerContactsFromQueryOrder([KEY], undefined)).toBeUndefined();
    expect(buyerContactsFromQueryOrder([KEY], { mobilePhone: '  ' })).toBeUndefined();
  });
});

describe('v1ChargingMode', () => {
  it('when the code is one the spec lists, then its V2 name', () => {
    expect(['0', '1', '3', '5'].map((c) => v1ChargingMode(c))).toEqual(['ON_DEMAND', 'PERIOD', 'ONE_TIME', 'ON_DEMAND_PKG']);
  });

  it('when the code names a member of Object.prototype (hostile input), then undefined, never that member', () => {
    for (const code of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '2', '']) expect(v1ChargingMode(code), code).toBeUndefined();
  });
});
