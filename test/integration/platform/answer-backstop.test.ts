import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderOutcome, OrderService } from '../../../src/orders/service.js';
import { productionInterfaceRouter } from '../../../src/orders/routes.js';
import { createApiMetrics } from '../../../src/platform/http/metrics.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import type { InboxEntry } from '../../../src/production-interface/inbox-store.js';
import { createNonceStore, type NonceStore } from '../../../src/production-interface/nonce-store.js';
import { ANSWER_BACKSTOP_MS } from '../../../src/production-interface/signed-answer.js';
import { createProductionClient, type ProductionClient } from '../../../tools/simulator/index.js';
import { until } from '../../../tools/testing/until.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The production interface's backstop: a call still unanswered ANSWER_BACKSTOP_MS after its arrival (here: an order
// service that never answers, as a look-up waiting for a pool slot would) is answered a signed, retryable 000005
// inside the marketplace's 5 s, and the answer that comes after it is dropped, not sent or thrown.
// A call signed with another accepted key whose nonce claim hangs is answered by the backstop signed with that key.

const ACCESS_KEY = 'BackstopTestAccessKey-0123456789';
/** A second key the router also accepts (KOOGALLERY_OTHER_ACCESS_KEYS: another product's, or one being rotated). */
const OTHER_KEY = 'BackstopTestOtherKey-9876543210ab';

let pool: Pool;
const servers: Server[] = [];
let market: ProductionClient;
/** Signs with the other key, against a router whose nonce claims never end (PostgreSQL stuck on the nonce INSERT). */
let otherKeyMarketStuckNonces: ProductionClient;
const logs: Array<Record<string, unknown>> = [];
const inbox: InboxEntry[] = [];
/** Settles the one hanging call's outcome, once the test has its answer. */
let release: ((o: OrderOutcome) => void) | undefined;

/** Serves the production interface with `nonces` and an order service that answers only when the test says. */
async function serve(nonces: NonceStore): Promise<string> {
  const orders = {
    execute: () => new Promise<OrderOutcome>((resolve) => (release = resolve)),
    queryInstances: () => Promise.reject(new Error('not used')),
  } as unknown as OrderService;
  const app = express();
  app.set('query parser', 'simple');
  app.use(
    '/koogallery/saas',
    productionInterfaceRouter({
      accessKey: ACCESS_KEY,
      otherAccessKeys: [OTHER_KEY],
      maxBodyBytes: 4096,
      v1ToleranceMs: 60_000,
      v2ToleranceMs: 60_000,
      orders,
      nonces,
      metrics: createApiMetrics(),
      logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }),
      recordInbox: async (e) => void inbox.push(e),
    }),
  );
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/koogallery/saas`;
}

beforeAll(async () => {
  pool = createPool({ url: testInfra().databaseUrl, max: 2, applicationName: 'answer-backstop-test' });
  market = createProductionClient({ baseUrl: await serve(createNonceStore(pool)), accessKey: ACCESS_KEY });
  const stuck: NonceStore = { claim: () => new Promise<boolean>(() => undefined), purgeExpired: async () => 0 };
  otherKeyMarketStuckNonces = createProductionClient({ baseUrl: await serve(stuck), accessKey: OTHER_KEY });
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await pool?.end();
});

describe('the answer backstop', () => {
  it('when the order service never answers, then a signed 000005 leaves inside the 5 s, and the late outcome is dropped', async () => {
    const instanceId = uniqueId('backstop');
    const answer = await market.v2({ activity: 'queryInstance', instanceId });
    expect(answer.status).toBe(200);
    expect(answer.bodySignValid).toBe(true);
    expect(answer.body).toEqual({ resultCode: '000005', resultMsg: 'still processing; please retry.' });
    // Inside the marketplace's 5 s by design; measured, about the backstop (a loaded machine fires timers late).
    expect(ANSWER_BACKSTOP_MS).toBeLessThan(5000);
    expect(answer.latencyMs).toBeGreaterThanOrEqual(ANSWER_BACKSTOP_MS - 100);
    expect(answer.latencyMs).toBeLessThan(ANSWER_BACKSTOP_MS + 600);
    expect(logs.some((l) => l.msg === 'production-interface call answered by its backstop' && l.instanceId === instanceId)).toBe(true);

    // The work behind the call ends after the answer: its outcome is logged and dropped, nothing is sent twice.
    release!({ kind: 'instances', info: [{ instanceId }] });
    await until('the late outcome to be dropped', () => (logs.some((l) => l.msg === 'late answer dropped: the call was answered by its backstop' && l.code === '000000') ? true : undefined), 5000);
    const recorded = inbox.filter((e) => e.instanceId === instanceId);
    expect(recorded.map((e) => e.resultCode)).toEqual(['000005']);
    // Logged once as answered (by the backstop), never as answered with the late outcome.
    expect(logs.filter((l) => l.msg === 'production-interface call answered' && l.instanceId === instanceId)).toHaveLength(0);
  });

  it('when the nonce claim hangs after a signature made with another accepted key, then the backstop answer is Body-Signed with that key', async () => {
    const instanceId = uniqueId('backstop-key');
    const answer = await otherKeyMarketStuckNonces.v2({ activity: 'queryInstance', instanceId });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ resultCode: '000005', resultMsg: 'still processing; please retry.' });
    // Checked with the key the call was signed with, as the marketplace checks it (the primary key would fail).
    expect(answer.bodySignValid).toBe(true);
  });
});
