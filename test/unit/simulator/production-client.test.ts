import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BODY_SIGN_HEADER,
  bodySignHeaderValue,
  encryptField,
  extractV2Credentials,
  parseRawQuery,
  verifyV1AuthToken,
  verifyV2Signature,
} from '../../../src/koogallery/index.js';
import { createProductionClient, formatV1TimeStamp, ProductionCallError } from '../../../tools/simulator/index.js';

const ACCESS_KEY = 'TestAccessKey-0123456789';
const NOW = Date.UTC(2024, 0, 2, 3, 4, 5, 67);

/** What the stub received. */
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** How the stub answers: the body object (serialised once) and how to sign it. */
interface StubAnswer {
  body: Record<string, unknown> | string;
  status?: number;
  /** 'valid' (default), 'wrong' signature, 'missing', or 'lowercase-name'. */
  sign?: 'valid' | 'wrong' | 'missing' | 'lowercase-name';
}

let server: Server;
let baseUrl: string;
let received: Received[];
let answers: Array<(req: Received) => StubAnswer>;

beforeEach(async () => {
  received = [];
  answers = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      const answerFor = answers.shift() ?? ((): StubAnswer => ({ body: { resultCode: '000000', resultMsg: 'success.', echo: r.url } }));
      const a: StubAnswer = answerFor(r);
      const bytes = Buffer.from(typeof a.body === 'string' ? a.body : JSON.stringify(a.body), 'utf8');
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      const sign = a.sign ?? 'valid';
      if (sign === 'valid') headers[BODY_SIGN_HEADER] = bodySignHeaderValue(ACCESS_KEY, bytes);
      if (sign === 'wrong') headers[BODY_SIGN_HEADER] = bodySignHeaderValue('another-key', bytes);
      if (sign === 'lowercase-name') headers['body-sign'] = bodySignHeaderValue(ACCESS_KEY, bytes);
      res.writeHead(a.status ?? 200, headers);
      res.end(bytes);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/koogallery/saas`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const client = (over: Partial<Parameters<typeof createProductionClient>[0]> = {}) =>
  createProductionClient({ baseUrl, accessKey: ACCESS_KEY, now: () => NOW, ...over });

describe('production client V1', () => {
  it('sends a GET whose authToken verifies with the protocol module', async () => {
    const answer = await client().v1('newInstance', {
      customerId: 'c1',
      orderId: 'CS1906666666ABCDE',
      productId: '00301-666666-0--0',
      businessId: 'b-1',
      saasExtendParams: 'W3sibmFtZSI6ImEiLCJ2YWx1ZSI6IjErMT0yIn1d', // contains '+' and '=' to exercise encoding
      customerName: '张 三&co',
    });
    expect(answer.status).toBe(200);
    expect(answer.bodySignValid).toBe(true);
    const r = received[0]!;
    expect(r.method).toBe('GET');
    const [path, rawQuery = ''] = r.url.split('?');
    expect(path).toBe('/koogallery/saas');
    expect(rawQuery).not.toMatch(/[ +]/); // everything encoded with encodeURIComponent
    const parsed = parseRawQuery(rawQuery)!;
    expect(parsed.params['activity']).toBe('newInstance');
    expect(parsed.params['timeStamp']).toBe('20240102030405067');
    expect(parsed.params['customerName']).toBe('张 三&co');
    expect(verifyV1AuthToken(ACCESS_KEY, parsed, { nowMs: NOW, toleranceMs: 60_000 })).toEqual({ ok: true, params: parsed.params });
    expect(verifyV1AuthToken('wrong-key', parsed, { nowMs: NOW, toleranceMs: 60_000 }).ok).toBe(false);
  });

  it('formats timeStamp as UTC yyyyMMddHHmmssSSS', () => {
    expect(formatV1TimeStamp(Date.UTC(2020, 6, 27, 7, 37, 11, 903))).toBe('20200727073711903');
  });

  it('decrypts appInfo credentials with encryptType', async () => {
    answers.push(() => ({
      body: {
        resultCode: '000000',
        resultMsg: 'success.',
        instanceId: 'inst-1',
        encryptType: '2',
        appInfo: {
          frontEndUrl: 'https://t.example.com',
          adminUrl: 'https://t.example.com/admin',
          userName: encryptField(ACCESS_KEY, 'admin', '2'),
          password: encryptField(ACCESS_KEY, 'P@ssw0rd!', '2'),
        },
      },
    }));
    const answer = await client().v1('newInstance', { orderId: 'o' });
    expect(answer.appInfo).toEqual({
      frontEndUrl: 'https://t.example.com',
      adminUrl: 'https://t.example.com/admin',
      userName: 'admin',
      password: 'P@ssw0rd!',
    });
    expect(answer.appInfoError).toBeUndefined();
  });

  it('newInstanceV1WithRetries retries failures with a fresh businessId', async () => {
    answers.push(
      () => ({ body: { resultCode: '000005', resultMsg: 'internal error.' } }),
      () => ({ body: { resultCode: '000000', instanceId: 'inst-9' }, sign: 'wrong' }),
      () => ({ body: { resultCode: '000000', resultMsg: 'success.', instanceId: 'inst-9' } }),
    );
    const outcome = await client().newInstanceV1WithRetries({ orderId: 'o-1', customerId: 'c' }, { retries: 3, retryDelayMs: 1 });
    expect(outcome.instanceId).toBe('inst-9');
    expect(outcome.answers).toHaveLength(3);
    const businessIds = received.map((r) => parseRawQuery(r.url.split('?')[1] ?? '')!.params['businessId']);
    expect(new Set(businessIds).size).toBe(3);
  });

  it('newInstanceV1WithRetries gives up after the retries with every answer attached', async () => {
    for (let i = 0; i < 3; i++) answers.push(() => ({ body: { resultCode: '000002', resultMsg: 'invalid parameter.' } }));
    const err = await client()
      .newInstanceV1WithRetries({ orderId: 'o-2' }, { retries: 2, retryDelayMs: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProductionCallError);
    expect((err as ProductionCallError).answers).toHaveLength(3);
    expect((err as Error).message).toContain('000002');
  });
});

describe('production client V2', () => {
  it('POSTs the body once with a signature that verifies (query mode)', async () => {
    const answer = await client().v2({ activity: 'newInstance', orderId: 'CS1', orderLineId: 'CS1-000001', businessId: 'b' });
    expect(answer.bodySignValid).toBe(true);
    const r = received[0]!;
    expect(r.method).toBe('POST');
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body.toString('utf8'))).toEqual({ activity: 'newInstance', orderId: 'CS1', orderLineId: 'CS1-000001', businessId: 'b' });
    const url = new URL(r.url, 'http://x');
    expect(url.pathname).toBe('/koogallery/saas');
    const creds = extractV2Credentials(Object.fromEntries(url.searchParams), r.headers)!;
    expect(creds.source).toBe('query');
    expect(creds.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(creds.timestamp).toBe(String(NOW));
    expect(verifyV2Signature(ACCESS_KEY, creds, r.body, { nowMs: NOW })).toEqual({ ok: true, timestampMs: NOW });
    expect(verifyV2Signature(ACCESS_KEY, creds, Buffer.concat([r.body, Buffer.from(' ')]), { nowMs: NOW }).ok).toBe(false);
  });

  it('uses a fresh nonce per call and supports header mode', async () => {
    await client().v2({ activity: 'queryInstance', instanceId: 'i' });
    await client({ headerMode: 'headers' }).v2({ activity: 'queryInstance', instanceId: 'i' });
    const first = extractV2Credentials(Object.fromEntries(new URL(received[0]!.url, 'http://x').searchParams), {})!;
    const r = received[1]!;
    expect(new URL(r.url, 'http://x').search).toBe('');
    const second = extractV2Credentials({}, r.headers)!;
    expect(second.source).toBe('headers');
    expect(second.nonce).not.toBe(first.nonce);
    expect(verifyV2Signature(ACCESS_KEY, second, r.body, { nowMs: NOW }).ok).toBe(true);
  });

  it('detects a wrong, missing or mis-cased Body-Sign', async () => {
    answers.push(
      () => ({ body: { resultCode: '000000' }, sign: 'wrong' }),
      () => ({ body: { resultCode: '000000' }, sign: 'missing' }),
      () => ({ body: { resultCode: '000000' }, sign: 'lowercase-name' }),
    );
    const wrong = await client().v2({ activity: 'queryInstance', instanceId: 'i' });
    expect(wrong.bodySignValid).toBe(false);
    expect(wrong.bodySignHeader).toContain('HMAC-SHA256');
    const missing = await client().v2({ activity: 'queryInstance', instanceId: 'i' });
    expect(missing.bodySignValid).toBe(false);
    expect(missing.bodySignHeader).toBeUndefined();
    const lowercase = await client().v2({ activity: 'queryInstance', instanceId: 'i' });
    expect(lowercase.bodySignValid).toBe(false);
    expect(lowercase.bodySignHeaderName).toBe('body-sign');
  });

  it('checks Body-Sign over the exact bytes, also through a custom fetch', async () => {
    const spaced = '{"resultCode":"000000", "resultMsg":"success."}\n';
    answers.push(() => ({ body: spaced }));
    const answer = await client({ fetchImpl: fetch }).v2({ activity: 'queryInstance', instanceId: 'i' });
    expect(answer.rawBody).toBe(spaced);
    expect(answer.body).toEqual({ resultCode: '000000', resultMsg: 'success.' });
    expect(answer.bodySignValid).toBe(true);
    expect(answer.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('newInstanceV2WithAsync retries a failure, then polls queryInstance after 000004', async () => {
    answers.push(
      () => ({ body: { resultCode: '000005', resultMsg: 'internal error.' } }),
      () => ({ body: { resultCode: '000004', resultMsg: 'processing.', instanceId: 'inst-async' } }),
      () => ({ body: { resultCode: '000000', resultMsg: 'success.' } }),
      () => ({
        body: {
          resultCode: '000000',
          resultMsg: 'success.',
          encryptType: '1',
          info: [
            {
              instanceId: 'inst-async',
              appInfo: { frontEndUrl: 'https://f', userName: encryptField(ACCESS_KEY, 'u1'), password: encryptField(ACCESS_KEY, 'p1') },
            },
          ],
        },
      }),
    );
    const outcome = await client().newInstanceV2WithAsync('CS2', 'CS2-000001', { pollIntervalMs: 1, retryDelayMs: 1, testFlag: '1' });
    expect(outcome.instanceId).toBe('inst-async');
    expect(outcome.answers).toHaveLength(4);
    expect(outcome.answers[3]?.appInfo).toEqual({ frontEndUrl: 'https://f', userName: 'u1', password: 'p1' });
    const bodies = received.map((r) => JSON.parse(r.body.toString('utf8')) as Record<string, string>);
    expect(bodies.map((b) => b['activity'])).toEqual(['newInstance', 'newInstance', 'queryInstance', 'queryInstance']);
    expect(bodies[0]?.['businessId']).not.toBe(bodies[1]?.['businessId']);
    expect(bodies[2]).toEqual({ activity: 'queryInstance', instanceId: 'inst-async', testFlag: '1' });
  });

  it('raw() sends exactly what it is given, unsigned', async () => {
    await client().raw({ method: 'post', query: 'signature=x&timestamp=1&nonce=%ZZ', headers: { 'X-Test': '1' }, body: 'not json' });
    const r = received[0]!;
    expect(r.url).toBe('/koogallery/saas?signature=x&timestamp=1&nonce=%ZZ');
    expect(r.headers['x-test']).toBe('1');
    expect(r.body.toString()).toBe('not json');
  });
});
