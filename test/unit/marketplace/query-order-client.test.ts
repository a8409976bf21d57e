import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyApigSignature } from '../../../src/marketplace-api/huawei-signer.js';
import {
  MarketplaceApiError,
  MarketplaceErrorCode,
  QUERY_ORDER_PATH,
  createQueryOrderClient,
} from '../../../src/marketplace-api/query-order-client.js';

const AK = 'TESTAK0123456789ABCD';
const SK = 'test-secret-key-0123456789';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];

async function startServer(handler: Handler): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

const orderInfo = {
  orderId: 'CSTEST0000000001',
  orderType: 'NEW',
  createTime: '20240102030405',
  orderLine: [
    {
      orderLineId: 'CSTEST0000000001-000001',
      chargingMode: 'PERIOD',
      expireTime: '20250102030405',
      periodType: 'YEAR',
      periodNumber: '1',
      orderAmount: 1200.5,
      productInfo: [{ skuCode: 'sku-basic', productId: 'OFFI000000000001', linearValue: '10', productName: 'Basic', extra: 1 }],
      somethingNew: { nested: true },
    },
    {
      orderLineId: 'CSTEST0000000001-000002',
      chargingMode: 'ON_DEMAND',
      productInfo: { skuCode: 'sku-od', productId: 'OFFI000000000002' },
    },
  ],
  buyerInfo: { customerId: 'cust-1', customerName: 'Alice', email: null },
  extendParams: [{ name: 'tenantName', value: 'acme' }, { name: 'seats', value: 5 }],
};

describe('createQueryOrderClient', () => {
  it('sends a valid APIG signature and normalises the order', async () => {
    const verdicts: unknown[] = [];
    const server = await startServer((req, res) => {
      verdicts.push(
        verifyApigSignature({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          lookupSecret: (ak) => (ak === AK ? SK : undefined),
          nowMs: Date.now(),
        }),
      );
      json(res, 200, { resultCode: 'MKT.0000', resultMsg: 'success', orderInfo, unknownTopLevel: 'ignored' });
    });
    const client = createQueryOrderClient({ apiBase: server.url + '/', ak: AK, sk: SK });
    const order = await client.queryOrder('CSTEST0000000001', 'CSTEST0000000001-000001');

    expect(verdicts).toEqual([{ ok: true, ak: AK }]);
    const req = server.requests[0]!;
    const url = new URL(req.url ?? '', 'http://x');
    expect(url.pathname).toBe(QUERY_ORDER_PATH);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      orderId: 'CSTEST0000000001',
      orderLineId: 'CSTEST0000000001-000001',
    });
    expect(order).toEqual({
      orderId: 'CSTEST0000000001',
      orderType: 'NEW',
      createTime: '20240102030405',
      line: {
        orderLineId: 'CSTEST0000000001-000001',
        chargingMode: 'PERIOD',
        expireTime: '20250102030405',
        periodType: 'year',
        periodNumber: 1,
        orderAmount: '1200.5',
        productInfo: [{ skuCode: 'sku-basic', productId: 'OFFI000000000001', linearValue: 10, productName: 'Basic' }],
      },
      lines: [
        expect.objectContaining({ orderLineId: 'CSTEST0000000001-000001' }),
        {
          orderLineId: 'CSTEST0000000001-000002',
          chargingMode: 'ON_DEMAND',
          productInfo: [{ skuCode: 'sku-od', productId: 'OFFI000000000002' }],
        },
      ],
      buyerInfo: { customerId: 'cust-1', customerName: 'Alice' },
      extendParams: [
        { name: 'tenantName', value: 'acme' },
        { name: 'seats', value: '5' },
      ],
    });
    // JSON-safe: survives a Temporal payload round trip unchanged.
    expect(JSON.parse(JSON.stringify(order))).toEqual(order);
  });

  it("accepts '000000' as success too and picks the second line when asked", async () => {
    const server = await startServer((_req, res) => json(res, 200, { resultCode: '000000', orderInfo }));
    const client = createQueryOrderClient({ apiBase: server.url, ak: AK, sk: SK });
    const order = await client.queryOrder('CSTEST0000000001', 'CSTEST0000000001-000002');
    expect(order.line.chargingMode).toBe('ON_DEMAND');
    expect(server.requests).toHaveLength(1);
  });

  it('reports a non-success resultCode and a missing order line as MARKETPLACE_ORDER_NOT_FOUND', async () => {
    const server = await startServer((req, res) => {
      if (req.url?.includes('orderId=MISSING')) json(res, 200, { resultCode: 'MKT.0404', resultMsg: 'order not found' });
      else json(res, 200, { resultCode: 'MKT.0000', orderInfo });
    });
    const client = createQueryOrderClient({ apiBase: server.url, ak: AK, sk: SK });
    const missingOrder = await client.queryOrder('MISSING').catch((e: unknown) => e);
    expect(missingOrder).toBeInstanceOf(MarketplaceApiError);
    expect(missingOrder).toMatchObject({ code: MarketplaceErrorCode.OrderNotFound, retryable: false, resultCode: 'MKT.0404' });
    const missingLine = await client.queryOrder('CSTEST0000000001', 'CSTEST0000000001-000009').catch((e: unknown) => e);
    expect(missingLine).toMatchObject({ code: 'MARKETPLACE_ORDER_NOT_FOUND', retryable: false });
  });

  it('tries the fallback base once after a 500', async () => {
    const primary = await startServer((_req, res) => json(res, 500, { error: 'boom' }));
    const fallback = await startServer((_req, res) => json(res, 200, { resultCode: 'MKT.0000', orderInfo }));
    const client = createQueryOrderClient({ apiBase: primary.url, fallbackBase: fallback.url, ak: AK, sk: SK });
    const order = await client.queryOrder('CSTEST0000000001', 'CSTEST0000000001-000001');
    expect(order.orderId).toBe('CSTEST0000000001');
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
  });

  it('tries the fallback after a network error, and reports both when both fail', async () => {
    const closed = await startServer(() => undefined);
    const deadUrl = closed.url;
    await new Promise<void>((resolve) => servers.pop()!.close(() => resolve()));
    const fallback = await startServer((_req, res) => json(res, 503, 'Service Unavailable'));
    const client = createQueryOrderClient({ apiBase: deadUrl, fallbackBase: fallback.url, ak: AK, sk: SK });
    const err = await client.queryOrder('CSTEST0000000001').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: MarketplaceErrorCode.Unavailable, retryable: true, status: 503 });
    expect((err as Error).message).toContain('after primary');
    expect(fallback.requests).toHaveLength(1);
  });

  it('does not use the fallback for a business answer', async () => {
    const primary = await startServer((_req, res) => json(res, 200, { resultCode: 'MKT.0404' }));
    const fallback = await startServer((_req, res) => json(res, 200, { resultCode: 'MKT.0000', orderInfo }));
    const client = createQueryOrderClient({ apiBase: primary.url, fallbackBase: fallback.url, ak: AK, sk: SK });
    await expect(client.queryOrder('CSTEST0000000001')).rejects.toMatchObject({ code: 'MARKETPLACE_ORDER_NOT_FOUND' });
    expect(fallback.requests).toHaveLength(0);
  });

  it('turns a timeout into MARKETPLACE_UNAVAILABLE', async () => {
    const server = await startServer((_req, res) => {
      setTimeout(() => json(res, 200, { resultCode: 'MKT.0000', orderInfo }), 1000).unref();
    });
    const client = createQueryOrderClient({ apiBase: server.url, ak: AK, sk: SK, timeoutMs: 100 });
    const started = Date.now();
    const err = await client.queryOrder('CSTEST0000000001').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: MarketplaceErrorCode.Unavailable, retryable: true });
    expect((err as Error).message).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('treats 429 as retryable without trying the fallback', async () => {
    const primary = await startServer((_req, res) => json(res, 429, { error_code: 'APIGW.0308', error_msg: 'throttled' }));
    const fallback = await startServer((_req, res) => json(res, 200, { resultCode: 'MKT.0000', orderInfo }));
    const client = createQueryOrderClient({ apiBase: primary.url, fallbackBase: fallback.url, ak: AK, sk: SK });
    await expect(client.queryOrder('X')).rejects.toMatchObject({ code: 'MARKETPLACE_UNAVAILABLE', retryable: true, status: 429 });
    expect(fallback.requests).toHaveLength(0);
  });

  it('reports malformed JSON and an invalid orderInfo as MARKETPLACE_BAD_RESPONSE', async () => {
    const server = await startServer((req, res) => {
      if (req.url?.includes('orderId=BROKEN')) json(res, 200, '{"resultCode":"MKT.0000", "orderInfo": {');
      else json(res, 200, { resultCode: 'MKT.0000', orderInfo: { ...orderInfo, orderType: 'SOMETHING_ELSE' } });
    });
    const client = createQueryOrderClient({ apiBase: server.url, ak: AK, sk: SK });
    await expect(client.queryOrder('BROKEN')).rejects.toMatchObject({ code: 'MARKETPLACE_BAD_RESPONSE', retryable: false });
    const err = await client.queryOrder('CSTEST0000000001').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MARKETPLACE_BAD_RESPONSE' });
    expect((err as Error).message).toContain('orderType');
  });

  it('reports 401 / APIGW auth errors as MARKETPLACE_AUTH_REJECTED without leaking the SK', async () => {
    const server = await startServer((_req, res) =>
      json(res, 401, { error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information' }),
    );
    const client = createQueryOrderClient({ apiBase: server.url, ak: AK, sk: SK });
    const err = await client.queryOrder('CSTEST0000000001').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: MarketplaceErrorCode.AuthRejected, retryable: false, status: 401, resultCode: 'APIGW.0301' });
    expect(String((err as Error).message)).not.toContain(SK);
    expect(JSON.stringify(err)).not.toContain(SK);
  });
});
