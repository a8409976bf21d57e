import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BODY_SIGN_HEADER, bodySignHeaderValue, extractV2Credentials, verifyV2Signature } from '../../../src/koogallery/index.js';
import { createQueryOrderClient } from '../../../src/marketplace-api/index.js';
import {
  ORDER_NOTIFICATION_PATH,
  OrderBook,
  createOpenApiServer,
  createProductionClient,
  createSimAdminClient,
  type OpenApiServer,
} from '../../../tools/simulator/index.js';

// The simulator's side of service supervision: supervision events stored through the admin API are served by Query
// Order in our assumed shape, and the marketplace stand-in sends signed order notifications.

const AK = 'SIMTESTAK00000000000';
const SK = 'sim-test-secret';
const ACCESS_KEY = 'TestAccessKey-0123456789';

describe('simulator: supervision events in Query Order', () => {
  let server: OpenApiServer;
  let url: string;
  beforeEach(async () => {
    server = createOpenApiServer({ ak: AK, sk: SK, orderBook: new OrderBook({ seedMockOrders: false }) });
    ({ url } = await server.listen());
  });
  afterEach(async () => {
    await server.close();
  });

  const newOrder = () =>
    createSimAdminClient(url).createOrder({
      orderType: 'NEW',
      chargingMode: 'ONE_TIME',
      productId: 'OFFI-HW-1',
      skuCode: 'sku-hw',
      customerId: 'cust-1',
      mobilePhone: '13800000000',
    });

  it('when events are added through the admin client, then Query Order serves them and our client parses them', async () => {
    const admin = createSimAdminClient(url);
    const created = await newOrder();
    const line = created.orderLine[0]!.orderLineId;
    const stored = await admin.addSupervisionEvents(created.orderId, {
      node: 'USER_ACCEPTANCE',
      events: [
        { eventId: 'ev-sign', eventType: 'SIGNED_FOR', eventTime: '20240105060708', consigneePhone: '13900000000', orderLineId: line },
        { eventType: 'ACCEPTED', eventTime: '2024-01-06T00:00:00Z' },
      ],
    });
    expect(stored.serviceSupervision).toEqual({
      node: 'USER_ACCEPTANCE',
      events: [
        { eventId: 'ev-sign', eventType: 'SIGNED_FOR', eventTime: '20240105060708', consigneePhone: '13900000000', orderLineId: line },
        { eventType: 'ACCEPTED', eventTime: '2024-01-06T00:00:00Z' },
      ],
    });
    // A second call appends, and an event without a time gets the time it was added.
    await admin.addSupervisionEvents(created.orderId, { events: [{ eventType: 'LICENSE_ACTIVATED' }] });

    const order = await createQueryOrderClient({ apiBase: url, ak: AK, sk: SK }).queryOrder(created.orderId, line);
    expect(order.buyerInfo?.mobilePhone).toBe('13800000000');
    expect(order.supervision?.node).toBe('USER_ACCEPTANCE');
    expect(order.supervision?.events.slice(0, 2)).toEqual([
      { eventId: 'ev-sign', eventType: 'SIGNED_FOR', eventTime: '2024-01-05T06:07:08.000Z', consigneePhone: '13900000000', orderLineId: line },
      { eventType: 'ACCEPTED', eventTime: '2024-01-06T00:00:00.000Z' },
    ]);
    expect(order.supervision?.events[2]?.eventType).toBe('LICENSE_ACTIVATED');
    expect(Math.abs(Date.parse(order.supervision!.events[2]!.eventTime) - Date.now())).toBeLessThan(60_000);
  });

  it('when the admin body is one event or a bare list, then it is accepted like {events}', async () => {
    const created = await newOrder();
    const post = (body: unknown) =>
      fetch(`${url}/_sim/orders/${created.orderId}/supervision-events`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    expect((await post({ eventType: 'ACCEPTED', eventTime: '20240101000000' })).status).toBe(201);
    expect((await post([{ eventType: 'ACCEPTED', eventTime: '20240102000000' }])).status).toBe(201);
    expect(server.orderBook.get(created.orderId)?.serviceSupervision?.events.map((e) => e.eventTime)).toEqual(['20240101000000', '20240102000000']);
  });

  it('when the order or its line does not exist, or an event has no type, then the admin API refuses (404/400) and stores nothing', async () => {
    const admin = createSimAdminClient(url);
    await expect(admin.addSupervisionEvents('CSNOSUCHORDER00', { events: [{ eventType: 'ACCEPTED' }] })).rejects.toThrow(/HTTP 404/);
    const created = await newOrder();
    await expect(admin.addSupervisionEvents(created.orderId, { events: [{ eventType: 'ACCEPTED', orderLineId: 'nope' }] })).rejects.toThrow(
      /HTTP 400.*no order line nope/,
    );
    await expect(admin.addSupervisionEvents(created.orderId, { events: [{ eventTime: '20240101000000' } as never] })).rejects.toThrow(/HTTP 400/);
    expect(server.orderBook.get(created.orderId)?.serviceSupervision).toBeUndefined();
  });

  it('when Query Order asks for a line, then its events and the order-level ones are served; an unknown order is undefined', () => {
    const book = new OrderBook({ seedMockOrders: false });
    const order = book.createOrder({ orderType: 'NEW', chargingMode: 'ONE_TIME', productId: 'p', skuCode: 's', customerId: 'c' });
    const line = order.orderLine[0]!.orderLineId;
    book.addSupervisionEvents(order.orderId, { events: [{ eventType: 'ACCEPTED', orderLineId: line }, { eventType: 'LICENSE_ACTIVATED' }] });
    expect(book.getWithLine(order.orderId, line)?.serviceSupervision?.events.map((e) => e.eventType)).toEqual(['ACCEPTED', 'LICENSE_ACTIVATED']);
    expect(book.addSupervisionEvents('CSUNKNOWN', { events: [] })).toBeUndefined();
  });
});

describe('production client: order notification', () => {
  let stub: Server;
  let origin: string;
  let received: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }>;
  let signWith: string;

  beforeEach(async () => {
    received = [];
    signWith = ACCESS_KEY;
    stub = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const bytes = Buffer.from(JSON.stringify({ resultCode: '000000', resultMsg: 'success.' }), 'utf8');
        res.writeHead(200, { 'Content-Type': 'application/json', [BODY_SIGN_HEADER]: bodySignHeaderValue(signWith, bytes) });
        res.end(bytes);
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    stub.closeAllConnections();
    await new Promise<void>((resolve) => stub.close(() => resolve()));
  });

  it('when sent, then it POSTs {orderId, orderLineId} to /koogallery/order-notification with a V2 signature that verifies', async () => {
    const client = createProductionClient({ baseUrl: `${origin}/koogallery/saas`, accessKey: ACCESS_KEY });
    const answer = await client.orderNotification({ orderId: 'CS1', orderLineId: 'CS1-000001', extra: { notifyType: 'SUPERVISION', orderId: 'ignored' } });
    expect(answer.body).toEqual({ resultCode: '000000', resultMsg: 'success.' });
    expect(answer.bodySignValid).toBe(true);
    const r = received[0]!;
    const target = new URL(r.url, origin);
    expect([r.method, target.pathname]).toEqual(['POST', ORDER_NOTIFICATION_PATH]);
    expect(JSON.parse(r.body.toString('utf8'))).toEqual({ notifyType: 'SUPERVISION', orderId: 'CS1', orderLineId: 'CS1-000001' });
    const creds = extractV2Credentials(Object.fromEntries(target.searchParams), r.headers);
    expect(creds).toBeDefined();
    expect(verifyV2Signature(ACCESS_KEY, creds!, r.body, { nowMs: Date.now() })).toEqual({ ok: true, timestampMs: Number(creds!.timestamp) });
    expect(verifyV2Signature('another-key', creds!, r.body, { nowMs: Date.now() }).ok).toBe(false);
  });

  it('when the answer is signed with another key, then bodySignValid is false', async () => {
    signWith = 'another-key';
    const answer = await createProductionClient({ baseUrl: `${origin}/koogallery/saas`, accessKey: ACCESS_KEY }).orderNotification({ orderId: 'CS1' });
    expect(answer.body?.resultCode).toBe('000000');
    expect(answer.bodySignValid).toBe(false);
    expect(JSON.parse(received[0]!.body.toString('utf8'))).toEqual({ orderId: 'CS1' });
  });

  it('when a notification URL and header mode are given, then they are used', async () => {
    const client = createProductionClient({ baseUrl: `${origin}/koogallery/saas`, accessKey: ACCESS_KEY, notificationUrl: `${origin}/custom/notify?x=1`, headerMode: 'headers' });
    await client.orderNotification({ orderId: 'CS2' }, { nonce: 'fixed-nonce-0001' });
    const r = received[0]!;
    expect(r.url).toBe('/custom/notify?x=1');
    expect(r.headers['x-nonce']).toBe('fixed-nonce-0001');
    const creds = extractV2Credentials({}, r.headers)!;
    expect(verifyV2Signature(ACCESS_KEY, creds, r.body, { nowMs: Date.now() }).ok).toBe(true);
  });
});
