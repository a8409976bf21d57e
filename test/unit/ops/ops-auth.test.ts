import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import express from 'express';
import type { Pool } from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/platform/config.js';
import { bearerToken, createOperatorDirectory, tokenSha256 } from '../../../src/platform/http/ops/auth.js';
import { createOpsRouter } from '../../../src/platform/http/ops/router.js';
import { orderOpsRoutes } from '../../../src/orders/ops-routes.js';
import { driftOpsRoutes } from '../../../src/reconciliation/ops-routes.js';
import { supervisionOpsRoutes } from '../../../src/supervision/ops-routes.js';
import type { SupervisionService } from '../../../src/supervision/service.js';

// The ops API's door: no database and no Temporal behind it (a pool or client that is touched fails the test),
// because authentication and parameter validation must both answer before anything is read. The operators are
// configured as in production: OPS_API_TOKEN (the operator `ops`) and named operators by token hash.

const TOKEN = 'unit-ops-token-5f1c2a';
const ALICE = 'alice-token-0b7e91d4';
const BOB = 'bob-token-6c2f08aa';
const CAROL = 'carol-token-d41e7c55';
const config = loadConfig({
  OPS_API_TOKEN: TOKEN,
  OPS_OPERATORS: `alice:${tokenSha256(ALICE)},bob:${tokenSha256(BOB)},carol:${tokenSha256(CAROL)}`,
  // Bob is revoked by name, a leaked token by its hash (carol's).
  OPS_OPERATORS_REVOKED: `bob,${tokenSha256(CAROL)}`,
});
const untouchable = new Proxy({}, { get: (_t, p) => (p === 'then' ? undefined : () => Promise.reject(new Error(`dependency touched: ${String(p)}`))) });

let server: Server;
let base: string;
const logLines: string[] = [];

beforeAll(async () => {
  const app = express();
  app.set('query parser', 'simple');
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  const pool = untouchable as Pool;
  const ops = createOpsRouter({
    operators: createOperatorDirectory(config.ops),
    logger,
    routes: [
      { path: '/orders', handler: orderOpsRoutes({ pool, client: untouchable as Client, related: { marketplaceCalls: () => Promise.resolve([]), openDrift: () => Promise.resolve([]), supervision: () => Promise.resolve(null) } }) },
      { path: '/drift', handler: driftOpsRoutes({ pool }) },
      { path: '/supervision', handler: supervisionOpsRoutes({ pool, supervision: untouchable as SupervisionService, logger }) },
    ],
  });
  app.use('/ops', ops);
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
  it('when a token is presented, then it is known by its hash alone: named operators, OPS_API_TOKEN as `ops`, revoked by name or by hash, anything else unknown', () => {
    const directory = createOperatorDirectory(config.ops);
    expect(config.ops.operators.map((o) => o.name)).toEqual(['ops', 'alice', 'bob', 'carol']);
    // The configuration holds hashes, never the tokens.
    expect(JSON.stringify(config)).not.toContain(ALICE);
    expect(JSON.stringify(config)).not.toContain(TOKEN);
    expect(directory.authenticate(TOKEN)).toEqual({ ok: true, operator: 'ops' });
    expect(directory.authenticate(ALICE)).toEqual({ ok: true, operator: 'alice' });
    expect(directory.authenticate(BOB)).toEqual({ ok: false, reason: 'revoked', operator: 'bob' });
    expect(directory.authenticate(CAROL)).toEqual({ ok: false, reason: 'revoked', operator: 'carol' });
    for (const other of [`${ALICE}x`, ALICE.slice(0, -1), tokenSha256(ALICE), 'alice']) expect(directory.authenticate(other)).toEqual({ ok: false, reason: 'unknown' });
    expect(directory.authenticate('')).toEqual({ ok: false, reason: 'missing' });
    expect(directory.authenticate(undefined)).toEqual({ ok: false, reason: 'missing' });
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
    ["the token's SHA-256 (what the configuration holds)", { authorization: `Bearer ${tokenSha256(TOKEN)}` }],
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

  for (const [name, token] of [
    ['revoked by name', BOB],
    ['revoked by its hash', CAROL],
  ] as const) {
    it(`when called with a token ${name}, then 401 saying it was revoked, on every route, and the refusal is logged by operator name`, async () => {
      for (const path of ['/orders', '/drift', '/supervision', '/nope']) {
        const res = await get(path, { authorization: `Bearer ${token}` });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ops"');
        expect(await res.json()).toEqual({ error: 'UNAUTHORIZED', message: 'this bearer token was revoked; ask for a new one' });
      }
      const refusals = logLines.map((l) => JSON.parse(l) as { msg: string; operator?: string }).filter((l) => l.msg === 'ops call with a revoked token refused');
      expect(refusals.map((l) => l.operator)).toContain(name === 'revoked by name' ? 'bob' : 'carol');
    });
  }

  it('when requests are refused or fail, then neither an operator token nor the presented one reaches the log', async () => {
    await get('/orders', { authorization: 'Bearer presented-secret-token-9' });
    await get('/orders', { authorization: `Bearer ${BOB}` });
    await get('/orders', { authorization: `Bearer ${TOKEN}` }); // reaches the untouchable pool: a logged 500
    await get('/orders', { authorization: `Bearer ${ALICE}` });
    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of [TOKEN, ALICE, BOB, CAROL, 'presented-secret-token-9']) expect(log).not.toContain(secret);
  });
});

describe('GET /ops/* with a valid token and invalid parameters', () => {
  // A named operator's token and OPS_API_TOKEN open the same door.
  const auth = { authorization: `Bearer ${ALICE}` };
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
    ['/supervision?nodes=IMPLEMENTATION', 'unknown query parameter nodes'],
    ['/supervision?status=COMPLETED&unacceptedForDays=1', 'status must be PROCESSING or absent'],
    ['/supervision/CS1?line=1', 'unknown query parameter line'],
  ] as const) {
    it(`when GET ${path}, then 400 INVALID_REQUEST saying "${message}" before anything is read`, async () => {
      const res = await get(path, auth);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('INVALID_REQUEST');
      expect(body.message).toContain(message);
    });
  }

  it('when an unknown ops path is asked with the token, then 404 NOT_FOUND in the ops error shape, also below a context', async () => {
    for (const path of ['/nope', '/orders/i-1/transitions', '/drift/x']) {
      const res = await get(path, auth);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: 'NOT_FOUND', message: `no ops endpoint GET ${path}` });
    }
  });

  it('when an action body is not JSON, then 400 INVALID_REQUEST through the one ops error mapper', async () => {
    const res = await fetch(`${base}/supervision/CS1/actions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"type":' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'INVALID_REQUEST', message: 'bad request' });
  });

  it('when the database fails, then 500 INTERNAL without the cause in the answer (with OPS_API_TOKEN, the operator `ops`)', async () => {
    const res = await get('/orders', { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'INTERNAL', message: 'internal error' });
    expect(logLines.some((l) => l.includes('dependency touched'))).toBe(true);
  });
});
