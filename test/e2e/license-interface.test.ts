import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicenseCountKey, LicenseFingerprintsKey } from '../../src/kernel/search-attributes.js';
import { getLicenseLedgerQuery, licenseInstanceWorkflowId } from '../../src/licenses/contract.js';
import { orderWorkflowId } from '../../src/orders/contract.js';
import { findInstance } from '../../src/orders/store.js';
import { verifyLicense } from '../../src/licenses/verify.js';
import { createLicenseService } from '../../src/licenses/service.js';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import type { ProductionClient } from '../../tools/simulator/production-client.js';
import { uniqueId } from '../setup/infra.js';
import { startServiceHarness, type ServiceHarness } from '../support/service-harness.js';
import { buyLicenseInstance, expectDocumentedAnswer, expectSigned, fetchJwks, licenseCount, licenseMarket, licenseRequest, verifiedClaims } from '../support/licenses.js';

// The Online License interface (POST /koogallery/license) and the old V1 License (GET /koogallery/license) over HTTP,
// through the simulator's production client, against the real Temporal and PostgreSQL. Each test checks the answer
// (code, Body-Sign), the license (verifies with the published JWKS) and the resulting state (read model, workflow).

let h: ServiceHarness;
let market: ProductionClient;
beforeAll(async () => {
  h = await startServiceHarness();
  market = licenseMarket(h);
});
afterAll(async () => {
  await h?.close();
});

const inDays = (d: number) => formatCompactUtc(new Date(Date.now() + d * 86_400_000));

describe('Online License: the instance', () => {
  it('when a license product is bought, then the instance is a license instance workflow, answered like a SaaS purchase and queryable', async () => {
    const { order, line, businessId, instanceId } = await buyLicenseInstance(h, market, { linearValue: 3 });
    expect(instanceId).toBe(businessId);
    const row = await findInstance(h.pool, instanceId);
    expect(row).toMatchObject({ phase: 'ACTIVE', orderId: order.orderId, productId: 'prod-license', skuCode: 'sku-license' });
    expect(row?.workflowId).toBe(licenseInstanceWorkflowId(orderWorkflowId({ kind: 'v2-line', orderId: order.orderId, orderLineId: line })));
    // No tenant: a license instance is its ledger.
    expect((await h.pool.query('SELECT 1 FROM tenants WHERE instance_id = $1', [instanceId])).rowCount).toBe(0);
    const description = await h.client.workflow.getHandle(row!.workflowId).describe();
    expect(description.type).toBe('licenseInstanceWorkflow');
    const q = await market.v2({ activity: 'queryInstance', instanceId });
    expectSigned(q, '000000');
    expect(q.body.info).toEqual([{ instanceId }]);
    const again = await market.v2({ activity: 'newInstance', orderId: order.orderId, orderLineId: line, businessId: randomUUID() });
    expectSigned(again, '000000');
    expect(again.body.instanceId).toBe(instanceId);
  });
});

describe('Online License: getLicenseAsync', () => {
  it('when a license is requested, then it verifies with the published JWKS and carries the instance, order and request', async () => {
    const { order, instanceId } = await buyLicenseInstance(h, market, { linearValue: 2 });
    const a = await market.v2(licenseRequest(instanceId, 'evt-1', 'AA:BB:CC:DD:EE:01|DISK1|BOARD1|CPU1'));
    expectSigned(a, '000000');
    expect(Object.keys(a.body)).toEqual(['resultCode', 'resultMsg', 'license']);
    const claims = await verifiedClaims(h, a.body.license);
    expect(claims).toMatchObject({
      family: 'ONLINE_LICENSE',
      instanceId,
      productId: 'prod-license',
      skuCode: 'sku-license',
      customerId: order.buyerInfo.customerId,
      eventId: 'evt-1',
      deviceFingerprint: 'AA:BB:CC:DD:EE:01|DISK1|BOARD1|CPU1',
      quota: 2,
      sub: instanceId,
    });
    for (const claim of ['licenseId', 'effectiveTime', 'expireTime', 'iat', 'nbf', 'exp']) expect(claims[claim], claim).toBeDefined();
    // Removing the signing key from the JWKS makes it fail, as does any changed byte.
    const jwks = await fetchJwks(h);
    expect(await verifyLicense(a.body.license, { keys: jwks.keys.filter((k) => k.kid !== h.config.licenses.activeKid) })).toMatchObject({ ok: false, reason: 'unknown key' });
    const license = a.body.license as string;
    const middle = license.indexOf('.') + 10;
    expect((await verifyLicense(license.slice(0, middle) + (license[middle] === 'A' ? 'B' : 'A') + license.slice(middle + 1), jwks)).ok).toBe(false);
  });

  it('when the same instanceId + eventId + deviceFingerprint is asked again, then the very same bytes come back and nothing is counted twice', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 2 });
    const first = await market.v2(licenseRequest(instanceId, 'evt-same', 'FP-1'));
    expectSigned(first, '000000');
    // Asked again later, with other effective/expire times: the idempotency key decides, not the times.
    const second = await market.v2(licenseRequest(instanceId, 'evt-same', 'FP-1', { effectiveTime: '20240101000000' }));
    expectSigned(second, '000000');
    expect(second.body.license).toBe(first.body.license);
    // A different fingerprint (or none) under the same eventId is another request.
    const other = await market.v2(licenseRequest(instanceId, 'evt-same', 'FP-2'));
    expectSigned(other, '000000');
    expect(other.body.license).not.toBe(first.body.license);
    expect(await licenseCount(h, instanceId)).toBe(2);
    // The quota of 2 is used: a third request is refused, repeats of the two are still answered.
    expectSigned(await market.v2(licenseRequest(instanceId, 'evt-3', 'FP-3')), '000900');
    const repeat = await market.v2(licenseRequest(instanceId, 'evt-same', 'FP-2'));
    expectSigned(repeat, '000000');
    expect(repeat.body.license).toBe(other.body.license);
  });

  it('when no order states a linearValue, then the quota is 1', async () => {
    const { instanceId } = await buyLicenseInstance(h, market);
    const a = await market.v2(licenseRequest(instanceId, 'e1'));
    expectSigned(a, '000000');
    expect((await verifiedClaims(h, a.body.license)).quota).toBe(1);
    expect((a.body.license as string).length).toBeGreaterThan(100);
    expectSigned(await market.v2(licenseRequest(instanceId, 'e2')), '000900');
  });

  it('when an upgrade order adds linearValue, then the quota grows by it', async () => {
    const { order, instanceId } = await buyLicenseInstance(h, market, { linearValue: 1 });
    expectSigned(await market.v2(licenseRequest(instanceId, 'u1')), '000000');
    expectSigned(await market.v2(licenseRequest(instanceId, 'u2')), '000900');
    const change = h.marketplace.orderBook.createOrder({ orderType: 'CHANGE', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'prod-license', skuCode: 'sku-license-plus', customerId: order.buyerInfo.customerId, linearValue: 2 });
    expectSigned(await market.v2({ activity: 'upgradeInstance', instanceId, orderId: change.orderId, orderLineId: change.orderLine[0]!.orderLineId }), '000000');
    const u2 = await market.v2(licenseRequest(instanceId, 'u2'));
    expectSigned(u2, '000000');
    expect(await verifiedClaims(h, u2.body.license)).toMatchObject({ quota: 3, skuCode: 'sku-license-plus' });
    expectSigned(await market.v2(licenseRequest(instanceId, 'u3')), '000000');
    expectSigned(await market.v2(licenseRequest(instanceId, 'u4')), '000900');
  });

  it('when the instance is frozen, then no new license (000901) but repeats are answered; unfrozen, licenses flow again', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 5 });
    const before = await market.v2(licenseRequest(instanceId, 'f1', 'D1'));
    expectSigned(before, '000000');
    expectSigned(await market.v2({ activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' }), '000000');
    expectSigned(await market.v2(licenseRequest(instanceId, 'f2', 'D2')), '000901');
    const repeat = await market.v2(licenseRequest(instanceId, 'f1', 'D1'));
    expectSigned(repeat, '000000');
    expect(repeat.body.license).toBe(before.body.license);
    expectSigned(await market.v2({ activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' }), '000000');
    expectSigned(await market.v2(licenseRequest(instanceId, 'f2', 'D2')), '000000');
  });

  it('when the instance is renewed, then licenses without their own expireTime end with the new expiry', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 2 });
    const renewal = h.marketplace.orderBook.createOrder({ orderType: 'RENEW', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'prod-license', skuCode: 'sku-license', customerId: uniqueId('c') });
    const expiry = inDays(730);
    expectSigned(await market.v2({ activity: 'refreshInstance', scene: 'RENEWAL', orderId: renewal.orderId, orderLineId: renewal.orderLine[0]!.orderLineId, instanceId, expireTime: expiry }), '000000');
    const a = await market.v2(licenseRequest(instanceId, 'r1', 'R1', { expireTime: undefined }));
    expectSigned(a, '000000');
    expect(String((await verifiedClaims(h, a.body.license)).expireTime).slice(0, 10)).toBe(`${expiry.slice(0, 4)}-${expiry.slice(4, 6)}-${expiry.slice(6, 8)}`);
  });

  it('when the instance is released, then every license request answers 000003 and a repeated release succeeds', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 2 });
    expectSigned(await market.v2(licenseRequest(instanceId, 'x1')), '000000');
    expectSigned(await market.v2({ activity: 'releaseInstance', instanceId }), '000000');
    expectSigned(await market.v2(licenseRequest(instanceId, 'x1')), '000003');
    expectSigned(await market.v2(licenseRequest(instanceId, 'x2')), '000003');
    expectSigned(await market.v2({ activity: 'releaseInstance', instanceId }), '000000');
    const released = await h.pool.query('SELECT count(*)::int AS n FROM licenses WHERE instance_id = $1 AND released_at IS NOT NULL', [instanceId]);
    expect(released.rows[0].n).toBe(1);
  });

  it('when the instance is unknown or not a license instance, then 000003', async () => {
    expectSigned(await market.v2(licenseRequest(uniqueId('nope'), 'e')), '000003');
    const saasOrder = h.marketplace.orderBook.createOrder({ orderType: 'NEW', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'prod-saas', skuCode: 's', customerId: uniqueId('c') });
    const saas = await h.market.v2({ activity: 'newInstance', orderId: saasOrder.orderId, orderLineId: saasOrder.orderLine[0]!.orderLineId, businessId: randomUUID() });
    expectSigned(saas, '000000');
    expectSigned(await market.v2(licenseRequest(saas.body.instanceId, 'e')), '000003');
  });

  it('when licenses are issued, then the workflow shows them: ledger query, LicenseCount and LicenseFingerprints search attributes, read model', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 4 });
    for (const [e, fp] of [['s1', 'DEV-A'], ['s2', 'DEV-B'], ['s3', 'x'.repeat(300)]] as const) expectSigned(await market.v2(licenseRequest(instanceId, e, fp)), '000000');
    const row = await findInstance(h.pool, instanceId);
    const handle = h.client.workflow.getHandle(row!.workflowId);
    expect(await handle.query(getLicenseLedgerQuery)).toMatchObject({ family: 'ONLINE_LICENSE', issued: 3, quotaByOrder: { [row!.orderId]: 4 } });
    const attrs = (await handle.describe()).typedSearchAttributes;
    expect(attrs.get(LicenseCountKey)).toBe(3);
    expect(attrs.get(LicenseFingerprintsKey)).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64}$/), 'DEV-B', 'DEV-A']);
    const licenses = await h.pool.query('SELECT event_id, device_fingerprint, kid FROM licenses WHERE instance_id = $1 ORDER BY issued_at', [instanceId]);
    expect(licenses.rows.map((r) => r.event_id)).toEqual(['s1', 's2', 's3']);
    expect(licenses.rows.every((r) => r.kid === h.config.licenses.activeKid)).toBe(true);
  });

  it('when a debug order is released and bought again, then the replayed request gets the license it got before', async () => {
    const { order, line, instanceId } = await buyLicenseInstance(h, market, { linearValue: 1 }, '1');
    const first = await market.v2(licenseRequest(instanceId, 'dial', 'DIAL-DEVICE', { testFlag: '1' }));
    expectSigned(first, '000000');
    expect((await verifiedClaims(h, first.body.license)).testOrder).toBe(true);
    expectSigned(await market.v2({ activity: 'releaseInstance', instanceId, testFlag: '1' }), '000000');
    const again = await market.v2({ activity: 'newInstance', orderId: order.orderId, orderLineId: line, businessId: randomUUID(), testFlag: '1' });
    expectSigned(again, '000000');
    expect(again.body.instanceId).toBe(instanceId);
    const replayed = await market.v2(licenseRequest(instanceId, 'dial', 'DIAL-DEVICE', { testFlag: '1' }));
    expectSigned(replayed, '000000');
    expect(replayed.body.license).toBe(first.body.license);
    // The released run's license no longer counts: the replayed debug order may issue its quota again.
    expectSigned(await market.v2(licenseRequest(instanceId, 'dial-2', 'OTHER', { testFlag: '1' })), '000000');
  });
});

describe('Online License: the budget', () => {
  it('when a license request arrived a while before it began and no worker takes it, then its budget counts from its arrival', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 1 });
    const budgetMs = 3500;
    const licenses = createLicenseService({
      client: h.client,
      pool: h.pool,
      runCommand: () => Promise.reject(new Error('no command in this test')),
      budgetMs,
    });
    await h.stopWorker();
    try {
      const began = Date.now();
      // Arrived 3 s ago: 0.5 s of the budget is left for the issue, not another 3.5 s.
      const outcome = await licenses.issue(instanceId, { eventId: 'evt-late', effectiveTime: new Date().toISOString(), testOrder: false }, began - 3000);
      expect(Date.now() - began).toBeLessThan(2000);
      expect(outcome).toMatchObject({ code: '000005', message: 'still processing; retry', ids: { instanceId } });
    } finally {
      await h.startWorker();
    }
  });
});

describe('Online License: bad input on /koogallery/license, each answered with its code and a Body-Sign', () => {
  it('when a getLicenseAsync is forged, replayed, incomplete or malformed, then 000001 or 000002', async () => {
    const { instanceId } = await buyLicenseInstance(h, market);
    const body = licenseRequest(instanceId, 'bad-1');
    expectSigned(await market.v2(body, { signature: 'A'.repeat(64) }), '000001');
    const nonce = randomUUID().replace(/-/g, '');
    expectSigned(await market.v2(body, { nonce }), '000000');
    expectSigned(await market.v2(body, { nonce }), '000001');
    expectSigned(await market.v2(body, { timestamp: String(Date.now() - 10 * 60_000) }), '000001');
    expectSigned(await market.v2({ ...body, eventId: undefined }), '000002');
    expectSigned(await market.v2({ ...body, effectiveTime: 'yesterday' }), '000002');
    expectSigned(await market.v2({ ...body, expireTime: '20000101000000' }), '000002');
    expectSigned(await market.v2({ ...body, deviceFingerprint: 'x'.repeat(1025) }), '000002');
    expectSigned(await market.v2({ ...body, instanceId: 'i'.repeat(65) }), '000002');
    expectSigned(await market.v2({ ...body, eventId: 'a\u0000b' }), '000002');
    expectSigned(await market.v2({ activity: 'noSuchActivity' }), '000002');
    expectSigned(await market.raw({ method: 'POST', body: '{not json', headers: { 'Content-Type': 'application/json' } }), '000001');
    expectSigned(await market.raw({ method: 'PUT', body: '{}' }), '000002');
    expectSigned(await market.raw({ method: 'POST', body: 'x'.repeat(h.config.http.maxBodyBytes + 10) }), '000002');
    const unsigned = await market.raw({ method: 'GET', query: { activity: 'getLicense' } });
    expectSigned(unsigned, '000001');
  });
});

describe('V1 License (GET /koogallery/license)', () => {
  const getLicense = (orderId: string, extra: Record<string, string> = {}) =>
    market.v1('getLicense', { businessId: randomUUID(), orderId, customerId: 'cust-v1', productId: 'prod-v1', chargingMode: '1', periodType: 'year', periodNumber: '1', expireTime: inDays(365), ...extra });

  it('when getLicense is called (and again with a new businessId), then one instance and one license, the same bytes each time', async () => {
    const orderId = uniqueId('CSV1LIC');
    const first = await getLicense(orderId);
    expectSigned(first, '000000');
    expect(Object.keys(first.body)).toEqual(['resultCode', 'resultMsg', 'license', 'instanceId']);
    const claims = await verifiedClaims(h, first.body.license);
    expect(claims).toMatchObject({ family: 'LICENSE_V1', eventId: orderId, customerId: 'cust-v1', productId: 'prod-v1', quota: 1, instanceId: first.body.instanceId });
    const second = await getLicense(orderId);
    expectSigned(second, '000000');
    expect(second.body.license).toBe(first.body.license);
    expect(second.body.instanceId).toBe(first.body.instanceId);
    expect(await licenseCount(h, first.body.instanceId)).toBe(1);
  });

  it('when refreshed, expired and released (and released again), then each answers 000000 and the read model follows', async () => {
    const orderId = uniqueId('CSV1LIC');
    const { body } = await getLicense(orderId);
    const instanceId = body.instanceId as string;
    expectSigned(await market.v1('refreshLicense', { orderId: uniqueId('CSV1RENEW'), instanceId, expireTime: inDays(730) }), '000000');
    expect((await findInstance(h.pool, instanceId))?.expireTime?.getUTCFullYear()).toBe(new Date(Date.now() + 730 * 86_400_000).getUTCFullYear());
    expectSigned(await market.v1('expireLicense', { orderId, instanceId }), '000000');
    expect((await findInstance(h.pool, instanceId))?.phase).toBe('FROZEN');
    // Without instanceId, the purchase order names the instance.
    expectSigned(await market.v1('releaseLicense', { orderId }), '000000');
    expect((await findInstance(h.pool, instanceId))?.phase).toBe('RELEASED');
    expectSigned(await market.v1('releaseLicense', { orderId, instanceId }), '000000');
    expectSigned(await market.v1('expireLicense', { orderId: uniqueId('CSV1NONE') }), '000003');
  });

  it('when a V1 call is forged, stale, duplicated or incomplete, then 000001 or 000002, signed', async () => {
    expectSigned(await market.raw({ method: 'GET', query: { activity: 'getLicense', orderId: 'o', businessId: 'b', customerId: 'c', timeStamp: '20250101000000000', authToken: 'forged' } }), '000001');
    expectSigned(await market.v1('getLicense', { orderId: 'o', businessId: 'b', customerId: 'c', timeStamp: '20000101000000000' }), '000001');
    expectSigned(await market.v1('getLicense', { orderId: 'o', customerId: 'c' }), '000002');
    expectSigned(await market.v1('newInstance', { orderId: 'o', businessId: 'b', customerId: 'c' }), '000002');
    expectSigned(await market.raw({ method: 'GET', query: 'activity=getLicense&activity=getLicense&timeStamp=1&authToken=x' }), '000002');
    expectSigned(await market.raw({ method: 'GET', query: 'activity=%E0%A4%A' }), '000002');
  });
});

describe('the License answers match the OpenAPI document', () => {
  it('when getLicenseAsync, a refusal, V1 getLicense and the JWKS answer, then each matches its documented schema', async () => {
    const { instanceId } = await buyLicenseInstance(h, market);
    await expectDocumentedAnswer(h, 'POST', '/koogallery/license', 200, (await market.v2(licenseRequest(instanceId, 'doc-1'))).body);
    await expectDocumentedAnswer(h, 'POST', '/koogallery/license', 200, (await market.v2(licenseRequest(instanceId, 'doc-2'))).body);
    await expectDocumentedAnswer(h, 'POST', '/koogallery/license', 200, (await market.v2({ activity: 'queryInstance', instanceId })).body);
    const v1 = await market.v1('getLicense', { businessId: randomUUID(), orderId: uniqueId('CSV1DOC'), customerId: 'c' });
    await expectDocumentedAnswer(h, 'GET', '/koogallery/license', 200, v1.body);
    await expectDocumentedAnswer(h, 'GET', '/koogallery/license/jwks.json', 200, await fetchJwks(h));
  });
});
