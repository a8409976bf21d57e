// B8 (issue #14): metering. Run on its own: `npx tsx bench/b8-metering.ts` (BENCH_DATABASE_URL, else the test
// database; it is migrated). In-process, no Temporal: the figures are the intake route, the push activities and
// queryInstance's read model, each against its own limit measured in the same run.
//   1. Intake: records/s through POST /metering/usage (HTTP, 1,000-record batches, 4 callers) against PostgreSQL's
//      own bulk-insert rate (the same rows unnested into a bare table with a primary key, same batches, same callers).
//   2. Push: 10,000 instance-hours aggregated, signed and pushed to the simulated usage-data API (the push
//      workflow's two activities, called as the workflow calls them): target ≤ 30 s.
//   3. queryInstance: 100 on-demand ids against 100 period ids, the same call (the order service's read path):
//      target within 1.2×.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import { createApp } from '../src/platform/http/app.js';
import { createPool } from '../src/platform/db/pool.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createSealedBox } from '../src/platform/sealed-box.js';
import { createUsageDataClient } from '../src/marketplace-api/usage-data-client.js';
import { createMeteringActivities } from '../src/metering/activities.js';
import { METERING_PATH, meteringIntakeRouter } from '../src/metering/routes.js';
import { createMeteringService } from '../src/metering/service.js';
import { recordTransition } from '../src/orders/store.js';
import { createOrderService } from '../src/orders/service.js';
import type { ChargingMode } from '../src/orders/contract.js';
import { createOpenApiServer } from '../tools/simulator/open-api-server.js';

const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://koogallery:koogallery@127.0.0.1:5432/koogallery_orders_test';
const pool = createPool({ url, max: 8, applicationName: 'bench-b7' });
await migrate(pool);
const run = randomUUID().slice(0, 8);
const HOUR = 3600_000;
const KEY = 'bench-docking-key';
const TOKEN = 'bench-metering-token';
const r1 = (n: number) => Math.round(n * 10) / 10;

async function seed(mode: ChargingMode, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `b7-${run}-${mode}-${i}`);
  for (const id of ids) {
    await recordTransition(pool, {
      workflowId: `wf-${id}`,
      instanceId: id,
      interfaceVersion: 'V2',
      key: { kind: 'v2-line', orderId: `o-${id}`, orderLineId: `l-${id}` },
      phase: 'ACTIVE',
      event: 'PROVISIONED',
      seq: 1,
      testOrder: false,
      details: { trial: false, spec: {}, chargingMode: mode, customerId: 'bench', productId: 'bench-product', skuCode: 'bench-sku' },
      access: { frontEndUrl: `https://${id}.example.com`, credentialsSealed: createSealedBox('bench-data-encryption-key-0123').sealJson({ userName: 'u', password: 'p' }) },
    });
  }
  return ids;
}

async function parallel(callers: number, batches: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < batches) await job(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

const onDemand = await seed('ON_DEMAND', 1000);
const period = await seed('PERIOD', 100);

// ---- 1. Intake vs PostgreSQL's bulk insert -----------------------------------------------------------------------
const BATCHES = Number(process.env.B8_BATCHES ?? 60);
const CALLERS = Number(process.env.B8_CALLERS ?? 4);
const metering = createMeteringService({ pool, packages: {}, futureToleranceMs: 300_000 });
const app = createApp({ logger: pino({ level: 'silent' }), mounts: [{ path: METERING_PATH, handler: meteringIntakeRouter({ service: metering, token: TOKEN, maxBodyBytes: 1 << 20, logger: pino({ level: 'silent' }) }) }] });
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const intakeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${METERING_PATH}/usage`;
const batch = (b: number, prefix: string) =>
  Array.from({ length: 1000 }, (_, i) => {
    const begin = Date.now() - 2 * 24 * HOUR + ((b * 1000 + i) % 48) * HOUR;
    return { recordId: `${prefix}-${run}-${b}-${i}`, instanceId: onDemand[i % onDemand.length]!, usageValue: 1.25, beginTime: new Date(begin).toISOString(), endTime: new Date(begin + 60_000).toISOString() };
  });
const bodies = Array.from({ length: BATCHES }, (_, b) => JSON.stringify({ records: batch(b, 'in') }));
let accepted = 0;
const intakeSeconds = await parallel(CALLERS, BATCHES, async (b) => {
  const res = await fetch(intakeUrl, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: bodies[b]! });
  accepted += ((await res.json()) as { accepted: number }).accepted;
});
await pool.query(`CREATE TABLE IF NOT EXISTS b7_bulk (record_id text PRIMARY KEY, instance_id text NOT NULL, usage_value numeric(16,4) NOT NULL, begin_time timestamptz NOT NULL, end_time timestamptz NOT NULL)`);
await pool.query('TRUNCATE b7_bulk');
const rawBatches = Array.from({ length: BATCHES }, (_, b) => batch(b, 'pg'));
const pgSeconds = await parallel(CALLERS, BATCHES, async (b) => {
  const rows = rawBatches[b]!;
  await pool.query(
    `INSERT INTO b7_bulk SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::timestamptz[], $5::timestamptz[]) ON CONFLICT DO NOTHING`,
    [rows.map((x) => x.recordId), rows.map((x) => x.instanceId), rows.map((x) => x.usageValue), rows.map((x) => x.beginTime), rows.map((x) => x.endTime)],
  );
});
await pool.query('DROP TABLE b7_bulk');
server.close();
const intakeRate = (BATCHES * 1000) / intakeSeconds;
const pgRate = (BATCHES * 1000) / pgSeconds;

// ---- 2. Push of 10,000 instance-hours ------------------------------------------------------------------------------
// The intake above left records in 48 hours of 1,000 instances: aggregate them (and anything else pending) first, so
// the measured push is exactly the 10,000 instance-hours written here (1,000 instances × 10 hours, 3 to 12 h ago).
const sim = createOpenApiServer({ ak: 'AK', sk: 'SK', usageKey: KEY });
const { url: simUrl } = await sim.listen(0);
const acts = createMeteringActivities({ pool, usageData: createUsageDataClient({ apiBase: simUrl, key: KEY, timeoutMs: 10_000 }), closeDelayMs: 0, maxAttempts: 12 });
const drain = async (runKey: string) => {
  let calls = 0;
  for (;;) {
    const b = await acts.pushPendingBatch({ runKey });
    if (b.sent > 0) calls++;
    if (!b.more) return calls;
  }
};
await acts.aggregateClosedPeriods({ runStartedAt: new Date().toISOString() });
await drain(`b7-pre-${run}`);
sim.usage.reset();
const now = Math.floor(Date.now() / HOUR) * HOUR;
const pushRecords = onDemand.flatMap((id, i) => Array.from({ length: 10 }, (_, h) => ({ recordId: `push-${run}-${i}-${h}`, instanceId: id, usageValue: '2.5', beginTime: new Date(now - (h + 3) * HOUR).toISOString(), endTime: new Date(now - (h + 3) * HOUR + 60_000).toISOString() })));
for (let i = 0; i < pushRecords.length; i += 1000) await metering.report({ records: pushRecords.slice(i, i + 1000) });
const t0 = performance.now();
const aggregated = await acts.aggregateClosedPeriods({ runStartedAt: new Date().toISOString() });
const pushCalls = await drain(`b7-${run}`);
const pushSeconds = (performance.now() - t0) / 1000;
const billed = sim.usage.billed.size;
await sim.close();

// ---- 3. queryInstance: 100 on-demand vs 100 period ids ---------------------------------------------------------------
const orders = createOrderService({
  client: {} as Client, // queryInstance reads the read model only
  pool,
  taskQueue: 'bench',
  accessKey: 'bench-access-key',
  sealedBox: createSealedBox('bench-data-encryption-key-0123'),
  budgetMs: 3000,
  usageOf: (ids, o) => metering.usageOf(ids, o),
});
const ROUNDS = 300;
const time = async (ids: string[]) => {
  for (let i = 0; i < 30; i++) await orders.queryInstances(ids);
  const s = performance.now();
  for (let i = 0; i < ROUNDS; i++) await orders.queryInstances(ids);
  return (performance.now() - s) / ROUNDS;
};
// Interleaved, so a busy neighbour slows both sides alike.
let pMs = 0;
let oMs = 0;
for (let k = 0; k < 3; k++) {
  pMs += await time(period);
  oMs += await time(onDemand.slice(0, 100));
}
pMs /= 3;
oMs /= 3;

const result = {
  id: 'B8',
  at: new Date().toISOString(),
  intake: { batches: BATCHES, callers: CALLERS, accepted, recordsPerSecond: Math.round(intakeRate), pgBulkRowsPerSecond: Math.round(pgRate), ratioToPg: Math.round((intakeRate / pgRate) * 1000) / 1000 },
  push: { instanceHours: aggregated, calls: pushCalls, billed, seconds: r1(pushSeconds), targetSeconds: 30 },
  queryInstance: { periodMsPerCall: Math.round(pMs * 100) / 100, onDemandMsPerCall: Math.round(oMs * 100) / 100, ratio: Math.round((oMs / pMs) * 100) / 100, target: 1.2 },
};
console.log(JSON.stringify(result, null, 2));
await pool.end();
