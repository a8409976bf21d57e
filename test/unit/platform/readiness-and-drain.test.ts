import type { Server } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/platform/http/app.js';
import { drain, listen } from '../../../src/platform/http/drain.js';
import { createReadiness } from '../../../src/platform/http/readiness.js';

// Readiness and the drain, without a database: checks are plain functions, the app a platform app with one slow
// route standing in for a marketplace call that is in flight when the drain starts.

const silent = pino({ level: 'silent' });
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.closeAllConnections(), s.close();
});

/** A GET on a fresh connection (no keep-alive pool in the way), resolving with status, headers and JSON body. */
function get(origin: string, path: string): Promise<{ status: number; connection: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('readiness', () => {
  it('when a check throws or times out, then it is reported failed under its own name, with the reason, and the others still run', async () => {
    const readiness = createReadiness(
      [
        { name: 'postgres', probe: async () => ({ ok: true }) },
        { name: 'migrations', probe: async () => Promise.reject(new Error('relation "schema_migrations" does not exist')) },
        { name: 'temporal', probe: () => new Promise(() => undefined) },
        { name: 'cache', probe: async () => ({ ok: false, detail: 'cold' }) },
      ],
      { timeoutMs: 50 },
    );
    expect(await readiness.report()).toEqual({
      status: 'not ready',
      checks: [
        { name: 'postgres', ok: true },
        { name: 'migrations', ok: false, detail: 'relation "schema_migrations" does not exist' },
        { name: 'temporal', ok: false, detail: 'timed out after 50 ms' },
        { name: 'cache', ok: false, detail: 'cold' },
      ],
    });
  });

  it('when the drain starts, then the report is draining at once, without asking the dependencies', async () => {
    let asked = 0;
    const readiness = createReadiness([{ name: 'postgres', probe: async () => (asked++, { ok: true }) }]);
    expect((await readiness.report()).status).toBe('ready');
    readiness.startDrain();
    expect(await readiness.report()).toEqual({ status: 'draining', checks: [] });
    expect(asked).toBe(1);
  });
});

describe('the drain', () => {
  it('when it starts, then /readyz answers 503 draining while new and in-flight calls are still answered; after the delay the listeners close and the in-flight call still completes', async () => {
    const readiness = createReadiness([{ name: 'postgres', probe: async () => ({ ok: true }) }]);
    let release: () => void = () => undefined;
    const slow = express.Router();
    slow.get('/slow', async (_req, res) => {
      await new Promise<void>((resolve) => (release = resolve));
      res.json({ answered: 'slow' });
    });
    slow.get('/fast', (_req, res) => void res.json({ answered: 'fast' }));
    const publicApp = createApp({ logger: silent, mounts: [{ path: '/koogallery', handler: slow }], draining: () => readiness.draining });
    const internalApp = createApp({ logger: silent, health: true, readiness, mounts: [] });
    const pub = await listen(publicApp, 0, '127.0.0.1');
    const int = await listen(internalApp, 0, '127.0.0.1');
    servers.push(pub, int);
    const origin = `http://127.0.0.1:${(pub.address() as AddressInfo).port}`;
    const internal = `http://127.0.0.1:${(int.address() as AddressInfo).port}`;

    expect((await get(internal, '/readyz')).status).toBe(200);
    const inFlight = get(origin, '/koogallery/slow');
    await new Promise((r) => setTimeout(r, 50));
    const drained = drain({ servers: [pub, int], readiness, delayMs: 400, closeTimeoutMs: 5000, logger: silent });

    // The drain window: readiness says so, the marketplace is still answered (told to reconnect elsewhere next time).
    expect(await get(internal, '/readyz')).toMatchObject({ status: 503, body: { status: 'draining', checks: [] } });
    expect(await get(internal, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get(origin, '/koogallery/fast')).toEqual({ status: 200, connection: 'close', body: { answered: 'fast' } });

    // After the delay: no new connection is accepted, but the call in flight still gets its answer.
    await new Promise((r) => setTimeout(r, 600));
    await expect(get(origin, '/koogallery/fast')).rejects.toThrow(/ECONNREFUSED/);
    release();
    expect(await inFlight).toMatchObject({ status: 200, body: { answered: 'slow' } });
    expect(await drained).toBe(true);
  });

  it('when an in-flight call outlasts the close timeout, then its connection is cut and the drain reports it', async () => {
    const readiness = createReadiness([]);
    const stuck = express.Router();
    stuck.get('/stuck', () => undefined);
    const app = createApp({ logger: silent, mounts: [{ path: '/koogallery', handler: stuck }] });
    const server = await listen(app, 0, '127.0.0.1');
    servers.push(server);
    const call = get(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/koogallery/stuck').catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    expect(await drain({ servers: [server], readiness, delayMs: 0, closeTimeoutMs: 200, logger: silent })).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await call).toBeInstanceOf(Error);
  });

  it('when hurried (a second signal), then the rest of the delay is skipped', async () => {
    const readiness = createReadiness([]);
    const server = await listen(createApp({ logger: silent, mounts: [] }), 0, '127.0.0.1');
    servers.push(server);
    const started = Date.now();
    await drain({ servers: [server], readiness, delayMs: 10_000, closeTimeoutMs: 1000, logger: silent, hurry: new Promise((r) => setTimeout(r, 100)) });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
