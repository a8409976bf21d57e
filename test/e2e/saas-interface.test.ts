import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findInstance } from '../../src/orders/store.js';
import { createOrderService } from '../../src/orders/service.js';
import { computeV2Signature, encryptField } from '../../src/koogallery/index.js';
import { createSealedBox } from '../../src/platform/sealed-box.js';
import type { CreateOrderInput } from '../../tools/simulator/order-book.js';
import type { ProductionAnswer } from '../../tools/simulator/production-client.js';
import { getOrderQuery, orderWorkflowId } from '../../src/orders/contract.js';
import { uniqueId } from '../setup/infra.js';
import { until } from '../../tools/testing/until.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../support/service-harness.js';
import { aSimOrder, aV1PurchaseParams, aV2PurchaseBody, aV2RenewalBody, inDays, lineOf } from '../support/factories.js';

// The SaaS production interface over HTTP against the real Temporal and PostgreSQL. Each test checks the answer
// (code, Body-Sign), the resulting state (read model, tenant registry, workflow) and, where it matters, what did
// NOT happen (no tenant, no workflow, no row).

let h: ServiceHarness;
beforeAll(async () => {
  h = await startServiceHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.provisionerFaults.faults.reset();
});

const PRODUCT_ID = 'prod-e2e';

function yearlyOrder(extra: Partial<CreateOrderInput> = {}) {
  return h.marketplace.orderBook.createOrder(aSimOrder({ productId: PRODUCT_ID, ...extra }));
}

async function tenantCount(instanceId: string, pool = h.pool): Promise<number> {
  const r = await pool.query('SELECT count(*)::int AS n FROM tenants WHERE instance_id = $1', [instanceId]);
  return r.rows[0].n;
}

/** Read-model rows of an order (one per instance). */
async function instanceCount(orderId: string, pool = h.pool): Promise<number> {
  const r = await pool.query('SELECT count(*)::int AS n FROM instances WHERE order_id = $1', [orderId]);
  return r.rows[0].n;
}

async function tenantStatus(instanceId: string): Promise<string | undefined> {
  const r = await h.pool.query('SELECT status FROM tenants WHERE instance_id = $1', [instanceId]);
  return r.rows[0]?.status;
}

function expectSigned(a: ProductionAnswer, code: string): void {
  expect(a.status).toBe(200);
  expect(a.bodySignValid).toBe(true);
  expect(a.body?.resultCode).toBe(code);
}

/** Polls queryInstance as the marketplace does after a 000004, until the instance's info comes back (000000). */
function pollUntilReady(market: ServiceHarness['market'], instanceId: string, timeoutMs: number): Promise<ProductionAnswer> {
  return until(`queryInstance ${instanceId} ready`, async () => {
    const q = await market.v2({ activity: 'queryInstance', instanceId });
    return q.body.resultCode === '000000' ? q : undefined;
  }, timeoutMs);
}

async function buyV2(extra: Partial<CreateOrderInput> = {}) {
  const order = yearlyOrder(extra);
  const body = aV2PurchaseBody(lineOf(order));
  const a = await h.market.v2(body);
  return { order, line: body.orderLineId, businessId: body.businessId, answer: a, instanceId: a.body?.instanceId as string };
}

describe('V2 newInstance', () => {
  it('when a yearly order is bought, then the instanceId is the first businessId and a tenant exists with sealed credentials', async () => {
    const { answer, businessId, instanceId, order } = await buyV2();
    expectSigned(answer, '000000');
    expect(instanceId).toBe(businessId);
    const row = await findInstance(h.pool, instanceId);
    expect(row).toMatchObject({ phase: 'ACTIVE', orderId: order.orderId, chargingMode: 'PERIOD', productId: 'prod-e2e', skuCode: 'sku-basic' });
    expect(row?.credentialsSealed).toMatch(/^v1\./);
    expect(await tenantCount(instanceId)).toBe(1);
    const q = await h.market.v2({ activity: 'queryInstance', instanceId });
    expectSigned(q, '000000');
    expect(q.appInfo?.frontEndUrl).toMatch(/^https:\/\/t[0-9a-z]+\.tenants\.test$/);
    expect(q.appInfo?.userName).toBeTruthy();
    expect(q.appInfo?.password?.length).toBeGreaterThanOrEqual(20);
    // The credentials are never stored or sent in plain text.
    expect(q.rawBody).not.toContain(q.appInfo!.password!);
    // Polls are answered from the per-instance appInfo cache: the same ciphertext, still decryptable.
    const again = await h.market.v2({ activity: 'queryInstance', instanceId });
    expect(again.body.info[0].appInfo.password).toBe(q.body.info[0].appInfo.password);
    expect(again.appInfo?.password).toBe(q.appInfo?.password);
    expect(JSON.stringify(row)).not.toContain(q.appInfo!.password!);
  });

  it('when 20 identical purchases arrive at once (new businessId each), then one workflow, one tenant, one instanceId', async () => {
    const order = yearlyOrder();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => h.market.v2(aV2PurchaseBody(lineOf(order)))),
    );
    for (const a of answers) expectSigned(a, '000000');
    const ids = new Set(answers.map((a) => a.body.instanceId));
    expect(ids.size).toBe(1);
    const [instanceId] = [...ids] as string[];
    expect(await tenantCount(instanceId!)).toBe(1);
    expect(await instanceCount(order.orderId)).toBe(1);
  });

  it('when provisioning outlasts the budget, then 000004 names the instance and queryInstance returns info once ready', async () => {
    h.provisionerFaults.faults.delayMs('create', h.config.koogallery.provisionBudgetMs + 1500);
    const order = yearlyOrder();
    const businessId = randomUUID();
    const first = await h.market.v2(aV2PurchaseBody(lineOf(order), { businessId }));
    expectSigned(first, '000004');
    expect(first.body.instanceId).toBe(businessId);
    expect(first.latencyMs).toBeLessThan(5000);
    const early = await h.market.v2({ activity: 'queryInstance', instanceId: businessId });
    expectSigned(early, '000004');
    expect(early.body.info).toBeUndefined();
    h.provisionerFaults.faults.reset();
    const ready = await pollUntilReady(h.market, businessId, 10_000);
    expect(ready?.body.info?.[0]?.instanceId).toBe(businessId);
    expect(ready?.appInfo?.password).toBeTruthy();
  });

  it('when Query Order does not know the order, then the purchase fails with a retryable code and no tenant', async () => {
    const businessId = randomUUID();
    const orderId = uniqueId('CSUNKNOWN');
    const a = await h.market.v2(aV2PurchaseBody({ orderId, orderLineId: `${orderId}-000001` }, { businessId }));
    expectSigned(a, '000005');
    expect(await tenantCount(businessId)).toBe(0);
  });

  it('when a debug order (testFlag=1) is replayed after release, then it succeeds again with the same instanceId', async () => {
    const order = yearlyOrder();
    const buy = () => h.market.v2(aV2PurchaseBody(lineOf(order), { testFlag: '1' }));
    const first = await buy();
    expectSigned(first, '000000');
    const instanceId = first.body.instanceId;
    expectSigned(await h.market.v2({ activity: 'releaseInstance', instanceId, testFlag: '1' }), '000000');
    const again = await buy();
    expectSigned(again, '000000');
    expect(again.body.instanceId).toBe(instanceId);
    expect(await tenantStatus(instanceId)).toBe('ACTIVE');
    const row = await findInstance(h.pool, instanceId);
    expect(row?.testOrder).toBe(true);
    expect(row?.phase).toBe('ACTIVE');
    expectSigned(await h.market.v2({ activity: 'queryInstance', instanceId, testFlag: '1' }), '000000');
  });

  it('when a released real order is bought again, then the same instanceId is answered and nothing is re-created', async () => {
    const { order, instanceId } = await buyV2();
    expectSigned(await h.market.v2({ activity: 'releaseInstance', instanceId }), '000000');
    const again = await h.market.v2(aV2PurchaseBody(lineOf(order)));
    expectSigned(again, '000000');
    expect(again.body.instanceId).toBe(instanceId);
    expect(await tenantStatus(instanceId)).toBe('DELETED');
  });
});

describe('V2 newInstance before any worker has run the order', () => {
  // A harness of its own without a worker (as on a cold start, or while every worker is down), and a short budget.
  let cold: ServiceHarness;
  beforeAll(async () => {
    cold = await startServiceHarness({ worker: false, env: { PROVISION_BUDGET_MS: '1000' } });
  });
  afterAll(async () => {
    await cold?.close();
  });

  it('when no worker takes the order within the budget, then 000004 names the instance its start recorded, polls answer 000004 (not unknown), and the worker that comes provisions that instance', async () => {
    const order = cold.marketplace.orderBook.createOrder(aSimOrder({ productId: PRODUCT_ID }));
    const businessId = randomUUID();
    const first = await cold.market.v2(aV2PurchaseBody(lineOf(order), { businessId }));
    expectSigned(first, '000004');
    expect(first.body.instanceId).toBe(businessId);
    expect(first.latencyMs).toBeLessThan(5000);
    // Announced in the read model below the workflow's first transition, with only what the start knew.
    const announced = await findInstance(cold.pool, businessId);
    expect(announced).toMatchObject({ phase: 'PROVISIONING', orderId: order.orderId, orderLineId: lineOf(order).orderLineId, seq: 0 });
    expect(announced?.customerId ?? null).toBeNull();
    // The marketplace calls again (a new businessId): the same instance, the one the first start named.
    const again = await cold.market.v2(aV2PurchaseBody(lineOf(order)));
    expectSigned(again, '000004');
    expect(again.body.instanceId).toBe(businessId);
    const poll = await cold.market.v2({ activity: 'queryInstance', instanceId: businessId });
    expectSigned(poll, '000004');
    expect(poll.body.info).toBeUndefined();

    await cold.startWorker();
    const ready = await pollUntilReady(cold.market, businessId, 20_000);
    expect(ready?.body.info?.[0]?.instanceId).toBe(businessId);
    expect(ready?.appInfo?.password).toBeTruthy();
    // The workflow's own writes replaced the announcement: its first transition is in the timeline, its facts in the row.
    expect(await findInstance(cold.pool, businessId)).toMatchObject({ phase: 'ACTIVE', productId: PRODUCT_ID, customerId: order.buyerInfo.customerId });
    const timeline = await cold.pool.query<{ seq: number; event: string }>('SELECT seq, event FROM instance_transitions WHERE instance_id = $1 ORDER BY seq', [businessId]);
    expect(timeline.rows[0]).toEqual({ seq: 1, event: 'PURCHASE_RECEIVED' });
    expect(await tenantCount(businessId, cold.pool)).toBe(1);
    expect(await instanceCount(order.orderId, cold.pool)).toBe(1);
  });

  it('when the order was started as a debug order (testFlag=1), then its announcement says so, whatever the call announcing it says', async () => {
    await cold.stopWorker();
    const order = cold.marketplace.orderBook.createOrder(aSimOrder({ productId: PRODUCT_ID }));
    const businessId = randomUUID();
    const first = await cold.market.v2(aV2PurchaseBody(lineOf(order), { businessId, testFlag: '1' }));
    expectSigned(first, '000004');
    expect(await findInstance(cold.pool, businessId)).toMatchObject({ phase: 'PROVISIONING', testOrder: true, interfaceVersion: 'V2', seq: 0 });
    // Announced again by a call without the flag (the first announcement removed by hand): the start decides.
    await cold.pool.query('DELETE FROM instances WHERE instance_id = $1', [businessId]);
    const again = await cold.market.v2(aV2PurchaseBody(lineOf(order)));
    expectSigned(again, '000004');
    expect(again.body.instanceId).toBe(businessId);
    expect(await findInstance(cold.pool, businessId)).toMatchObject({ phase: 'PROVISIONING', testOrder: true });
  });

  it('when a failed purchase is called again and no worker takes the retry in time, then 000005, not 000004 (its polls would answer 000003)', async () => {
    await cold.startWorker();
    const orderId = uniqueId('CSUNKNOWN');
    const line = { orderId, orderLineId: `${orderId}-000001` };
    const businessId = randomUUID();
    expectSigned(await cold.market.v2(aV2PurchaseBody(line, { businessId })), '000005');
    expect(await findInstance(cold.pool, businessId)).toMatchObject({ phase: 'FAILED' });
    await cold.stopWorker();
    const again = await cold.market.v2(aV2PurchaseBody(line));
    expectSigned(again, '000005');
    expect(again.latencyMs).toBeLessThan(5000);
    expectSigned(await cold.market.v2({ activity: 'queryInstance', instanceId: businessId }), '000003');
  });

  /** The order service as the API builds it, on the cold harness, with a budget of `ms` (PROVISION_BUDGET_MS's default below). */
  const budgetMs = 3500;
  const coldOrderService = (ms: number) =>
    createOrderService({
      client: cold.client,
      pool: cold.pool,
      taskQueue: cold.config.temporal.taskQueue,
      accessKey: TEST_ACCESS_KEY,
      sealedBox: createSealedBox(cold.config.dataEncryptionKey),
      budgetMs: ms,
    });

  it('when the call arrived a while before its purchase began (slow admission), then the budget counts from its arrival', async () => {
    await cold.stopWorker();
    const orders = coldOrderService(budgetMs);
    const order = cold.marketplace.orderBook.createOrder(aSimOrder({ productId: PRODUCT_ID }));
    const businessId = randomUUID();
    const key = { kind: 'v2-line' as const, ...lineOf(order) };
    const began = Date.now();
    // Arrived 3 s ago: 0.5 s of the budget is left, then at most 0.8 s of look-ups (not another 3.5 s).
    const outcome = await orders.execute({ kind: 'purchase', interfaceVersion: 'V2', testOrder: false, key, businessId }, { receivedAt: began - 3000 });
    expect(Date.now() - began).toBeLessThan(budgetMs);
    expect(outcome).toMatchObject({ kind: 'provisioning', ids: { instanceId: businessId } });
  });

  it('when a renewal arrived a while before it began and no worker takes it, then its budget too counts from its arrival', async () => {
    await cold.startWorker();
    const order = cold.marketplace.orderBook.createOrder(aSimOrder({ productId: PRODUCT_ID }));
    const bought = await cold.market.v2(aV2PurchaseBody(lineOf(order)));
    const instanceId = bought.body.instanceId as string;
    await pollUntilReady(cold.market, instanceId, 20_000);
    await cold.stopWorker();
    const orders = coldOrderService(budgetMs);
    const began = Date.now();
    // Arrived 3 s ago: 0.5 s of the budget is left for the update, not another 3.5 s.
    const renewal = { kind: 'renew' as const, interfaceVersion: 'V2' as const, testOrder: false, instanceId, orderId: uniqueId('CSRENEW'), scene: 'RENEWAL' as const, expireTime: new Date(Date.now() + 400 * 86_400_000).toISOString() };
    const outcome = await orders.execute(renewal, { receivedAt: began - 3000 });
    expect(Date.now() - began).toBeLessThan(2000);
    expect(outcome).toMatchObject({ kind: 'retry-later', ids: { instanceId, orderId: order.orderId } });
  });

  it('when a V1 purchase finds no worker, then it is answered a retryable 000005 (V1 has no 000004) and nothing is announced', async () => {
    await cold.stopWorker();
    const orderId = uniqueId('CSV1COLD');
    const a = await cold.market.v1('newInstance', aV1PurchaseParams({ orderId }));
    expectSigned(a, '000005');
    expect(await instanceCount(orderId, cold.pool)).toBe(0);
  });
});

describe('V2 lifecycle effects', () => {
  it('when renewed, frozen, unfrozen and released, then the tenant and read model follow every step', async () => {
    const { order, instanceId } = await buyV2();
    const renewal = h.marketplace.orderBook.createOrder(aSimOrder({ orderType: 'RENEW', productId: PRODUCT_ID, customerId: order.buyerInfo!.customerId }));
    const newExpiry = inDays(730);
    expectSigned(
      await h.market.v2(aV2RenewalBody(lineOf(renewal), instanceId, { expireTime: newExpiry })),
      '000000',
    );
    expect((await findInstance(h.pool, instanceId))?.expireTime?.toISOString().slice(0, 10)).toBe(
      `${newExpiry.slice(0, 4)}-${newExpiry.slice(4, 6)}-${newExpiry.slice(6, 8)}`,
    );
    expectSigned(await h.market.v2({ activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' }), '000000');
    expect((await findInstance(h.pool, instanceId))?.phase).toBe('FROZEN');
    expect(await tenantStatus(instanceId)).toBe('FROZEN');
    expectSigned(await h.market.v2({ activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' }), '000000');
    expect(await tenantStatus(instanceId)).toBe('ACTIVE');
    expectSigned(await h.market.v2({ activity: 'releaseInstance', instanceId }), '000000');
    expect((await findInstance(h.pool, instanceId))?.phase).toBe('RELEASED');
    expect(await tenantStatus(instanceId)).toBe('DELETED');
    expectSigned(await h.market.v2({ activity: 'releaseInstance', instanceId }), '000000');
    expectSigned(await h.market.v2({ activity: 'queryInstance', instanceId }), '000003');
    const timeline = await h.pool.query('SELECT event FROM instance_transitions WHERE instance_id = $1 ORDER BY seq', [instanceId]);
    expect(timeline.rows.map((r) => r.event)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED', 'RENEWAL', 'FREEZE', 'UNFREEZE', 'RELEASED']);
  });

  it('when a renewal refund arrives, then the expiry moves earlier; a repeat of it changes nothing', async () => {
    const { instanceId } = await buyV2();
    const refund = { activity: 'refreshInstance', scene: 'UNSUBSCRIBE_RENEWAL_PERIOD', orderId: uniqueId('REFUND'), orderLineId: 'L1', instanceId, expireTime: inDays(30) };
    expectSigned(await h.market.v2(refund), '000000');
    const after = await findInstance(h.pool, instanceId);
    expect(Math.round((after!.expireTime!.getTime() - Date.now()) / 86_400_000)).toBe(30);
    const seqBefore = after!.seq;
    expectSigned(await h.market.v2({ ...refund, expireTime: inDays(10) }), '000000');
    expect((await findInstance(h.pool, instanceId))?.seq).toBe(seqBefore);
  });

  it('when an upgrade order arrives, then the tenant gets the change order spec', async () => {
    const { order, instanceId } = await buyV2();
    const change = h.marketplace.orderBook.createOrder(aSimOrder({ orderType: 'CHANGE', productId: PRODUCT_ID, skuCode: 'sku-pro', linearValue: 50, customerId: order.buyerInfo!.customerId }));
    expectSigned(await h.market.v2({ activity: 'upgradeInstance', instanceId, orderId: change.orderId, orderLineId: change.orderLine[0]!.orderLineId }), '000000');
    const t = await h.pool.query('SELECT spec FROM tenants WHERE instance_id = $1', [instanceId]);
    expect(t.rows[0].spec).toMatchObject({ skuCode: 'sku-pro' });
    expect((await findInstance(h.pool, instanceId))?.skuCode).toBe('sku-pro');
  });

  it('when a trial converts to formal, then the instance is no longer a trial', async () => {
    const { instanceId, order } = await buyV2({ orderType: 'TRIAL' });
    expect((await findInstance(h.pool, instanceId))?.trial).toBe(true);
    expectSigned(
      await h.market.v2({ activity: 'refreshInstance', scene: 'TRIAL_TO_FORMAL', orderId: uniqueId('T2F'), orderLineId: 'L1', instanceId, expireTime: inDays(365) }),
      '000000',
    );
    expect((await findInstance(h.pool, instanceId))?.trial).toBe(false);
    expect(order.orderType).toBe('TRIAL');
  });

  it('when the same customer takes a second free trial of the product, then 000105 and no tenant', async () => {
    const customerId = uniqueId('trial-cust');
    const first = await buyV2({ orderType: 'TRIAL', customerId });
    expectSigned(first.answer, '000000');
    const second = await buyV2({ orderType: 'TRIAL', customerId });
    expectSigned(second.answer, '000105');
    expect(await tenantCount(second.businessId)).toBe(0);
    // Asked again (the marketplace retries), the answer stays the same.
    const retry = await h.market.v2(aV2PurchaseBody(lineOf(second.order)));
    expectSigned(retry, '000105');
  });

  it('when a renewal-with-change is checked, then a live instance is allowed and an unknown one is not', async () => {
    const { instanceId } = await buyV2();
    expectSigned(await h.market.v2({ activity: 'changeInstanceCheck', instanceId, productInfo: { skuCode: 'sku-pro' } }), '000000');
    expectSigned(await h.market.v2({ activity: 'changeInstanceCheck', instanceId: 'no-such-instance', productInfo: {} }), '000003');
  });
});

describe('out-of-order and unknown instances', () => {
  it('when a release arrives while provisioning, then it waits, removes the tenant, and nothing is orphaned', async () => {
    h.provisionerFaults.faults.delayMs('create', h.config.koogallery.provisionBudgetMs + 500);
    const { answer, instanceId } = await buyV2();
    expectSigned(answer, '000004');
    h.provisionerFaults.faults.reset();
    const release = await h.market.v2({ activity: 'releaseInstance', instanceId });
    expect(['000000', '000005']).toContain(release.body.resultCode);
    for (let i = 0; i < 40 && (await findInstance(h.pool, instanceId))?.phase !== 'RELEASED'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      if (i % 8 === 7) await h.market.v2({ activity: 'releaseInstance', instanceId }); // the marketplace retries
    }
    expect((await findInstance(h.pool, instanceId))?.phase).toBe('RELEASED');
    expect(await tenantStatus(instanceId)).toBe('DELETED');
  });

  it('when operations name an instance that never existed, then 000003 and no workflow is started', async () => {
    const instanceId = uniqueId('ghost');
    for (const body of [
      { activity: 'refreshInstance', scene: 'RENEWAL', orderId: 'O1', orderLineId: 'L1', instanceId, expireTime: inDays(30) },
      { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' },
      { activity: 'upgradeInstance', instanceId, orderId: 'O2', orderLineId: 'L2' },
      { activity: 'releaseInstance', instanceId },
      { activity: 'queryInstance', instanceId },
    ]) {
      expectSigned(await h.market.v2(body), '000003');
    }
    expect(await findInstance(h.pool, instanceId)).toBeUndefined();
  });

  it('when no worker runs, then queryInstance still answers from the read model', async () => {
    const { instanceId } = await buyV2();
    await h.stopWorker();
    try {
      const q = await h.market.v2({ activity: 'queryInstance', instanceId });
      expectSigned(q, '000000');
      expect(q.appInfo?.frontEndUrl).toBeTruthy();
    } finally {
      await h.startWorker();
    }
  });

  it('when queryInstance names up to 100 ids, then only the live ones are in info', async () => {
    const a = await buyV2();
    const b = await buyV2();
    const ids = [a.instanceId, b.instanceId, ...Array.from({ length: 98 }, (_, i) => `unknown-${i}`)];
    const request = { activity: 'queryInstance', instanceId: ids.join(',') };
    // This call's row, by the hash of its body (as the client sends it): other files make multi-id queries too.
    const bodySha256 = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const inboxRows = async () =>
      (
        await h.pool.query(`SELECT count(*)::int AS n FROM marketplace_inbox WHERE activity = 'queryInstance' AND instance_id IS NULL AND result_code = '000000' AND body_sha256 = $1`, [
          bodySha256,
        ])
      ).rows[0].n as number;
    const before = await inboxRows();
    const q = await h.market.v2(request);
    expectSigned(q, '000000');
    expect(q.body.info.map((i: { instanceId: string }) => i.instanceId).sort()).toEqual([a.instanceId, b.instanceId].sort());
    // The call is audited like any other (the id list is not one instance, so it is not stored as one).
    for (let i = 0; i < 20 && (await inboxRows()) === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await inboxRows()).toBe(before + 1);
  });
});

describe('V1 (GET) specifics', () => {
  const v1Buy = (orderId: string, extra: Record<string, string> = {}) =>
    h.market.v1('newInstance', aV1PurchaseParams({ orderId, ...extra }));

  it('when bought, then appInfo comes back with encryptType and decryptable credentials', async () => {
    const a = await v1Buy(uniqueId('CSV1'));
    expectSigned(a, '000000');
    expect(a.body.encryptType).toBe('1');
    expect(a.appInfo?.password?.length).toBeGreaterThanOrEqual(20);
    expect(a.rawBody).not.toContain(a.appInfo!.password!);
  });

  it('when provisioning outlasts the budget, then V1 gets a retryable 000005 and the retry finds the instance', async () => {
    h.provisionerFaults.faults.delayMs('create', h.config.koogallery.provisionBudgetMs + 500);
    const orderId = uniqueId('CSV1SLOW');
    const first = await v1Buy(orderId);
    expectSigned(first, '000005');
    h.provisionerFaults.faults.reset();
    await new Promise((r) => setTimeout(r, 1500));
    const retry = await v1Buy(orderId);
    expectSigned(retry, '000000');
    expect(retry.appInfo?.frontEndUrl).toBeTruthy();
  });

  it('when on-demand items of one order are bought, then each product gets its own instance', async () => {
    const orderId = uniqueId('CSV1OD');
    const a = await v1Buy(orderId, { chargingMode: '0', productId: 'od-a', expireTime: '' });
    const b = await v1Buy(orderId, { chargingMode: '0', productId: 'od-b', expireTime: '' });
    expectSigned(a, '000000');
    expectSigned(b, '000000');
    expect(a.body.instanceId).not.toBe(b.body.instanceId);
    const handle = h.client.workflow.getHandle(orderWorkflowId({ kind: 'v1-on-demand', orderId, productId: 'od-a' }));
    expect((await handle.query(getOrderQuery)).instanceId).toBe(a.body.instanceId);
  });

  it('when a pay-per-use instance is frozen and set NORMAL again (instanceStatus), then the tenant and read model follow, repeats change nothing', async () => {
    const a = await v1Buy(uniqueId('CSV1OD'), { chargingMode: '0', productId: uniqueId('od'), expireTime: '' });
    expectSigned(a, '000000');
    const instanceId = a.body.instanceId as string;
    const status = (instanceStatus: string, extra: Record<string, string> = {}) => h.market.v1('instanceStatus', { instanceId, instanceStatus, ...extra });

    expectSigned(await status('FREEZE'), '000000');
    expect(await tenantStatus(instanceId)).toBe('FROZEN');
    expect((await findInstance(h.pool, instanceId))?.phase).toBe('FROZEN');
    const frozenSeq = (await findInstance(h.pool, instanceId))!.seq;
    expectSigned(await status('FREEZE'), '000000');
    expect((await findInstance(h.pool, instanceId))?.seq).toBe(frozenSeq);

    expectSigned(await status('NORMAL'), '000000');
    expect(await tenantStatus(instanceId)).toBe('ACTIVE');
    expect((await findInstance(h.pool, instanceId))?.phase).toBe('ACTIVE');
    expectSigned(await status('NORMAL', { testFlag: '1' }), '000000');

    // An expiry freeze is lifted by NORMAL too: V1 NORMAL lifts every freeze the marketplace imposed.
    expectSigned(await h.market.v1('expireInstance', { instanceId, orderId: 'x' }), '000000');
    expectSigned(await status('FREEZE'), '000000');
    expectSigned(await status('NORMAL'), '000000');
    expect(await tenantStatus(instanceId)).toBe('ACTIVE');

    const timeline = await h.pool.query('SELECT event FROM instance_transitions WHERE instance_id = $1 ORDER BY seq', [instanceId]);
    expect(timeline.rows.map((r) => r.event)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED', 'FREEZE', 'UNFREEZE', 'FREEZE', 'FREEZE', 'UNFREEZE']);
    expectSigned(await h.market.v1('instanceStatus', { instanceId: uniqueId('ghost'), instanceStatus: 'FREEZE' }), '000003');
    expectSigned(await status('PAUSE'), '000002');
  });

  it('when expired and then renewed, then the instance is frozen and comes back', async () => {
    const a = await v1Buy(uniqueId('CSV1EXP'));
    const instanceId = a.body.instanceId;
    expectSigned(await h.market.v1('expireInstance', { instanceId, orderId: 'x' }), '000000');
    expect(await tenantStatus(instanceId)).toBe('FROZEN');
    expectSigned(await h.market.v1('refreshInstance', { instanceId, orderId: uniqueId('REN'), expireTime: inDays(400) }), '000000');
    expect(await tenantStatus(instanceId)).toBe('ACTIVE');
    expect((await findInstance(h.pool, instanceId))?.phase).toBe('ACTIVE');
  });
});

describe('the buyer\'s contacts (admin account)', () => {
  const sealedBox = () => createSealedBox(h.config.dataEncryptionKey);
  const PHONE = '+86 138 0013 8000';
  const EMAIL = 'admin.contact@example.org';

  async function contactsOfTenant(instanceId: string): Promise<unknown> {
    const r = await h.pool.query<{ admin_contacts_sealed: string | null }>('SELECT admin_contacts_sealed FROM tenants WHERE instance_id = $1', [instanceId]);
    const sealed = r.rows[0]?.admin_contacts_sealed;
    return sealed ? sealedBox().openJson(sealed) : undefined;
  }

  /** The order's whole history with every payload decoded, so a plain-text contact in it would show. */
  async function historyText(workflowId: string): Promise<string> {
    const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
    // Payload bytes come as Uint8Array or, in the JSON form, as base64 strings under `data`.
    return JSON.stringify(history, (k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v,
    );
  }

  const v1Purchase = (orderId: string, extra: Record<string, string>) =>
    h.market.v1('newInstance', { businessId: randomUUID(), orderId, customerId: uniqueId('c'), productId: 'prod-v1', skuCode: 'sku-v1', chargingMode: '3', ...extra });

  it('when a V1 purchase sends mobilePhone and email encrypted, then the tenant\'s admin account gets them, and they are nowhere in plain text', async () => {
    const orderId = uniqueId('CSV1CONTACT');
    const a = await v1Purchase(orderId, { mobilePhone: encryptField(TEST_ACCESS_KEY, PHONE), email: encryptField(TEST_ACCESS_KEY, EMAIL) });
    expectSigned(a, '000000');
    const instanceId = a.body.instanceId as string;
    expect(await contactsOfTenant(instanceId)).toEqual({ mobilePhone: PHONE, email: EMAIL });
    const workflowId = orderWorkflowId({ kind: 'v1-order', orderId });
    const history = await historyText(workflowId);
    expect(history).toContain('buyerContactsSealed');
    expect(history).not.toContain(EMAIL);
    expect(history).not.toContain('0013 8000');
    expect(h.logLines.join('')).not.toContain(EMAIL);
    const row = await h.pool.query('SELECT row_to_json(i)::text AS row FROM instances i WHERE instance_id = $1', [instanceId]);
    expect(row.rows[0].row).not.toContain(EMAIL);
  });

  it('when a V1 mobilePhone cannot be decrypted, then 000101 and nothing is created', async () => {
    const orderId = uniqueId('CSV1BADPHONE');
    const a = await v1Purchase(orderId, { mobilePhone: encryptField('some-other-key', PHONE) });
    expectSigned(a, '000101');
    expect(a.body.resultMsg).toMatch(/mobilePhone/);
    expect(await instanceCount(orderId)).toBe(0);
  });

  it('when the provisioner refuses the buyer\'s e-mail (V1) or mobile number (V2), then the purchase answers 000102 / 000101 and no tenant is left', async () => {
    h.provisionerFaults.faults.failNext('create', 1, 'EMAIL_REJECTED');
    const v1 = await v1Purchase(uniqueId('CSV1MAIL'), { email: encryptField(TEST_ACCESS_KEY, EMAIL) });
    expectSigned(v1, '000102');
    expect(await tenantCount(v1.body.instanceId as string)).toBe(0);

    h.provisionerFaults.faults.failNext('create', 1, 'MOBILE_REJECTED');
    const v2 = await buyV2({ mobilePhone: '13800138000' });
    expectSigned(v2.answer, '000101');
    expect(await tenantCount(v2.businessId)).toBe(0);
    expect((await findInstance(h.pool, v2.businessId))).toMatchObject({ phase: 'FAILED', resultCode: '000101' });
    // The marketplace retries; once the merchant's side accepts the contact, the same purchase succeeds.
    const retry = await h.market.v2({ activity: 'newInstance', orderId: v2.order.orderId, orderLineId: v2.line, businessId: randomUUID() });
    expectSigned(retry, '000000');
    expect(retry.body.instanceId).toBe(v2.businessId);
    expect(await contactsOfTenant(v2.businessId)).toEqual({ mobilePhone: '13800138000' });
  });

  it('when Query Order names the V2 buyer\'s contacts, then the tenant\'s admin account gets them', async () => {
    const { answer, instanceId } = await buyV2({ mobilePhone: '13800138001', email: EMAIL });
    expectSigned(answer, '000000');
    expect(await contactsOfTenant(instanceId)).toEqual({ mobilePhone: '13800138001', email: EMAIL });
  });
});

describe('bad input never changes state and is always signed', () => {
  /** Rows any of the requests below could have created (other test files write other orders at the same time). */
  async function countRows(orderIds: string[], instanceIds: string[]): Promise<number> {
    const r = await h.pool.query(
      `SELECT (SELECT count(*) FROM instances WHERE order_id = ANY($1::text[]) OR instance_id = ANY($2::text[]))::int
            + (SELECT count(*) FROM tenants WHERE instance_id = ANY($2::text[]))::int AS n`,
      [orderIds, instanceIds],
    );
    return r.rows[0].n;
  }

  it('when requests are unsigned, mis-signed, stale, replayed, malformed or unknown, then each gets its code and nothing changes', async () => {
    const order = yearlyOrder();
    const good = aV2PurchaseBody(lineOf(order));
    const touched = (): Promise<number> => countRows([order.orderId, 'o', 'X'.repeat(65)], [good.businessId, 'b']);
    const before = await touched();
    expect(before).toBe(0);
    const nonce = randomUUID().replace(/-/g, '');
    // a legitimate call consumes `nonce` below; afterwards the replay must fail
    const cases: Array<[string, () => Promise<ProductionAnswer>, string]> = [
      ['no signature', () => h.market.raw({ method: 'POST', body: good }), '000001'],
      ['wrong signature', () => h.market.v2(good, { signature: 'AB'.repeat(32) }), '000001'],
      ['stale timestamp', () => h.market.v2(good, { timestamp: String(Date.now() - 120_000) }), '000001'],
      ['future timestamp', () => h.market.v2(good, { timestamp: String(Date.now() + 120_000) }), '000001'],
      ['malformed JSON', () => signedRaw('{"activity":"newInstance",'), '000002'],
      ['unknown activity', () => h.market.v2({ ...good, activity: 'mineBitcoin' }), '000002'],
      ['missing orderLineId', () => h.market.v2({ activity: 'newInstance', orderId: order.orderId, businessId: randomUUID() }), '000002'],
      ['over-long orderId', () => h.market.v2({ ...good, orderId: 'X'.repeat(65) }), '000002'],
      ['oversized body', () => signedRaw(JSON.stringify({ ...good, pad: 'x'.repeat(h.config.http.maxBodyBytes + 10) })), '000002'],
      ['bad V1 token', () => h.market.raw({ method: 'GET', query: { activity: 'newInstance', orderId: 'o', businessId: 'b', customerId: 'c', timeStamp: '20200727073711903', authToken: 'nope' } }), '000001'],
    ];
    for (const [name, send, code] of cases) {
      const a = await send();
      expect(a.status, name).toBe(200);
      expect(a.bodySignValid, name).toBe(true);
      expect(a.body?.resultCode, name).toBe(code);
      expect(a.rawBody, name).not.toMatch(/at .*\.ts:\d+|Error:/);
    }
    expect(await touched()).toBe(before);
    // A replayed nonce: the first use passes, the second is refused.
    expectSigned(await h.market.v2({ activity: 'queryInstance', instanceId: 'whatever' }, { nonce }), '000003');
    expectSigned(await h.market.v2({ activity: 'queryInstance', instanceId: 'whatever' }, { nonce }), '000001');
  });

  async function signedRaw(body: string): Promise<ProductionAnswer> {
    const nonce = randomUUID().replace(/-/g, '');
    const timestamp = String(Date.now());
    const signature = computeV2Signature(TEST_ACCESS_KEY, { nonce, timestamp, body });
    return h.market.raw({ method: 'POST', query: { signature, timestamp, nonce }, headers: { 'content-type': 'application/json' }, body });
  }

  it('when paths other than the production interface are called, then a clear HTTP error, no stack trace', async () => {
    const res = await fetch(h.baseUrl.replace('/koogallery/saas', '/nope'));
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('at ');
  });
});
