import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLicenseCode } from '../../src/licenses/code-store.js';
import { createLicenseCodeService } from '../../src/licenses/code-service.js';
import { LICENSE_CODE_PATH } from '../../src/licenses/code-routes.js';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import { LICENSE_ACTIVATE_PATH } from '../../src/marketplace-api/license-code-client.js';
import { findSupervisionByInstance } from '../../src/supervision/store.js';
import { createProductionClient, type ProductionClient } from '../../tools/simulator/production-client.js';
import { uniqueId } from '../setup/infra.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../support/service-harness.js';
import { buyLicenseInstance, expectDocumentedAnswer, expectSigned, licenseMarket, verifiedClaims } from '../support/licenses.js';

// License 授权码 2.0 over HTTP: the client software activates and heartbeats a code through the service (which calls
// the simulator's license/activate and license/heartbeat, APIG-signed), and the marketplace renews, freezes and
// releases it through the signed POST /koogallery/license-code. Also: activation passes a supervised order's
// supervision (the seam of §7.2 / §9).

const SUPERVISED_LICENSE_PRODUCT = 'prod-license-supervised';

let h: ServiceHarness;
let market: ProductionClient;
beforeAll(async () => {
  h = await startServiceHarness({ env: { SUPERVISED_PRODUCTS: `${SUPERVISED_LICENSE_PRODUCT}=GENERAL` } });
  market = createProductionClient({ baseUrl: new URL(LICENSE_CODE_PATH, h.baseUrl).toString(), accessKey: TEST_ACCESS_KEY });
});
afterAll(async () => {
  await h?.close();
});

const inDays = (d: number) => formatCompactUtc(new Date(Date.now() + d * 86_400_000));

async function client(action: 'activate' | 'heartbeat', licenseCode: string, deviceFingerprint?: string) {
  const res = await fetch(new URL(`${LICENSE_CODE_PATH}/${action}`, h.baseUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ licenseCode, ...(deviceFingerprint ? { deviceFingerprint } : {}) }),
  });
  return { status: res.status, body: (await res.json()) as { outcome: string; license?: string; expireTime?: string; message?: string } };
}

function newCode(extra: { orderId?: string; orderLineId?: string; productId?: string } = {}) {
  return h.marketplace.licenseCodes.create({ orderId: extra.orderId ?? uniqueId('CSLC'), ...extra, expireTime: inDays(200) });
}

describe('License code 2.0: the client software', () => {
  it('when a code is activated, then the service calls license/activate (APIG-signed) and answers a license that verifies, bound to the device', async () => {
    const code = newCode();
    h.marketplace.calls.length = 0;
    const a = await client('activate', code.license, 'DEVICE-1');
    expect(a.status).toBe(200);
    expect(a.body.outcome).toBe('ACTIVE');
    const claims = await verifiedClaims(h, a.body.license);
    expect(claims).toMatchObject({ family: 'LICENSE_CODE', instanceId: code.license, deviceFingerprint: 'DEVICE-1', productId: code.productId, customerId: code.customerId });
    expect(String(claims.expireTime).slice(0, 10)).toBe(`${code.expireTime.slice(0, 4)}-${code.expireTime.slice(4, 6)}-${code.expireTime.slice(6, 8)}`);
    const activateCalls = h.marketplace.calls.filter((c) => c.path === LICENSE_ACTIVATE_PATH);
    expect(activateCalls).toHaveLength(1);
    expect(activateCalls[0]).toMatchObject({ authorized: true, status: 200, method: 'POST' });
    expect(await findLicenseCode(h.pool, code.license)).toMatchObject({ phase: 'ACTIVE', orderId: code.orderId, deviceFingerprint: 'DEVICE-1' });
    // Again from the same device: the same license, no second activation at the marketplace.
    const again = await client('activate', code.license, 'DEVICE-1');
    expect(again.body.license).toBe(a.body.license);
    expect(h.marketplace.calls.filter((c) => c.path === LICENSE_ACTIVATE_PATH)).toHaveLength(1);
    // Another device: refused.
    const other = await client('activate', code.license, 'DEVICE-2');
    expect(other).toMatchObject({ status: 409, body: { outcome: 'OTHER_DEVICE' } });
  });

  it('when an activated code heartbeats, then license/heartbeat is called and the license comes back; an unknown or never activated code is refused', async () => {
    const code = newCode();
    const a = await client('activate', code.license, 'HB-DEVICE');
    const hb = await client('heartbeat', code.license, 'HB-DEVICE');
    expect(hb).toMatchObject({ status: 200, body: { outcome: 'ACTIVE', license: a.body.license } });
    expect(h.marketplace.licenseCodes.get(code.license)?.heartbeats).toBe(1);
    expect((await findLicenseCode(h.pool, code.license))?.lastHeartbeatAt).toBeInstanceOf(Date);
    expect(await client('activate', 'NO-SUCH-CODE-1')).toMatchObject({ status: 403, body: { outcome: 'REFUSED' } });
    expect((await client('heartbeat', newCode().license)).status).toBe(404);
    expect((await client('activate', 'bad code with spaces')).status).toBe(400);
  });

  it('when the marketplace is briefly down at activation, then the activation completes once it is back (the client retries)', async () => {
    const code = newCode();
    h.marketplace.faults.failNext(2, 503);
    const first = await client('activate', code.license, 'RETRY-DEVICE');
    expect([200, 503]).toContain(first.status);
    let last = first;
    for (let i = 0; i < 20 && last.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      last = await client('activate', code.license, 'RETRY-DEVICE');
    }
    expect(last.body.outcome).toBe('ACTIVE');
    await verifiedClaims(h, last.body.license);
  });
});

describe('License code 2.0: the marketplace (POST /koogallery/license-code)', () => {
  it('when renewed, frozen, unfrozen and released, then each answers 000000 signed and the client sees it: a new license for the new term, 423, 410', async () => {
    const code = newCode();
    const first = await client('activate', code.license, 'LIFE');
    const renewal = { activity: 'refreshLicenseCode', scene: 'RENEWAL', orderId: uniqueId('CSRENEW'), orderLineId: 'L1', license: code.license, expireTime: inDays(600) };
    expectSigned(await market.v2(renewal), '000000');
    expectSigned(await market.v2(renewal), '000000');
    // The marketplace's own record of the code renews with it (a heartbeat reports the marketplace's expiry, which wins).
    h.marketplace.licenseCodes.update(code.license, { expireTime: inDays(600) });
    const renewed = await client('heartbeat', code.license, 'LIFE');
    expect(renewed.body.outcome).toBe('ACTIVE');
    expect(renewed.body.license).not.toBe(first.body.license);
    expect(String((await verifiedClaims(h, renewed.body.license)).expireTime).slice(0, 4)).toBe(inDays(600).slice(0, 4));

    expectSigned(await market.v2({ activity: 'updateLicenseCodeStatus', license: code.license, status: 'FREEZE' }), '000000');
    expect(await client('heartbeat', code.license, 'LIFE')).toMatchObject({ status: 423, body: { outcome: 'FROZEN' } });
    expect((await findLicenseCode(h.pool, code.license))?.phase).toBe('FROZEN');
    expectSigned(await market.v2({ activity: 'updateLicenseCodeStatus', license: code.license, status: 'UNFREEZE' }), '000000');
    expect((await client('heartbeat', code.license, 'LIFE')).status).toBe(200);

    expectSigned(await market.v2({ activity: 'releaseLicenseCode', license: code.license }), '000000');
    expectSigned(await market.v2({ activity: 'releaseLicenseCode', license: code.license }), '000000');
    expect((await findLicenseCode(h.pool, code.license))?.phase).toBe('RELEASED');
    expect((await client('heartbeat', code.license, 'LIFE')).status).toBe(410);
    expectSigned(await market.v2({ ...renewal, orderId: uniqueId('CSRENEW') }), '000003');
    const released = await h.pool.query('SELECT count(*)::int AS n FROM licenses WHERE instance_id = $1 AND released_at IS NOT NULL', [code.license]);
    expect(released.rows[0].n).toBe(2);
  });

  it('when a status change arrived a while before it began and no worker takes it, then its budget counts from its arrival', async () => {
    const code = newCode();
    expect((await client('activate', code.license, 'LATE')).status).toBe(200);
    const budgetMs = 3500;
    const codes = createLicenseCodeService({ client: h.client, pool: h.pool, taskQueue: h.config.temporal.taskQueue, budgetMs });
    await h.stopWorker();
    try {
      const began = Date.now();
      // Arrived 3 s ago: 0.5 s of the budget is left for the update, not another 3.5 s.
      const outcome = await codes.setStatus(code.license, { status: 'FREEZE', testOrder: false }, began - 3000);
      expect(Date.now() - began).toBeLessThan(2000);
      expect(outcome).toMatchObject({ code: '000005', message: 'still processing; retry', ids: { instanceId: code.license } });
    } finally {
      await h.startWorker();
    }
  });

  it('when the code is unknown, then 000003; bad input is 000001 or 000002, always signed', async () => {
    expectSigned(await market.v2({ activity: 'updateLicenseCodeStatus', license: 'NEVER-ACTIVATED', status: 'FREEZE' }), '000003');
    expectSigned(await market.v2({ activity: 'releaseLicenseCode', license: 'NEVER-ACTIVATED' }), '000003');
    expectSigned(await market.v2({ activity: 'releaseLicenseCode', license: 'X' }, { signature: '0'.repeat(64) }), '000001');
    expectSigned(await market.v2({ activity: 'refreshLicenseCode', scene: 'TRIAL_TO_FORMAL', orderId: 'o', orderLineId: 'l', license: 'X', expireTime: inDays(1) }), '000002');
    expectSigned(await market.v2({ activity: 'updateLicenseCodeStatus', license: 'X\u0000', status: 'FREEZE' }), '000002');
    expectSigned(await market.v2({ activity: 'getLicenseAsync' }), '000002');
    expectSigned(await market.raw({ method: 'PUT', body: '{}' }), '000002');
    expectSigned(await market.raw({ method: 'POST', body: 'x'.repeat(h.config.http.maxBodyBytes + 1) }), '000002');
    expectSigned(await market.raw({ method: 'POST', body: '{}' }), '000001');
  });
});

describe('License code 2.0: supervision', () => {
  it('when the code of a supervised order is activated, then the order supervision completes as LICENSE_ACTIVATED', async () => {
    const licenses = licenseMarket(h);
    const { order, orderLineId, instanceId } = await (async () => {
      const bought = await buyLicenseInstance(h, licenses, { productId: SUPERVISED_LICENSE_PRODUCT });
      return { ...bought, orderLineId: bought.line };
    })();
    let supervision;
    for (let i = 0; i < 40 && !supervision; i++) {
      supervision = await findSupervisionByInstance(h.pool, instanceId);
      if (!supervision) await new Promise((r) => setTimeout(r, 250));
    }
    expect(supervision?.outcome).toBeNull();
    const code = newCode({ orderId: order.orderId, orderLineId, productId: SUPERVISED_LICENSE_PRODUCT });
    const a = await client('activate', code.license, randomUUID());
    expect(a.body.outcome).toBe('ACTIVE');
    let done;
    for (let i = 0; i < 40 && done?.outcome !== 'LICENSE_ACTIVATED'; i++) {
      done = await findSupervisionByInstance(h.pool, instanceId);
      if (done?.outcome !== 'LICENSE_ACTIVATED') await new Promise((r) => setTimeout(r, 250));
    }
    expect(done).toMatchObject({ node: 'COMPLETED', outcome: 'LICENSE_ACTIVATED' });
  });
});

describe('the License code answers match the OpenAPI document', () => {
  it('when the client and the marketplace are answered, then each answer matches its documented schema', async () => {
    const code = newCode();
    const activated = await client('activate', code.license, 'DOC');
    await expectDocumentedAnswer(h, 'POST', '/koogallery/license-code/activate', activated.status, activated.body);
    const other = await client('activate', code.license, 'DOC-2');
    await expectDocumentedAnswer(h, 'POST', '/koogallery/license-code/activate', other.status, other.body);
    const missing = await client('heartbeat', newCode().license);
    await expectDocumentedAnswer(h, 'POST', '/koogallery/license-code/heartbeat', missing.status, missing.body);
    const released = await market.v2({ activity: 'releaseLicenseCode', license: code.license });
    await expectDocumentedAnswer(h, 'POST', '/koogallery/license-code', 200, released.body);
  });
});
