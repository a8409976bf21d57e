import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiMetrics } from '../../../src/platform/http/metrics.js';
import {
  ORDER_NOTIFICATION_PATH,
  orderNotificationRouter,
  parseOrderNotification,
  type SupervisionPort,
} from '../../../src/supervision/notification-routes.js';
import { recordInboxEntry, type InboxEntry } from '../../../src/production-interface/inbox-store.js';
import { createNonceStore } from '../../../src/production-interface/nonce-store.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { computeV2Signature } from '../../../src/koogallery/index.js';
import { createQueryOrderClient, type MarketplaceOrder } from '../../../src/marketplace-api/index.js';
import type { SupervisionAction } from '../../../src/supervision/contract.js';
import {
  OrderBook,
  createOpenApiServer,
  createProductionClient,
  createSimAdminClient,
  encodeQuery,
  type OpenApiServer,
  type ProductionClient,
} from '../../../tools/simulator/index.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { aQueryOrderResult, aSimOrder } from '../../support/factories.js';

// The order-notification endpoint in-process: a real V2 signature from the marketplace stand-in, the real nonce
// store in PostgreSQL, the real Query Order client against the simulator, and a recording supervision port.
// Split by effect: the answer (code, Body-Sign), the outgoing calls (Query Order, port), and the records (inbox, logs).

const ACCESS_KEY = 'NotifyTestAccessKey-0123456789';
const AK = 'NOTIFYTESTAK00000000';
const SK = 'notify-test-secret';

type PortResult = Awaited<ReturnType<SupervisionPort['applyMarketplaceActions']>>;
interface PortCall {
  ref: { orderId: string; orderLineId?: string };
  actions: SupervisionAction[];
}

let pool: Pool;
let sim: OpenApiServer;
let simUrl: string;
let server: Server;
let market: ProductionClient;
/** Signed V2 calls straight to the notification URL (odd bodies), and raw unsigned ones. */
let notify: ProductionClient;
let notifyUrl: string;
const metrics = createApiMetrics();
const logs: Array<Record<string, unknown>> = [];
const inbox: InboxEntry[] = [];
const portCalls: PortCall[] = [];
let portAnswer: (actions: readonly SupervisionAction[]) => Promise<PortResult>;
let queryOrderOverride: ((orderId: string, orderLineId?: string) => Promise<MarketplaceOrder>) | undefined;

const applyAll = async (actions: readonly SupervisionAction[]): Promise<PortResult> =>
  actions.map((a) => ({ type: a.type, ...(a.eventId ? { eventId: a.eventId } : {}), outcome: 'applied' as const }));

beforeAll(async () => {
  pool = createPool({ url: testInfra().databaseUrl, max: 2, applicationName: 'order-notification-test' });
  sim = createOpenApiServer({ ak: AK, sk: SK, orderBook: new OrderBook({ seedMockOrders: false }) });
  ({ url: simUrl } = await sim.listen());
  const queryOrderClient = createQueryOrderClient({ apiBase: simUrl, ak: AK, sk: SK, timeoutMs: 1000 });
  const supervision: SupervisionPort = {
    async applyMarketplaceActions(ref, actions) {
      portCalls.push({ ref: { ...ref }, actions: [...actions] });
      return portAnswer(actions);
    },
  };
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const app = express();
  app.set('query parser', 'simple');
  app.use(
    ORDER_NOTIFICATION_PATH,
    orderNotificationRouter({
      accessKey: ACCESS_KEY,
      maxBodyBytes: 4096,
      v2ToleranceMs: 60_000,
      nonces: createNonceStore(pool),
      queryOrder: (orderId, orderLineId) => (queryOrderOverride ?? queryOrderClient.queryOrder)(orderId, orderLineId),
      supervision,
      budgetMs: 3500,
      logger,
      metrics,
      recordInbox: async (e) => {
        inbox.push(e);
        await recordInboxEntry(pool, e);
      },
    }),
  );
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The production-interface URL the marketplace knows; the notification URL is derived from its origin.
  market = createProductionClient({ baseUrl: `${origin}/koogallery/saas`, accessKey: ACCESS_KEY });
  notifyUrl = `${origin}${ORDER_NOTIFICATION_PATH}`;
  notify = createProductionClient({ baseUrl: notifyUrl, accessKey: ACCESS_KEY });
});

afterAll(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await sim?.close();
  await pool?.end();
});

beforeEach(() => {
  portCalls.length = 0;
  logs.length = 0;
  inbox.length = 0;
  portAnswer = applyAll;
  queryOrderOverride = undefined;
  sim.faults.reset();
  sim.calls.length = 0;
});

function newOrder(mobilePhone?: string) {
  const order = sim.orderBook.createOrder(aSimOrder({ chargingMode: 'ONE_TIME', ...(mobilePhone ? { mobilePhone } : {}) }));
  return { orderId: order.orderId, orderLineId: order.orderLine[0]!.orderLineId };
}

const requestCount = async (code: string): Promise<number> =>
  (await metrics.requests.get()).values.find((v) => v.labels.activity === 'orderNotification' && v.labels.result_code === code)?.value ?? 0;

/** A V2-signed POST of exact body bytes to the notification URL. */
function signedRaw(body: string) {
  const nonce = randomBytes(16).toString('hex');
  const timestamp = String(Date.now());
  const signature = computeV2Signature(ACCESS_KEY, { nonce, timestamp, body });
  return notify.raw({ method: 'POST', query: encodeQuery({ signature, timestamp, nonce }), headers: { 'Content-Type': 'application/json' }, body });
}

describe('order notification: a good call', () => {
  it('when a signed notification names an order with supervision events, then it answers 000000 with a valid Body-Sign and the port gets the mapped actions oldest first', async () => {
    const { orderId, orderLineId } = newOrder();
    sim.orderBook.addSupervisionEvents(orderId, {
      events: [
        { eventId: 'ev-accept', eventType: 'ACCEPTED', eventTime: '20240110000000' },
        { eventType: 'REQUIREMENT_SUBMITTED', eventTime: '20240101000000', attachments: ['req.pdf'], note: 'asap', orderLineId },
        { eventId: 'ev-other', eventType: 'SOMETHING_ELSE', eventTime: '20240102000000' },
      ],
    });
    const before = await requestCount('000000');

    const answer = await market.orderNotification({ orderId, orderLineId });

    // The answer
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ resultCode: '000000', resultMsg: 'success.' });
    expect(answer.bodySignValid).toBe(true);
    expect(answer.bodySignHeaderName).toBe('Body-Sign');
    // The outgoing calls
    expect(sim.calls.map((c) => [c.path, c.query.orderId, c.query.orderLineId, c.authorized])).toEqual([
      ['/api/mkp-openapi-public/global/v1/order/query', orderId, orderLineId, true],
    ]);
    expect(portCalls).toEqual([
      {
        ref: { orderId, orderLineId },
        actions: [
          {
            source: 'MARKETPLACE',
            eventId: 'REQUIREMENT_SUBMITTED:2024-01-01T00:00:00.000Z',
            at: '2024-01-01T00:00:00.000Z',
            type: 'SUBMIT_REQUIREMENT',
            attachments: ['req.pdf'],
            note: 'asap',
          },
          { source: 'MARKETPLACE', eventId: 'ev-accept', at: '2024-01-10T00:00:00.000Z', type: 'ACCEPT' },
        ],
      },
    ]);
    // The records
    expect(inbox).toEqual([
      expect.objectContaining({ interfaceVersion: 'V2', activity: 'orderNotification', orderId, orderLineId, resultCode: '000000', httpStatus: 200 }),
    ]);
    expect(inbox[0]!.refusal).toBeUndefined();
    const answered = logs.filter((l) => l.msg === 'order notification answered');
    expect(answered).toEqual([expect.objectContaining({ orderId, orderLineId, code: '000000', actions: 2, applied: 2, ignoredEvents: 1 })]);
    expect(await requestCount('000000')).toBe(before + 1);
    await expect.poll(async () => (await pool.query('SELECT activity, result_code FROM marketplace_inbox WHERE order_id = $1', [orderId])).rows).toEqual([
      { activity: 'orderNotification', result_code: '000000' },
    ]);
  });

  it('when the simulator holds a courier sign-for, then the port receives SIGN_FOR with the consignee phone and the buyer phone (round trip over the admin API)', async () => {
    const admin = createSimAdminClient(simUrl);
    const created = await admin.createOrder(aSimOrder({ chargingMode: 'ONE_TIME', mobilePhone: '13800000000' }));
    await admin.addSupervisionEvents(created.orderId, {
      events: [{ eventId: 'courier-1', eventType: 'SIGNED_FOR', eventTime: '20240105060708', consigneePhone: '13900000000' }],
    });

    // No orderLineId in the notification: the order's only line is the one supervised.
    const answer = await market.orderNotification({ orderId: created.orderId });

    expect(answer.body?.resultCode).toBe('000000');
    expect(answer.bodySignValid).toBe(true);
    expect(portCalls).toEqual([
      {
        ref: { orderId: created.orderId, orderLineId: created.orderLine[0]!.orderLineId },
        actions: [
          {
            source: 'MARKETPLACE',
            eventId: 'courier-1',
            at: '2024-01-05T06:07:08.000Z',
            type: 'SIGN_FOR',
            consigneePhone: '13900000000',
            userPhone: '13800000000',
          },
        ],
      },
    ]);
    // Phones are personal data: not in any log line.
    expect(JSON.stringify(logs)).not.toContain('13900000000');
  });

  it('when the order has no supervision events, then it answers 000000 without calling the port', async () => {
    const { orderId } = newOrder();
    const answer = await market.orderNotification({ orderId, extra: { notifyType: 'ORDER_CHANGED', testFlag: '1' } });
    expect(answer.body?.resultCode).toBe('000000');
    expect(answer.bodySignValid).toBe(true);
    expect(portCalls).toEqual([]);
    expect(inbox).toEqual([expect.objectContaining({ orderId, testFlag: true, resultCode: '000000' })]);
  });

  it('when the notification names no line and the order has two, then each line gets its own events and the order-level ones', async () => {
    queryOrderOverride = async (orderId) =>
      aQueryOrderResult({
        orderId,
        lineIds: [`${orderId}-000001`, `${orderId}-000002`],
        supervision: {
          events: [
            { eventId: 'both', eventType: 'LICENSE_ACTIVATED', eventTime: '2024-01-02T00:00:00.000Z' },
            { eventId: 'second', eventType: 'ACCEPTED', eventTime: '2024-01-01T00:00:00.000Z', orderLineId: `${orderId}-000002` },
          ],
        },
      });
    const answer = await market.orderNotification({ orderId: 'CSTWOLINES00001' });
    expect(answer.body?.resultCode).toBe('000000');
    expect(portCalls.map((c) => [c.ref.orderLineId, c.actions.map((a) => a.eventId)])).toEqual([
      ['CSTWOLINES00001-000001', ['both']],
      ['CSTWOLINES00001-000002', ['second', 'both']],
    ]);
  });
});

describe('order notification: refusals are signed and reach nothing', () => {
  it('when the signature is wrong, then it answers 000001 with a valid Body-Sign, and neither Query Order nor the port is called', async () => {
    const { orderId } = newOrder();
    const answer = await market.orderNotification({ orderId }, { signature: 'A'.repeat(64) });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ resultCode: '000001', resultMsg: 'authentication failed.' });
    expect(answer.bodySignValid).toBe(true);
    expect(sim.calls).toEqual([]);
    expect(portCalls).toEqual([]);
    expect(inbox).toEqual([expect.objectContaining({ activity: 'orderNotification', resultCode: '000001', refusal: 'signature mismatch' })]);
    expect(logs).toEqual([expect.objectContaining({ msg: 'order notification refused', level: 40, reason: 'signature mismatch' })]);
  });

  it('when the signature is missing or the timestamp stale, then it answers 000001', async () => {
    const { orderId } = newOrder();
    const unsigned = await notify.raw({ method: 'POST', body: { orderId } });
    expect([unsigned.body?.resultCode, unsigned.bodySignValid]).toEqual(['000001', true]);
    const stale = await market.orderNotification({ orderId }, { timestamp: String(Date.now() - 10 * 60_000) });
    expect([stale.body?.resultCode, stale.bodySignValid]).toEqual(['000001', true]);
    expect(inbox.map((e) => e.refusal)).toEqual(['signature missing', 'signature stale']);
    expect(portCalls).toEqual([]);
  });

  it('when a nonce is replayed, then the replay answers 000001 and the port is called once', async () => {
    const { orderId } = newOrder();
    sim.orderBook.addSupervisionEvents(orderId, { events: [{ eventId: 'once', eventType: 'ACCEPTED', eventTime: '20240101000000' }] });
    const nonce = uniqueId('nonce');
    const timestamp = String(Date.now());
    const first = await market.orderNotification({ orderId }, { nonce, timestamp });
    const replay = await market.orderNotification({ orderId }, { nonce, timestamp });
    expect(first.body?.resultCode).toBe('000000');
    expect(replay.body).toEqual({ resultCode: '000001', resultMsg: 'authentication failed.' });
    expect(replay.bodySignValid).toBe(true);
    expect(portCalls).toHaveLength(1);
    expect(inbox.map((e) => [e.resultCode, e.refusal])).toEqual([
      ['000000', undefined],
      ['000001', 'nonce replayed'],
    ]);
  });

  it.each([
    ['a body that is not JSON', '{"orderId":', 'body is not JSON'],
    ['a JSON array', '["CS1"]', 'body is not a JSON object'],
    ['no orderId', '{"orderLineId":"CS1-000001"}', 'orderId missing'],
    ['an orderId that is an object', '{"orderId":{"id":"CS1"}}', 'orderId invalid'],
    ['an orderId with spaces', '{"orderId":"CS 1"}', 'orderId invalid'],
    ['an orderId longer than 64', JSON.stringify({ orderId: 'C'.repeat(65) }), 'orderId invalid'],
    ['an orderLineId that is a list', '{"orderId":"CS1","orderLineId":["a"]}', 'orderLineId invalid'],
  ])('when the signed body has %s, then it answers 000002 signed and calls nothing', async (_label, body, reason) => {
    const answer = await signedRaw(body);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ resultCode: '000002', resultMsg: `invalid request: ${reason}` });
    expect(answer.bodySignValid).toBe(true);
    expect(sim.calls).toEqual([]);
    expect(portCalls).toEqual([]);
    expect(inbox).toEqual([
      expect.objectContaining({ resultCode: '000002', refusal: reason, bodySha256: createHash('sha256').update(body).digest('hex') }),
    ]);
  });

  it('when the method is not POST or the body is too large, then it answers 000002 signed', async () => {
    const get = await notify.raw({ method: 'GET' });
    expect([get.status, get.body?.resultCode, get.bodySignValid]).toEqual([200, '000002', true]);
    const big = await signedRaw(JSON.stringify({ orderId: 'CS1', padding: 'x'.repeat(5000) }));
    expect([big.status, big.body, big.bodySignValid]).toEqual([200, { resultCode: '000002', resultMsg: 'invalid request: body too large' }, true]);
    expect(portCalls).toEqual([]);
  });

  it('when Query Order does not know the order, then it answers 000002 (not 000003: no instance is named) and calls no port', async () => {
    const answer = await market.orderNotification({ orderId: uniqueId('CSNOSUCH') });
    expect(answer.body).toEqual({ resultCode: '000002', resultMsg: 'invalid request: order not found' });
    expect(answer.bodySignValid).toBe(true);
    expect(sim.calls.map((c) => c.resultCode)).toEqual(['MKT.0404']);
    expect(portCalls).toEqual([]);
  });
});

describe('order notification: failures are retryable, and refused actions are not', () => {
  it('when Query Order is down, then it answers 000005 (retryable) signed, and the port is not called', async () => {
    const { orderId } = newOrder();
    sim.orderBook.addSupervisionEvents(orderId, { events: [{ eventType: 'ACCEPTED', eventTime: '20240101000000' }] });
    sim.faults.failNext(1, 503);
    const answer = await market.orderNotification({ orderId });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ resultCode: '000005', resultMsg: 'internal error; please retry.' });
    expect(answer.bodySignValid).toBe(true);
    expect(portCalls).toEqual([]);
    expect(logs).toEqual([expect.objectContaining({ msg: 'order notification failed', orderId, marketplaceError: 'MARKETPLACE_UNAVAILABLE' })]);
    expect(answer.rawBody).not.toMatch(/at .*\.ts|Error/);

    // The marketplace's retry (a fresh nonce) then goes through.
    const retry = await market.orderNotification({ orderId });
    expect(retry.body?.resultCode).toBe('000000');
    expect(portCalls).toHaveLength(1);
  });

  it('when the port throws, then it answers 000005 signed without a stack trace', async () => {
    const { orderId } = newOrder();
    sim.orderBook.addSupervisionEvents(orderId, { events: [{ eventType: 'ACCEPTED', eventTime: '20240101000000' }] });
    portAnswer = async () => {
      throw new Error('Temporal unreachable');
    };
    const answer = await market.orderNotification({ orderId });
    expect(answer.body).toEqual({ resultCode: '000005', resultMsg: 'internal error; please retry.' });
    expect(answer.bodySignValid).toBe(true);
    expect(portCalls).toHaveLength(1);
    expect(inbox).toEqual([expect.objectContaining({ orderId, resultCode: '000005' })]);
    expect(logs).toEqual([expect.objectContaining({ msg: 'order notification failed', orderId, reason: 'supervision port failed', err: 'Temporal unreachable' })]);
  });

  it('when the port refuses some actions or finds no supervision, then it still answers 000000 and logs each at warn with the orderId and reason', async () => {
    const { orderId, orderLineId } = newOrder();
    sim.orderBook.addSupervisionEvents(orderId, {
      events: [
        { eventId: 'a', eventType: 'REQUIREMENT_SUBMITTED', eventTime: '20240101000000' },
        { eventId: 'b', eventType: 'ACCEPTED', eventTime: '20240102000000' },
        { eventId: 'c', eventType: 'LICENSE_ACTIVATED', eventTime: '20240103000000' },
      ],
    });
    portAnswer = async (actions) => [
      { type: actions[0]!.type, eventId: 'a', outcome: 'duplicate' },
      { type: actions[1]!.type, eventId: 'b', outcome: 'refused', reason: 'ACCEPT is not allowed at node IMPLEMENTATION' },
      { type: actions[2]!.type, eventId: 'c', outcome: 'no-supervision', reason: 'order line has no supervision' },
    ];
    const answer = await market.orderNotification({ orderId, orderLineId });
    expect(answer.body).toEqual({ resultCode: '000000', resultMsg: 'success.' });
    expect(answer.bodySignValid).toBe(true);
    const warned = logs.filter((l) => l.level === 40);
    expect(warned).toEqual([
      expect.objectContaining({
        msg: 'order notification: supervision actions not applied',
        orderId,
        actions: [
          { orderLineId, type: 'ACCEPT', eventId: 'b', outcome: 'refused', reason: 'ACCEPT is not allowed at node IMPLEMENTATION' },
          { orderLineId, type: 'ACTIVATE_LICENSE', eventId: 'c', outcome: 'no-supervision', reason: 'order line has no supervision' },
        ],
      }),
    ]);
    expect(logs.filter((l) => l.msg === 'order notification answered')).toEqual([
      expect.objectContaining({ orderId, code: '000000', applied: 0, duplicate: 1, refused: 1, noSupervision: 1 }),
    ]);
  });
});

describe('parseOrderNotification', () => {
  it('when the ids sit at the top level, inside orderInfo or data, or are numbers, then they are read; other fields are ignored', () => {
    expect(parseOrderNotification({ orderId: ' CS1 ', orderLineId: 'CS1-000001', activity: 'x', testFlag: '0' })).toEqual({
      ok: true,
      body: { orderId: 'CS1', orderLineId: 'CS1-000001', testFlag: false },
    });
    expect(parseOrderNotification({ orderInfo: { orderId: 'CS2' } })).toEqual({ ok: true, body: { orderId: 'CS2' } });
    expect(parseOrderNotification({ data: { orderId: 123, orderLineId: '' }, testFlag: 1 })).toEqual({ ok: true, body: { orderId: '123', testFlag: true } });
    expect(parseOrderNotification({ orderId: null })).toEqual({ ok: false, reason: 'orderId missing' });
  });
});
