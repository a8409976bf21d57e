// A bench child process (forked by bench/lib/ipc.ts). Role `harness`: the service as the tests run it —
// startServiceHarness's API, simulator and Temporal client — with the order worker built here from
// createOrderWorker({ tuning }) on its own pool, so experiments can vary worker options and pool size (the
// harness fixes both). Role `worker`: one order worker only (B5 measures its RSS). Commands arrive over IPC.
import { randomUUID } from 'node:crypto';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { createActivities } from '../../src/main/worker-activities.js';
import { loadConfig } from '../../src/platform/config.js';
import { createPool } from '../../src/platform/db/pool.js';
import { createOrderWorker, workerPrometheusExporter } from '../../src/platform/temporal/worker.js';
import { HARNESS_DATA_ENCRYPTION_KEY, startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../../tools/testing/service-harness.js';
import type { B0StepReply, ChildCommand, ChildConfig, ChildReady } from '../lib/ipc.js';
import { purchaseViaClient } from '../lib/purchase-op.js';

const started = performance.now();
const config = JSON.parse(process.env.BENCH_CHILD_CONFIG ?? '{}') as ChildConfig;

Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: {
    logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
    ...(config.metricsPort ? { metrics: workerPrometheusExporter(`127.0.0.1:${config.metricsPort}`) } : {}),
  },
});

let harness: ServiceHarness | undefined;
let taskQueue: string;
if (config.role === 'harness') {
  harness = await startServiceHarness({
    worker: false,
    // Extra service settings for a comparison run, e.g. BENCH_SERVICE_ENV='{"SETTLEMENT_ORDER_LINES":"true"}'.
    env: JSON.parse(process.env.BENCH_SERVICE_ENV ?? '{}') as Record<string, string>,
    infra: { databaseUrl: config.apiDatabaseUrl, temporalAddress: config.temporalAddress, temporalNamespace: config.namespace, workflowBundlePath: config.bundlePath },
  });
  taskQueue = harness.config.temporal.taskQueue;
  // The harness keeps every log line in memory for tests to read; a bench writes hundreds of thousands.
  setInterval(() => (harness!.logLines.length = 0), 2000).unref();
} else {
  taskQueue = config.taskQueue ?? `bench-orders-${randomUUID().slice(0, 8)}`;
}

// The worker, as the harness's startWorker() builds it, plus tuning and its own pool (as worker.ts has in production).
const appConfig =
  harness?.config ??
  loadConfig({
    APP_ENV: 'test',
    DATABASE_URL: config.workerDatabaseUrl,
    TEMPORAL_ADDRESS: config.temporalAddress,
    TEMPORAL_NAMESPACE: config.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    KOOGALLERY_ACCESS_KEY: TEST_ACCESS_KEY,
    // B5 buys V1 orders (details inline): Query Order is never called; point it nowhere reachable. A second worker
    // of a harness (the topology runs) pulls V2 order lines from the harness's simulator instead.
    KOOGALLERY_API_BASE: config.marketplace?.url ?? 'http://127.0.0.1:9',
    HUAWEI_CLOUD_AK: config.marketplace?.ak ?? 'BENCHAKEXAMPLE000001',
    HUAWEI_CLOUD_SK: config.marketplace?.sk ?? 'bench-secret-key',
    DATA_ENCRYPTION_KEY: HARNESS_DATA_ENCRYPTION_KEY,
    OPS_API_TOKEN: 'bench-ops-token',
    TENANT_URL_TEMPLATE: 'https://{tenant}.tenants.test',
  });
// No worker here when the harness runs the API alone (config.noWorker): worker-role children serve its task queue.
const ownWorker = config.role === 'worker' || !config.noWorker;
const workerPool = ownWorker ? createPool({ url: config.workerDatabaseUrl, max: config.workerPoolMax, applicationName: new URL(config.workerDatabaseUrl).searchParams.get('application_name') ?? 'koo-bench-worker' }) : undefined;
const nativeConnection = ownWorker ? await NativeConnection.connect({ address: config.temporalAddress }) : undefined;
const worker: Worker | undefined =
  workerPool && nativeConnection
    ? await createOrderWorker({
        connection: nativeConnection,
        namespace: config.namespace,
        taskQueue,
        activities: createActivities(appConfig, workerPool),
        workflowBundlePath: config.bundlePath,
        tuning: config.workerTuning,
      })
    : undefined;
const running = worker ? worker.run() : Promise.resolve();
running.catch((err: unknown) => {
  console.error('worker failed', err);
  process.exit(3);
});

async function b0Step(c: Extract<ChildCommand, { cmd: 'b0' }>): Promise<B0StepReply> {
  const h = harness!;
  const t0 = performance.now();
  const windowStart = t0 + c.warmupMs;
  const windowEnd = windowStart + c.durationMs;
  const latencies: number[] = [];
  const errors: string[] = [];
  const instanceIds: string[] = [];
  let failed = 0;
  let completedTotal = 0;
  const loop = async () => {
    while (performance.now() < windowEnd) {
      const order = h.marketplace.orderBook.createOrder({ orderType: 'NEW', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'prod-bench', skuCode: 'sku-basic', orderAmount: '1200.000', customerId: `cust-${randomUUID()}` });
      const businessId = randomUUID();
      const s = performance.now();
      try {
        const r = await purchaseViaClient(h.client, taskQueue, {
          key: { kind: 'v2-line', orderId: order.orderId, orderLineId: order.orderLine[0]!.orderLineId },
          interfaceVersion: 'V2',
          businessId,
        });
        const e = performance.now();
        if (r.code !== '000000') throw new Error(`purchase answered ${r.code}`);
        completedTotal++;
        // Count what finished inside the window; warm-up and the tail are excluded.
        if (e >= windowStart && e < windowEnd) {
          latencies.push(e - s);
          if (instanceIds.length < 5000) instanceIds.push(r.instanceId);
        }
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, loop));
  return { completed: latencies.length, completedTotal, failed, windowMs: c.durationMs, latenciesMs: latencies.map((v) => Math.round(v * 10) / 10), errors, instanceIds };
}

async function handle(c: ChildCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'createOrders': {
      const book = harness!.marketplace.orderBook;
      const ids: string[] = [];
      for (let i = 0; i < c.n; i++) {
        ids.push(
          book.createOrder({ orderType: 'NEW', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'prod-bench', skuCode: 'sku-basic', customerId: `cust-${randomUUID()}`, ...(c.linearValue ? { linearValue: c.linearValue } : {}) }).orderId,
        );
      }
      return ids;
    }
    case 'b0':
      return b0Step(c);
    case 'memory':
      if (c.gc && typeof globalThis.gc === 'function') {
        globalThis.gc();
        globalThis.gc();
      }
      return process.memoryUsage();
    case 'shutdown':
      worker?.shutdown();
      await running.catch(() => undefined);
      await harness?.close();
      await nativeConnection?.close();
      await workerPool?.end();
      setImmediate(() => process.exit(0));
      return true;
  }
}

process.on('message', (m: ChildCommand & { id: number }) => {
  handle(m).then(
    (value) => process.send?.({ id: m.id, ok: true, value }),
    (err: unknown) => process.send?.({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The parent going away (Ctrl-C, crash) must not leave a worker polling a dead server.
process.on('disconnect', () => process.exit(0));

const ready: ChildReady = {
  pid: process.pid,
  taskQueue,
  ...(harness
    ? {
        baseUrl: harness.baseUrl,
        accessKey: TEST_ACCESS_KEY,
        marketplace: { url: harness.config.koogallery.apiBase, ak: harness.config.koogallery.huaweiAk, sk: harness.config.koogallery.huaweiSk },
      }
    : {}),
  startSeconds: Math.round(performance.now() - started) / 1000,
};
process.send?.({ ready });
