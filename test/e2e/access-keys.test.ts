import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptField } from '../../src/koogallery/index.js';
import { ORDER_NOTIFICATION_PATH } from '../../src/supervision/notification-routes.js';
import { LICENSE_CODE_PATH } from '../../src/licenses/code-routes.js';
import { LICENSE_PATH } from '../../src/licenses/routes.js';
import { sealedBoxOf } from '../../src/platform/sealed-box.js';
import { createProductionClient, type ProductionAnswer } from '../../tools/simulator/production-client.js';
import { uniqueId } from '../setup/infra.js';
import { aSimOrder, aV2PurchaseBody, lineOf } from '../support/factories.js';
import { buyLicenseInstance, licenseRequest } from '../support/licenses.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../support/service-harness.js';

// Several access keys (KOOGALLERY_OTHER_ACCESS_KEYS): a merchant whose products are bound to different keys in
// Seller Console, or one rotating a key. The marketplace signs each call with its product's key and checks our
// answer with the same key: every interface must verify with any configured key and answer — Body-Sign and
// encrypted fields — with the key that verified the call. The simulator's clients sign and verify with one key each.

const OTHER_KEY = 'OtherProductAccessKey-9876543210';
const UNKNOWN_KEY = 'NobodysAccessKey-0000000000';
let h: ServiceHarness;

beforeAll(async () => {
  h = await startServiceHarness({ env: { KOOGALLERY_OTHER_ACCESS_KEYS: OTHER_KEY } });
});
afterAll(async () => {
  await h?.close();
});

const client = (path: string, accessKey: string) => createProductionClient({ baseUrl: new URL(path, h.baseUrl).toString(), accessKey });
const saas = (accessKey: string) => client(h.baseUrl, accessKey);

function expectSigned(a: ProductionAnswer, code: string): void {
  expect(a.status).toBe(200);
  // Verified by the client with its own key: the answer was signed with the key of the call.
  expect(a.bodySignValid).toBe(true);
  expect(a.body?.resultCode).toBe(code);
}

describe('calls signed with another configured access key', () => {
  it('when a V2 purchase and its queryInstance are signed with the other key, then both are answered with it, appInfo encrypted with it', async () => {
    const market = saas(OTHER_KEY);
    const order = h.marketplace.orderBook.createOrder(aSimOrder({ productId: 'prod-other-key' }));
    const body = aV2PurchaseBody(lineOf(order));
    expectSigned(await market.v2(body), '000000');
    const q = await market.v2({ activity: 'queryInstance', instanceId: body.businessId });
    expectSigned(q, '000000');
    // Decrypted by the client with the other key; the primary key's client cannot read the answer's signature.
    expect(q.appInfo?.password?.length).toBeGreaterThanOrEqual(20);
    const same = await saas(TEST_ACCESS_KEY).v2({ activity: 'queryInstance', instanceId: body.businessId });
    expectSigned(same, '000000');
    expect(same.appInfo).toEqual(q.appInfo);
    expect(same.body.info[0].appInfo.password).not.toBe(q.body.info[0].appInfo.password);
  });

  it('when a V1 purchase is signed with the other key and carries contacts encrypted with it, then the tenant gets them and the answer is signed with it', async () => {
    const phone = '+86 138 0013 8111';
    const a = await saas(OTHER_KEY).v1('newInstance', {
      businessId: randomUUID(),
      orderId: uniqueId('CSV1KEY'),
      customerId: uniqueId('c'),
      productId: 'prod-v1',
      skuCode: 'sku-v1',
      chargingMode: '3',
      mobilePhone: encryptField(OTHER_KEY, phone),
    });
    expectSigned(a, '000000');
    // V1 answers a purchase with its appInfo: encrypted with the call's key, so the client decrypts it.
    expect(a.appInfo?.password?.length).toBeGreaterThanOrEqual(20);
    const r = await h.pool.query<{ v: string }>('SELECT admin_contacts_sealed AS v FROM tenants WHERE instance_id = $1', [a.body.instanceId]);
    expect(sealedBoxOf(h.config).openJson(r.rows[0]!.v)).toEqual({ mobilePhone: phone });
  });

  it('when a license call, a license-code call and an order notification are signed with the other key, then they are answered with it', async () => {
    const licenses = client(LICENSE_PATH, OTHER_KEY);
    const { instanceId } = await buyLicenseInstance(h, licenses, { linearValue: 1 });
    expectSigned(await licenses.v2(licenseRequest(instanceId, 'other-key', 'DEVICE-OTHER')), '000000');
    const code = await client(LICENSE_CODE_PATH, OTHER_KEY).v2({ activity: 'releaseLicenseCode', license: uniqueId('NOCODE') });
    expect(code.status).toBe(200);
    expect(code.bodySignValid).toBe(true);
    expect(code.body?.resultCode).not.toBe('000001');
    const order = h.marketplace.orderBook.createOrder(aSimOrder({ productId: 'prod-other-key' }));
    const note = await client(ORDER_NOTIFICATION_PATH, OTHER_KEY).v2({ orderId: order.orderId, orderLineId: lineOf(order).orderLineId });
    expect(note.status).toBe(200);
    expect(note.bodySignValid).toBe(true);
    expect(note.body?.resultCode).not.toBe('000001');
  });

  it('when a call signed with the other key is refused after its signature checked out (a replayed nonce), then the refusal is signed with that key too', async () => {
    const nonce = randomUUID().replace(/-/g, '');
    const market = saas(OTHER_KEY);
    const first = await market.v2({ activity: 'queryInstance', instanceId: uniqueId('none') }, { nonce });
    expect(first.body?.resultCode).not.toBe('000001');
    const replayed = await market.v2({ activity: 'queryInstance', instanceId: uniqueId('none') }, { nonce });
    expect(replayed.body?.resultCode).toBe('000001');
    expect(replayed.bodySignValid).toBe(true);
  });

  it('when calls are answered, then the metrics count them by the place of their key, never its value', async () => {
    const text = await h.api.metrics.registry.metrics();
    expect(text).toMatch(/koogallery_calls_by_access_key_total\{interface="V2",key="other-1"\} [1-9]/);
    expect(text).toMatch(/koogallery_calls_by_access_key_total\{interface="V1",key="other-1"\} [1-9]/);
    expect(text).toMatch(/koogallery_calls_by_access_key_total\{interface="V2",key="primary"\} [1-9]/);
    expect(text).not.toContain(OTHER_KEY);
  });

  it('when a call is signed with a key that is not configured, then it is refused with 000001 on every interface', async () => {
    const unknown = await saas(UNKNOWN_KEY).v2({ activity: 'queryInstance', instanceId: 'whatever' });
    expect(unknown.status).toBe(200);
    expect(unknown.body?.resultCode).toBe('000001');
    // A refusal is signed with the primary key: the caller proved no key.
    expect(unknown.bodySignValid).toBe(false);
    const v1 = await saas(UNKNOWN_KEY).v1('newInstance', { businessId: randomUUID(), orderId: uniqueId('CSV1NO'), customerId: 'c', productId: 'p', skuCode: 's', chargingMode: '1' });
    expect(v1.body?.resultCode).toBe('000001');
    expect((await client(LICENSE_PATH, UNKNOWN_KEY).v2(licenseRequest('whatever', 'e', 'D'))).body?.resultCode).toBe('000001');
  });
});
