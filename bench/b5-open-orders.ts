import { randomUUID } from 'node:crypto';
import proto from '@temporalio/proto';
import { formatCompactUtc } from '../src/koogallery/index.js';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, type OrderDetails, type OrderKey, type OrderState, type OrderWorkflowInput } from '../src/orders/contract.js';
import { InstanceIdKey, InterfaceVersionKey, OrderIdKey, OrderPhaseKey, TestOrderKey } from '../src/kernel/search-attributes.js';
import { createProductionClient } from '../tools/simulator/production-client.js';
import type { B2Summary } from './b2-purchase-latency.js';
import type { BenchContext } from './lib/context.js';
import { PRODUCT_WORKER_POOL_MAX } from './lib/context.js';
import { databaseUrlFor, freePort, serverMetric } from './lib/infra.js';
import { startChild, type BenchChild } from './lib/ipc.js';
import { cpuLine } from './lib/limits.js';
import { processRssKb } from './lib/proc-stats.js';
import { purchaseViaClient } from './lib/purchase-op.js';
import type { BenchResult } from './lib/results.js';
import { r, summarize } from './lib/stats.js';

// B5: 10,000 open orders on one worker. A child-process worker (its own task queue, maxCachedWorkflows 12,000) is
// measured (RSS from /proc) idle, after N_A real purchases (update-with-start, V1 order with details inline: the
// whole provisioning, transitions and read model), and after the rest of the 10,000 were started as continued
// orders (input.carried = an ACTIVE state, what continue-as-new hands a long-lived order): one workflow task each,
// so 10,000 fit in the time budget. Then: no workflow-task timeouts (server metrics + a sample of histories), and
// renewals (V1 refreshInstance over HTTP) of random orders answered at B2's latency.

// @temporalio/proto is CommonJS: take its namespace from the default export (as scripts/infra/dev-server.ts does).
const { temporal } = proto;

const TOTAL = 10_000;
const FULL_TARGET = 1_000;
/** Started but not yet in the worker's cache: kept small so the worker never builds a backlog of first tasks. */
const MAX_UNCACHED = 300;

const details = (customerId: string): OrderDetails => ({
  customerId,
  productId: 'prod-bench',
  skuCode: 'sku-basic',
  chargingMode: 'PERIOD',
  periodType: 'year',
  periodNumber: 1,
  expireTime: new Date(Date.now() + 365 * 86_400_000).toISOString(),
  trial: false,
  spec: { amount: 1 },
  orderAmount: '1200.000',
});

async function settledRssKb(worker: BenchChild): Promise<number> {
  await worker.request({ cmd: 'memory', gc: true });
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await new Promise((res) => setTimeout(res, 400));
    samples.push(processRssKb(worker.pid) ?? Number.NaN);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

async function workerMetric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Runs `fn` over `items` with `concurrency` in flight until done or `deadline`; returns how many finished. */
async function pooled<T>(items: readonly T[], concurrency: number, deadline: number, fn: (t: T) => Promise<void>): Promise<{ done: number; failed: number; errors: string[] }> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length && Date.now() < deadline) {
        const item = items[next++]!;
        try {
          await fn(item);
          done++;
        } catch (err) {
          failed++;
          if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
        }
      }
    }),
  );
  return { done, failed, errors };
}

/** Runs B5. */
export async function runB5(ctx: BenchContext, b2: B2Summary | undefined, o: { fullBudgetMs?: number; carriedBudgetMs?: number } = {}): Promise<BenchResult> {
  const started = new Date();
  const t0 = performance.now();
  const taskQueue = `bench-open-orders-${randomUUID().slice(0, 8)}`;
  const metricsPort = await freePort();
  const tuning = { maxCachedWorkflows: 12_000 };
  const worker = await startChild('b5-worker', {
    role: 'worker',
    temporalAddress: ctx.temporal.address,
    namespace: ctx.temporal.namespace,
    bundlePath: ctx.bundlePath,
    apiDatabaseUrl: databaseUrlFor('koo-bench-b5'),
    workerDatabaseUrl: databaseUrlFor('koo-bench-b5-worker'),
    workerPoolMax: PRODUCT_WORKER_POOL_MAX,
    workerTuning: tuning,
    taskQueue,
    metricsPort,
  });
  const workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
  try {
    const meter = ctx.meter([{ name: 'b5 worker (child)', kind: 'pid', pid: () => worker.pid }]);
    await new Promise((res) => setTimeout(res, 2000));
    const rssIdleKb = await settledRssKb(worker);
    const wftTimeoutsBefore = await wftTimeouts(ctx);

    // Phase A: real purchases, as the API makes them (V1: details inline, no Query Order).
    const fullKeys = Array.from({ length: FULL_TARGET }, () => ({ orderId: `B5${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`, businessId: randomUUID() }));
    const fullInstanceIds: string[] = [];
    const wA = await meter.begin();
    const a = await pooled(fullKeys, 24, Date.now() + (o.fullBudgetMs ?? 150_000), async (k) => {
      const res = await purchaseViaClient(ctx.client, taskQueue, { key: { kind: 'v1-order', orderId: k.orderId }, interfaceVersion: 'V1', businessId: k.businessId, details: details(`cust-${k.businessId}`) });
      if (res.code !== '000000') throw new Error(`purchase answered ${res.code}`);
      fullInstanceIds.push(res.instanceId);
    });
    const cpuA = await wA.end();
    const rssFullKb = await settledRssKb(worker);
    console.log(`  B5 ${a.done} purchases in ${cpuA.wallSeconds} s (${r(a.done / cpuA.wallSeconds, 1)}/s); worker RSS ${Math.round(rssIdleKb / 1024)} → ${Math.round(rssFullKb / 1024)} MiB; ${cpuLine(cpuA)}`);

    // Phase B: the rest as continued orders (ACTIVE, carried state): one workflow task each.
    const remaining = TOTAL - a.done;
    const carriedKeys = Array.from({ length: remaining }, () => ({ orderId: `B5C${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`, instanceId: randomUUID() }));
    const cachedAfterPurchases = await workerMetric(workerMetrics, 'temporal_sticky_cache_size');
    const wB = await meter.begin();
    const deadlineB = Date.now() + (o.carriedBudgetMs ?? 150_000);
    let cached = await workerMetric(workerMetrics, 'temporal_sticky_cache_size');
    const b = { done: 0, failed: 0, errors: [] as string[] };
    for (let i = 0; i < carriedKeys.length && Date.now() < deadlineB; ) {
      // Flow control: start a batch only while the worker keeps up (its cache trails the starts by < MAX_UNCACHED).
      if (a.done + b.done - cached >= MAX_UNCACHED) {
        await new Promise((res) => setTimeout(res, 100));
        cached = await workerMetric(workerMetrics, 'temporal_sticky_cache_size');
        continue;
      }
      const batch = carriedKeys.slice(i, i + 100);
      i += batch.length;
      const res = await pooled(batch, 50, deadlineB, (k) => startContinued(ctx, taskQueue, k));
      b.done += res.done;
      b.failed += res.failed;
      b.errors.push(...res.errors.slice(0, 5 - b.errors.length));
      cached = await workerMetric(workerMetrics, 'temporal_sticky_cache_size');
    }
    // Started is not yet cached: wait (bounded) until the worker's cache holds every order.
    const cacheDeadline = Date.now() + 30_000;
    while (cached < a.done + b.done && Date.now() < cacheDeadline) {
      await new Promise((res) => setTimeout(res, 250));
      cached = await workerMetric(workerMetrics, 'temporal_sticky_cache_size');
    }
    const cpuB = await wB.end();
    const rssAllKb = await settledRssKb(worker);
    const open = a.done + b.done;
    console.log(`  B5 +${b.done} continued orders in ${cpuB.wallSeconds} s; cache ${cached}; worker RSS → ${Math.round(rssAllKb / 1024)} MiB; ${cpuLine(cpuB)}`);

    const running = (await ctx.client.workflow.count(`TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`)).count;
    const timeouts = (await wftTimeouts(ctx)) - wftTimeoutsBefore;
    const sample = await historySample(ctx, taskQueue, 100);
    const taskFailures = await workerMetric(workerMetrics, 'temporal_workflow_task_execution_failed_total');

    // Renewals of random purchased orders, one at a time, through the API (V1 refreshInstance).
    const market = createProductionClient({ baseUrl: `http://${ctx.api.host}:${ctx.api.port}${ctx.api.path}`, accessKey: ctx.api.accessKey });
    const renewals: number[] = [];
    const renewalCodes: string[] = [];
    for (let i = 0; i < 30 && fullInstanceIds.length > 0; i++) {
      const instanceId = fullInstanceIds[Math.floor(Math.random() * fullInstanceIds.length)]!;
      const ans = await market.v1('refreshInstance', {
        instanceId,
        orderId: `B5R${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`,
        expireTime: formatCompactUtc(new Date(Date.now() + 2 * 365 * 86_400_000)),
        periodType: 'year',
        periodNumber: '1',
        orderAmount: '1200.000',
      });
      renewals.push(ans.latencyMs);
      renewalCodes.push(String(ans.body?.resultCode));
    }
    const renewal = summarize(renewals);
    const okRenewals = renewalCodes.filter((c) => c === '000000').length;
    // Per cached workflow, in decimal MB (RSS is in KiB); the denominators are what the worker's cache held.
    const mbPerThousand = (kib: number, n: number) => (n > 0 ? r(((kib * 1024) / 1e6 / n) * 1000, 1) : Number.NaN);
    const perThousandFullMB = mbPerThousand(rssFullKb - rssIdleKb, cachedAfterPurchases);
    const perThousandAllMB = mbPerThousand(rssAllKb - rssIdleKb, cached);
    const perThousandCarriedMB = mbPerThousand(rssAllKb - rssFullKb, cached - cachedAfterPurchases);
    const b2p99 = b2?.half.latency.p99;
    console.log(`  B5 renewals: p50 ${renewal.p50} ms, p99 ${renewal.p99} ms (${okRenewals}/${renewals.length} 000000); WFT timeouts ${timeouts}, sampled histories with timeouts ${sample.withTimeouts}/${sample.sampled}`);
    const worstPerWorkflowMB = r(Math.max(perThousandFullMB, perThousandAllMB) / 1000, 3);
    return {
      id: 'B5',
      title: '10,000 open orders on one worker: memory, task timeouts, renewal latency',
      startedAt: started.toISOString(),
      durationSeconds: r((performance.now() - t0) / 1000, 1),
      headline: `${open} open (${running} running, ${cached} cached), worker RSS ${Math.round(rssIdleKb / 1024)} → ${Math.round(rssAllKb / 1024)} MiB: ${perThousandFullMB} MB per 1,000 purchased orders, ${perThousandCarriedMB} MB per 1,000 continued; renewal p50 ${renewal.p50} / p99 ${renewal.p99} ms`,
      targets: [
        { name: 'worker RSS per cached order (reported per 1,000)', target: '≤ 1 MB each (≤ 1,000 MB per 1,000)', value: worstPerWorkflowMB, unit: 'MB each', met: worstPerWorkflowMB <= 1 },
        { name: 'open orders reached and cached', target: `${TOTAL}`, value: `${open} open, ${cached} cached`, met: open >= TOTAL && cached >= TOTAL },
        { name: 'workflow-task timeouts', target: '0', value: timeouts + sample.withTimeouts, met: timeouts === 0 && sample.withTimeouts === 0 },
        {
          name: 'renewal p99 with 10k cached',
          target: b2p99 !== undefined ? `≤ B2's p99 at 50 % (${b2p99} ms) or ≤ 300 ms` : '≤ 300 ms',
          value: renewal.p99,
          unit: 'ms',
          met: okRenewals === renewals.length && renewal.p99 <= Math.max(300, b2p99 ?? 300),
        },
      ],
      limitedBy: `memory per cached workflow (worker RSS); start rate by CPU (${cpuLine(cpuA)})`,
      ...(b2 ? { ratioToBaseline: { baseline: "B2 p50 at 50 % of the knee", ratio: r(renewal.p50 / b2.half.latency.p50, 2) } } : {}),
      details: {
        taskQueue,
        workerTuning: tuning,
        rssKb: { idle: rssIdleKb, afterPurchases: rssFullKb, afterAll: rssAllKb },
        purchased: { ...a, seconds: cpuA.wallSeconds, cpu: cpuA },
        continued: { ...b, seconds: cpuB.wallSeconds, cpu: cpuB },
        cachedWorkflows: cached,
        runningOnServer: running,
        workflowTaskTimeoutsFromServerMetrics: timeouts,
        historySample: sample,
        workerWorkflowTaskFailures: taskFailures,
        cachedAfterPurchases,
        mbPerThousandCached: { purchased: perThousandFullMB, continued: perThousandCarriedMB, all: perThousandAllMB },
        renewals: { latency: renewal, codes: renewalCodes },
      },
    };
  } finally {
    await worker.stop();
  }
}

/** Starts one order as a continued, ACTIVE order (what continue-as-new hands on): one workflow task, no activity. */
async function startContinued(ctx: BenchContext, taskQueue: string, k: { orderId: string; instanceId: string }): Promise<void> {
  const key: OrderKey = { kind: 'v1-order', orderId: k.orderId };
  const d = details(`cust-${k.instanceId}`);
  const carried: OrderState = { instanceId: k.instanceId, key, interfaceVersion: 'V1', testOrder: false, phase: 'ACTIVE', details: d, freezeReasons: [], appliedOrderIds: [], seq: 2, frontEndUrl: 'https://t0000000000000000.tenants.test' };
  const input: OrderWorkflowInput = { key, interfaceVersion: 'V1', instanceId: k.instanceId, testOrder: false, details: d, carried };
  await ctx.client.workflow.start(ORDER_WORKFLOW_TYPE, {
    workflowId: orderWorkflowId(key),
    taskQueue,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: OrderIdKey, value: k.orderId },
      { key: InstanceIdKey, value: k.instanceId },
      { key: OrderPhaseKey, value: 'ACTIVE' },
      { key: TestOrderKey, value: false },
      { key: InterfaceVersionKey, value: 'V1' },
    ],
  });
}

/** Workflow-task timeouts the server counted (start-to-close and schedule-to-start, e.g. sticky queue). */
async function wftTimeouts(ctx: BenchContext): Promise<number> {
  const op = { operation: 'TimerActiveTaskWorkflowTaskTimeout' };
  return (await serverMetric(ctx.temporal.metricsUrl, 'start_to_close_timeout', op)) + (await serverMetric(ctx.temporal.metricsUrl, 'schedule_to_start_timeout', op));
}

/** Reads `n` random histories of the task queue and counts WorkflowTaskTimedOut events. */
async function historySample(ctx: BenchContext, taskQueue: string, n: number): Promise<{ sampled: number; withTimeouts: number; events: number }> {
  const ids: string[] = [];
  for await (const w of ctx.client.workflow.list({ query: `TaskQueue = '${taskQueue}'`, pageSize: 1000 })) {
    ids.push(w.workflowId);
    if (ids.length >= 2000) break;
  }
  const pickIds = ids.sort(() => Math.random() - 0.5).slice(0, n);
  let withTimeouts = 0;
  let events = 0;
  for (const id of pickIds) {
    const h = await ctx.client.workflow.getHandle(id).fetchHistory();
    events += h.events?.length ?? 0;
    if (h.events?.some((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)) withTimeouts++;
  }
  return { sampled: pickIds.length, withTimeouts, events };
}
