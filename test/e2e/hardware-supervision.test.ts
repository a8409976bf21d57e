import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInstance } from '../../src/orders/store.js';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import { firstLineId } from '../../tools/simulator/order-book.js';
import { supervisionWorkflowId } from '../../src/supervision/contract.js';
import { orderWorkflowId } from '../../src/orders/contract.js';
import { startServiceHarness, type ServiceHarness } from '../support/service-harness.js';
import { aSimOrder, aV2PurchaseBody, lineOf } from '../support/factories.js';
import { until } from '../../tools/testing/until.js';

// A hardware order over HTTP, end to end: the marketplace buys (V2 newInstance), the merchant records the
// shipment through the ops API, the courier's sign-for and the user's acceptance arrive as signed order
// notifications followed by Query Order; the order completes and its validity reaches the read model.

const HW_PRODUCT = 'SIM-HW-GATEWAY';
let h: ServiceHarness;

beforeAll(async () => {
  h = await startServiceHarness({ env: { SUPERVISED_PRODUCTS: `${HW_PRODUCT}=HARDWARE` } });
});
afterAll(async () => {
  await h?.close();
});

async function ops(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${h.internalOrigin}/ops${path}`, {
    method,
    headers: { authorization: `Bearer ${h.opsToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

describe('hardware order with service supervision, over HTTP', () => {
  it('when a hardware order is bought, shipped, signed for and accepted, then it completes and its validity starts at acceptance', async () => {
    const order = h.marketplace.orderBook.createOrder(aSimOrder({ productId: HW_PRODUCT, mobilePhone: '13800001234' }));
    const { orderId, orderLineId } = lineOf(order);

    // 1. Purchase through the production interface.
    const bought = await h.market.v2(aV2PurchaseBody({ orderId, orderLineId }));
    expect(bought.bodySignValid).toBe(true);
    expect(['000000', '000004']).toContain(bought.body?.resultCode);

    // 2. Supervision starts at "service provider implements service" (hardware has no requirement step).
    const started = await until('supervision to start', async () => {
      const r = await ops('GET', `/supervision/${orderId}`);
      return r.status === 200 && r.json.supervision ? r.json : undefined;
    });
    expect(started.workflowId).toBe(supervisionWorkflowId(orderWorkflowId({ kind: 'v2-line', orderId, orderLineId })));
    expect(started.state).toMatchObject({ kind: 'HARDWARE', node: 'IMPLEMENTATION', status: 'PROCESSING' });
    // In the Temporal UI the child says what it is.
    const childDescription = await h.client.workflow.getHandle(started.workflowId as string).describe();
    expect(await childDescription.staticSummary()).toBe(`Hardware supervision of order ${orderId} line ${orderLineId}`);

    // 3. An action that does not fit the node: 409 with the reason, node unchanged.
    const early = await ops('POST', `/supervision/${orderId}/actions`, { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'r-1' });
    expect(early.status).toBe(409);
    expect(early.json).toMatchObject({ error: 'CONFLICT', node: 'IMPLEMENTATION' });
    expect(early.json.message).toMatch(/RECORD_SHIPMENT/);
    const bad = await ops('POST', `/supervision/${orderId}/actions`, { type: 'RECORD_SHIPMENT', carrier: 'SF Express' });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/trackingNumber/);

    // 4. The merchant records the shipment: the order moves to the user's acceptance.
    const shipped = await ops('POST', `/supervision/${orderId}/actions`, {
      type: 'RECORD_SHIPMENT',
      carrier: 'SF Express',
      trackingNumber: 'SF1234567890',
      remark: 'fragile',
      deliveryDocuments: ['delivery-note-001.pdf'],
    });
    expect(shipped.status).toBe(200);
    expect(shipped.json.state).toMatchObject({ node: 'USER_ACCEPTANCE', shipment: { carrier: 'SF Express', trackingNumber: 'SF1234567890' } });

    // 5. The courier's sign-for arrives as an order notification; we read it with Query Order.
    h.marketplace.orderBook.addSupervisionEvents(orderId, {
      events: [{ eventId: `${orderId}-signed`, eventType: 'SIGNED_FOR', orderLineId, consigneePhone: '138****1234' }],
    });
    const signedFor = await h.market.orderNotification({ orderId, orderLineId });
    expect(signedFor.bodySignValid).toBe(true);
    expect(signedFor.body?.resultCode).toBe('000000');
    const afterSign = await ops('GET', `/supervision/${orderId}`);
    expect(afterSign.json.state.signFor).toMatchObject({ phoneMismatch: false });
    // The same notification again: its event id is known, so it is skipped before any update and costs the
    // workflow no history.
    const supervisionHandle = h.client.workflow.getHandle(started.workflowId as string);
    await new Promise((r) => setTimeout(r, 300));
    const lengthAfterSign = (await supervisionHandle.describe()).historyLength;
    expect((await h.market.orderNotification({ orderId, orderLineId })).body?.resultCode).toBe('000000');
    await new Promise((r) => setTimeout(r, 300));
    expect((await supervisionHandle.describe()).historyLength).toBe(lengthAfterSign);

    // 6. The user accepts; the same notification delivered twice changes nothing the second time.
    const acceptedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    h.marketplace.orderBook.addSupervisionEvents(orderId, {
      events: [{ eventId: `${orderId}-accepted`, eventType: 'ACCEPTED', orderLineId, eventTime: formatCompactUtc(acceptedAt) }],
    });
    for (let i = 0; i < 2; i++) expect((await h.market.orderNotification({ orderId, orderLineId })).body?.resultCode).toBe('000000');
    const done = await ops('GET', `/supervision/${orderId}`);
    expect(done.json.state).toMatchObject({ node: 'COMPLETED', status: 'COMPLETED', outcome: 'ACCEPTED', acceptedAt: acceptedAt.toISOString() });
    expect(done.json.state.validity).toEqual({
      start: acceptedAt.toISOString(),
      end: new Date(Date.UTC(acceptedAt.getUTCFullYear() + 1, acceptedAt.getUTCMonth(), acceptedAt.getUTCDate(), acceptedAt.getUTCHours(), acceptedAt.getUTCMinutes(), acceptedAt.getUTCSeconds())).toISOString(),
      startedFrom: 'ACCEPTANCE',
    });
    expect(done.json.events.map((e: { event: string }) => e.event)).toEqual(['SUPERVISION_STARTED', 'RECORD_SHIPMENT', 'SIGN_FOR', 'ACCEPT']);

    // 7. The order's read model shows it completed, with the expiry computed from acceptance.
    const instanceId = started.supervision.instanceId as string;
    const row = await until('the order to record its validity', async () => {
      const r = await findInstance(h.pool, instanceId);
      const sup = await h.pool.query<{ supervision_status: string }>('SELECT supervision_status FROM instances WHERE instance_id = $1', [instanceId]);
      return r?.expireTime?.toISOString() === done.json.state.validity.end && sup.rows[0]?.supervision_status === 'COMPLETED' ? r : undefined;
    });
    expect(row.phase).toBe('ACTIVE');
    const story = await ops('GET', `/orders/${instanceId}`);
    expect(story.json.supervision).toMatchObject({ status: 'COMPLETED', node: 'COMPLETED', kind: 'HARDWARE', outcome: 'ACCEPTED' });

    // 8. Listed among completed supervisions; a further action is refused.
    const list = await ops('GET', `/supervision?orderId=${orderId}&status=COMPLETED`);
    expect(list.json.items).toHaveLength(1);
    const late = await ops('POST', `/supervision/${orderId}/actions`, { type: 'ACCEPT' });
    expect(late.status).toBe(409);
    expect(late.json.message).toMatch(/already completed/);

    // 9. The API's gauges count it (read at scrape time).
    const metrics = await (await fetch(`${h.internalOrigin}/metrics`)).text();
    const completed = /^koogallery_supervision_orders\{node="COMPLETED"\} (\d+)$/m.exec(metrics);
    expect(Number(completed?.[1])).toBeGreaterThanOrEqual(1);
    // Notifications are Temporal workflows: the API counts them from visibility (RUNNING, and FAILED dead letters).
    expect(metrics).toMatch(/^koogallery_notification_workflows\{status="FAILED"\} \d+$/m);
  });

  it('when no worker answers an order notification, then a retryable 000005 inside the 5 s, and the retry applies every event once', async () => {
    const order = h.marketplace.orderBook.createOrder(aSimOrder({ productId: HW_PRODUCT, mobilePhone: '13800005678' }));
    const { orderId, orderLineId } = lineOf(order);
    const bought = await h.market.v2(aV2PurchaseBody({ orderId, orderLineId }));
    expect(['000000', '000004']).toContain(bought.body?.resultCode);
    await until('supervision to start', async () => ((await ops('GET', `/supervision/${orderId}`)).json.state?.node === 'IMPLEMENTATION' ? true : undefined));
    expect((await ops('POST', `/supervision/${orderId}/actions`, { type: 'RECORD_SHIPMENT', carrier: 'SF Express', trackingNumber: 'SF-LATE-1' })).status).toBe(200);
    h.marketplace.orderBook.addSupervisionEvents(orderId, {
      events: [
        { eventId: `${orderId}-signed`, eventType: 'SIGNED_FOR', orderLineId, consigneePhone: '138****5678' },
        { eventId: `${orderId}-accepted`, eventType: 'ACCEPTED', orderLineId, eventTime: formatCompactUtc(new Date()) },
      ],
    });
    await h.stopWorker();
    try {
      // The live-state query and each update would wait 4 s apiece for a worker: the call's budget bounds them all.
      const late = await h.market.orderNotification({ orderId, orderLineId });
      expect(late.bodySignValid).toBe(true);
      expect(late.body?.resultCode).toBe('000005');
      expect(late.latencyMs).toBeLessThan(5000);
    } finally {
      await h.startWorker();
    }
    // The marketplace calls again until answered 000000 (the worker that just started may take a call to warm up).
    await until('the notification to be answered 000000', async () => ((await h.market.orderNotification({ orderId, orderLineId })).body?.resultCode === '000000' ? true : undefined));
    const done = await until('the retry to complete the supervision', async () => {
      const r = await ops('GET', `/supervision/${orderId}`);
      return r.json.state?.node === 'COMPLETED' ? r.json : undefined;
    });
    expect(done.events.map((e: { event: string }) => e.event)).toEqual(['SUPERVISION_STARTED', 'RECORD_SHIPMENT', 'SIGN_FOR', 'ACCEPT']);
  });

  it('when an order is not supervised, then its supervision is 404 for reading and for actions', async () => {
    const order = h.marketplace.orderBook.createOrder(aSimOrder({ chargingMode: 'ONE_TIME', productId: 'SAAS-NOT-SUPERVISED' }));
    const bought = await h.market.v2(aV2PurchaseBody(lineOf(order)));
    expect(bought.body?.resultCode).toBe('000000');
    const read = await ops('GET', `/supervision/${order.orderId}`);
    expect(read.status).toBe(404);
    const [instance] = (await h.pool.query<{ instance_id: string }>('SELECT instance_id FROM instances WHERE order_id = $1', [order.orderId])).rows;
    expect((await ops('GET', `/orders/${instance!.instance_id}`)).json.supervision).toBeNull();
    const act = await ops('POST', `/supervision/${order.orderId}/actions`, { type: 'CONFIRM_REQUIREMENT' });
    expect(act.status).toBe(404);
    expect(act.json.message).toMatch(/no supervised order/);
  });

  it('when ops list supervisions in the Temporal UI, then SupervisionNode finds the orders waiting for acceptance', async () => {
    const order = h.marketplace.orderBook.createOrder(aSimOrder({ chargingMode: 'ONE_TIME', productId: HW_PRODUCT }));
    const orderId = order.orderId;
    await h.market.v2(aV2PurchaseBody(lineOf(order)));
    await until('supervision to start', async () => ((await ops('GET', `/supervision/${orderId}`)).status === 200 ? true : undefined));
    expect((await ops('POST', `/supervision/${orderId}/actions`, { type: 'RECORD_SHIPMENT', carrier: 'EMS', trackingNumber: 'E1' })).status).toBe(200);
    const found = await until('visibility to index the node', async () => {
      const ids: string[] = [];
      for await (const wf of h.client.workflow.list({ query: `SupervisionNode = "USER_ACCEPTANCE" AND OrderId = "${orderId}"` })) ids.push(wf.workflowId);
      return ids.length > 0 ? ids : undefined;
    });
    expect(found).toEqual([supervisionWorkflowId(orderWorkflowId({ kind: 'v2-line', orderId, orderLineId: firstLineId(orderId) }))]);
  });
});
