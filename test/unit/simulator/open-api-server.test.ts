import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueryOrderClient, MarketplaceErrorCode, QUERY_ORDER_PATH, signRequest } from '../../../src/marketplace-api/index.js';
import {
  MOCK_ORDER_IDS,
  OrderBook,
  createOpenApiServer,
  createSimAdminClient,
  type OpenApiServer,
} from '../../../tools/simulator/index.js';

const AK = 'SIMTESTAK00000000000';
const SK = 'sim-test-secret';

let server: OpenApiServer;
let url: string;

beforeEach(async () => {
  server = createOpenApiServer({ ak: AK, sk: SK, orderBook: new OrderBook() });
  ({ url } = await server.listen());
});
afterEach(async () => {
  await server.close();
});

const queryUrl = (orderId: string, orderLineId = `${orderId}-000001`): string =>
  `${url}${QUERY_ORDER_PATH}?orderId=${encodeURIComponent(orderId)}&orderLineId=${encodeURIComponent(orderLineId)}`;

async function signedGet(target: string, sk = SK): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers = signRequest({ method: 'GET', url: target, ak: AK, sk });
  const res = await fetch(target, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('open-API simulator: Query Order', () => {
  it('serves every mock order to a request signed by signRequest', async () => {
    const client = createQueryOrderClient({ apiBase: url, ak: AK, sk: SK });
    for (const orderId of MOCK_ORDER_IDS) {
      const order = await client.queryOrder(orderId, `${orderId}-000001`);
      expect(order.orderId).toBe(orderId);
      expect(order.line.orderLineId).toBe(`${orderId}-000001`);
      expect(order.line.productInfo[0]?.productId).toBeTruthy();
      expect(order.buyerInfo?.customerId).toBeTruthy();
    }
    const yearly = await client.queryOrder('MOCKPERIODYEARNEW');
    expect(yearly).toMatchObject({ orderType: 'NEW', line: { chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1 } });
    expect(yearly.line.expireTime).toMatch(/^\d{14}$/);
    expect((await client.queryOrder('MOCKONDEMAND')).line.chargingMode).toBe('ON_DEMAND');
    expect((await client.queryOrder('MOCKMONTYUNSUBSCRIBE')).line.orderAmount).toMatch(/^-/);
    expect(server.calls.every((c) => c.authorized === true && c.status === 200 && c.ak === AK)).toBe(true);
  });

  it('answers 401 APIGW.0301 to a tampered request or a wrong secret', async () => {
    const target = queryUrl('MOCKPERIODYEARNEW');
    const headers = signRequest({ method: 'GET', url: target, ak: AK, sk: SK });
    const tampered = await fetch(target.replace('MOCKPERIODYEARNEW&', 'MOCKONETIMENEW&'), { headers });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toEqual({ error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information' });
    expect((await signedGet(target, 'wrong-secret')).status).toBe(401);
    expect((await fetch(target)).status).toBe(401);
    expect(server.calls.map((c) => [c.authorized, c.authFailure])).toEqual([
      [false, 'signature mismatch'],
      [false, 'signature mismatch'],
      [false, 'missing Authorization header'],
    ]);
    const client = createQueryOrderClient({ apiBase: url, ak: AK, sk: 'wrong-secret' });
    await expect(client.queryOrder('MOCKPERIODYEARNEW')).rejects.toMatchObject({ code: MarketplaceErrorCode.AuthRejected });
  });

  it('answers a not-found code for an unknown order or line', async () => {
    expect(await signedGet(queryUrl('NOSUCHORDER'))).toEqual({ status: 200, body: { resultCode: 'MKT.0404', resultMsg: 'order not found' } });
    expect((await signedGet(queryUrl('MOCKPERIODYEARNEW', 'MOCKPERIODYEARNEW-000002'))).body['resultCode']).toBe('MKT.0404');
    const client = createQueryOrderClient({ apiBase: url, ak: AK, sk: SK });
    await expect(client.queryOrder('NOSUCHORDER')).rejects.toMatchObject({ code: MarketplaceErrorCode.OrderNotFound });
  });

  it('records calls with their query', async () => {
    await signedGet(queryUrl('MOCKONETIMENEW'));
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]).toMatchObject({
      method: 'GET',
      path: QUERY_ORDER_PATH,
      query: { orderId: 'MOCKONETIMENEW', orderLineId: 'MOCKONETIMENEW-000001' },
      status: 200,
      resultCode: 'MKT.0000',
    });
  });
});

describe('open-API simulator: faults', () => {
  it('failNext(n, status) fails the next n calls, then serves again', async () => {
    server.faults.failNext(2, 503);
    const target = queryUrl('MOCKPERIODYEARNEW');
    expect((await signedGet(target)).status).toBe(503);
    expect((await signedGet(target)).status).toBe(503);
    expect((await signedGet(target)).status).toBe(200);
    expect(server.calls.map((c) => c.fault)).toEqual(['failNext(503)', 'failNext(503)', undefined]);
  });

  it('a 500 from the primary sends the client to a fallback simulator', async () => {
    const fallback = createOpenApiServer({ ak: AK, sk: SK });
    const { url: fallbackUrl } = await fallback.listen();
    try {
      server.faults.failNext(1);
      const client = createQueryOrderClient({ apiBase: url, fallbackBase: fallbackUrl, ak: AK, sk: SK });
      expect((await client.queryOrder('MOCKMONTYRENEW')).orderType).toBe('RENEW');
      expect(server.calls).toHaveLength(1);
      expect(fallback.calls).toHaveLength(1);
    } finally {
      await fallback.close();
    }
  });

  it('delayMs delays every call until reset(); a short client timeout turns it into MARKETPLACE_UNAVAILABLE', async () => {
    server.faults.delayMs = 300;
    const client = createQueryOrderClient({ apiBase: url, ak: AK, sk: SK, timeoutMs: 100 });
    await expect(client.queryOrder('MOCKPERIODYEARNEW')).rejects.toMatchObject({ code: 'MARKETPLACE_UNAVAILABLE', retryable: true });
    const started = Date.now();
    expect((await signedGet(queryUrl('MOCKPERIODYEARNEW'))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    server.faults.failNext(3);
    server.faults.reset();
    expect(server.faults.delayMs).toBe(0);
    expect(server.faults.pendingFailures).toBe(0);
    expect((await signedGet(queryUrl('MOCKPERIODYEARNEW'))).status).toBe(200);
  });
});

describe('open-API simulator: admin API', () => {
  it('creates orders that Query Order then serves, lists calls, sets faults', async () => {
    const admin = createSimAdminClient(url);
    const order = await admin.createOrder({
      orderType: 'NEW',
      chargingMode: 'PERIOD',
      periodType: 'month',
      periodNumber: 3,
      productId: 'OFFI000000000000000009',
      skuCode: 'sku-x',
      customerId: 'cust-x',
      orderAmount: '300',
    });
    expect(order.orderId).toMatch(/^CS[A-Z0-9]{13}$/);
    expect(order.orderLine[0]?.orderLineId).toBe(`${order.orderId}-000001`);
    expect(order.orderLine[0]?.expireTime).toMatch(/^\d{14}$/);

    const client = createQueryOrderClient({ apiBase: url, ak: AK, sk: SK });
    const fetched = await client.queryOrder(order.orderId, `${order.orderId}-000001`);
    expect(fetched).toMatchObject({ orderType: 'NEW', line: { periodNumber: 3, orderAmount: '300' }, buyerInfo: { customerId: 'cust-x' } });

    const calls = await admin.calls();
    expect(calls.map((c) => c.query['orderId'])).toEqual([order.orderId]);

    await admin.setFaults({ failNext: { n: 1, status: 502 } });
    expect(server.faults.pendingFailures).toBe(1);
    await admin.reset();
    expect(server.faults.pendingFailures).toBe(0);
    expect(server.calls).toHaveLength(0);
  });

  it('rejects invalid order input with 400', async () => {
    const res = await fetch(`${url}/_sim/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ orderType: 'NEW', chargingMode: 'SOMETIMES', productId: 'p', skuCode: 's', customerId: 'c' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('chargingMode');
    const broken = await fetch(`${url}/_sim/orders`, { method: 'POST', body: '{' });
    expect(broken.status).toBe(400);
  });
});

describe('OrderBook', () => {
  it('is seeded with the nine documented mock orders and copies on read', () => {
    const book = new OrderBook({ now: () => new Date('2024-01-31T00:00:00Z') });
    expect(book.list().map((o) => o.orderId)).toEqual([...MOCK_ORDER_IDS]);
    const trial = book.get('MOCKPERIODDAYTRIAL')!;
    expect(trial).toMatchObject({ orderType: 'TRIAL', orderLine: [{ periodType: 'day', periodNumber: 7, expireTime: '20240207000000' }] });
    expect(book.get('MOCKMONTYTRIALTOFORMAL')?.orderLine[0]?.expireTime).toBe('20240229000000');
    trial.orderType = 'NEW';
    expect(book.get('MOCKPERIODDAYTRIAL')?.orderType).toBe('TRIAL');
    expect(new OrderBook({ seedMockOrders: false }).size).toBe(0);
  });

  it('rejects duplicates and bad input', () => {
    const book = new OrderBook();
    const input = { orderType: 'NEW', chargingMode: 'ONE_TIME', productId: 'p', skuCode: 's', customerId: 'c' } as const;
    expect(book.createOrder({ ...input, orderId: 'FIXED1' }).orderLine[0]?.expireTime).toBeUndefined();
    expect(() => book.createOrder({ ...input, orderId: 'FIXED1' })).toThrow(/already exists/);
    expect(() => book.createOrder({ ...input, expireTime: '2024' })).toThrow(/expireTime/);
  });
});
