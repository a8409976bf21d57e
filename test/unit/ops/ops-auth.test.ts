import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import express from 'express';
import type { Pool } from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerToken, tokenMatches } from '../../../src/ops-api/auth.js';
import { opsRouter } from '../../../src/ops-api/router.js';
import type { SupervisionService } from '../../../src/supervision/service.js';

// The ops API's door: no database and no Temporal behind it (a pool or client that is touched fails the test),
// because authentication and parameter validation must both answer before anything is read.

const TOKEN = 'unit-ops-token-5f1c2a';
const untouchable = new Proxy({}, { get: (_t, p) => (p === 'then' ? undefined : () => Promise.reject(new Error(`dependency touched: ${String(p)}`))) });

let server: Server;
let base: string;
const logLines: string[] = [];

beforeAll(async () => {
  const app = express();
  app.set('query parser', 'simple');
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  app.use('/ops', opsRouter({ token: TOKEN, pool: untouchable as Pool, client: untouchable as Client, supervision: untouchable as SupervisionService, logger }));
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });

describe('bearer token', () => {
  it('when the presented token equals the expected one, then it matches; otherwise not, whatever the length', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(tokenMatches(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(tokenMatches(TOKEN, '')).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });

  it('when the header is "Bearer <token>" (any case, extra spaces), then the token is read; anything else yields none', () => {
    expect(bearerToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(bearerToken(`bearer   ${TOKEN} `)).toBe(TOKEN);
    expect(bearerToken(`Basic ${TOKEN}`)).toBeUndefined();
    expect(bearerToken(TOKEN)).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('GET /ops/* without the right token', () => {
  for (const [name, headers] of [
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['the token as Basic credentials', { authorization: `Basic ${TOKEN}` }],
    ['the token with a suffix', { authorization: `Bearer ${TOKEN}0` }],
  ] as const) {
    it(`when called with ${name}, then 401 JSON with a Bearer challenge and nothing is read`, async () => {
      for (const path of ['/orders', '/orders/i-1', '/drift', '/nope']) {
        const res = await get(path, headers);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ops"');
        expect(await res.json()).toEqual({ error: 'UNAUTHORIZED', message: 'a valid bearer token is required' });
      }
    });
  }

  it('when requests are refused or fail, then neither the expected nor the presented token reaches the log', async () => {
    await get('/orders', { authorization: 'Bearer presented-secret-token-9' });
    await get('/orders', { authorization: `Bearer ${TOKEN}` }); // reaches the untouchable pool: a logged 500
    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThan(0);
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain('presented-secret-token-9');
  });
});

describe('GET /ops/* with the token and invalid parameters', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  for (const [path, message] of [
    ['/orders?limit=0', 'limit must be an integer from 1 to 200'],
    ['/orders?limit=abc', 'limit must be an integer from 1 to 200'],
    ['/orders?limit=201', 'limit must be an integer from 1 to 200'],
    ['/orders?phase=ALIVE', 'phase must be one of PROVISIONING, ACTIVE, FROZEN, RELEASED, FAILED, REJECTED'],
    ['/orders?testOrder=yes', 'testOrder must be true or false'],
    ['/orders?orderId=a&orderId=b', 'orderId must be given once'],
    ['/orders?colour=red', 'unknown query parameter colour'],
    ['/orders?cursor=bm90LWEtY3Vyc29y', 'cursor is not a cursor returned by this endpoint'],
    ['/drift?kind=BAD', 'kind must be one of'],
    ['/drift?status=closed', 'status must be open, resolved or all'],
  ] as const) {
    it(`when GET ${path}, then 400 INVALID_REQUEST saying "${message}" before anything is read`, async () => {
      const res = await get(path, auth);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('INVALID_REQUEST');
      expect(body.message).toContain(message);
    });
  }

  it('when an unknown ops path is asked with the token, then 404 NOT_FOUND in the ops error shape', async () => {
    const res = await get('/nope', auth);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'NOT_FOUND', message: 'no ops endpoint GET /nope' });
  });

  it('when the database fails, then 500 INTERNAL without the cause in the answer', async () => {
    const res = await get('/orders', auth);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'INTERNAL', message: 'internal error' });
    expect(logLines.some((l) => l.includes('dependency touched'))).toBe(true);
  });
});
