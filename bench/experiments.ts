import { Client, Connection } from '@temporalio/client';
import { DEV_SERVER_SQLITE_PRAGMAS } from '../scripts/infra/dev-server.js';
import { b0Step, type B0Step, type B0Summary } from './b0-baseline.js';
import { stepPasses } from './b1-purchase-throughput.js';
import { PROC, PRODUCT_WORKER_POOL_MAX, awaitQuiet, startService, standardSources, type BenchContext } from './lib/context.js';
import { cpuMeter } from './lib/proc-stats.js';
import { httpPurchaseStep, type HttpPurchaseStep } from './lib/http-purchase.js';
import { startBenchTemporal, type BenchTemporal } from './lib/infra.js';
import type { WorkerTuning } from './lib/ipc.js';
import { cpuLine, noisy } from './lib/limits.js';
import type { BenchResult } from './lib/results.js';
import { r } from './lib/stats.js';

// Tuning experiments (opt-in: `npm run bench -- experiments` or X1 X2 X3). Each variant runs the same short probe
// back to back with its control, so noise from other engineers' runs hits both alike:
//   c=1     one purchase at a time through the client (latency floor)
//   c=K     closed loop at B0's knee concurrency (throughput)
//   http    open-loop signed newInstance at half of the control's c=K throughput (B2-style p99)
//   http85  open-loop at 85 % of the control's c=K throughput: does the variant keep up near B1's knee?
// Product files are never edited: variants are a private dev server started with other arguments, or a service
// process whose worker gets other `tuning` / pool size.

interface Variant {
  readonly name: string;
  readonly server?: { pragmas?: readonly string[]; inMemory?: boolean; extraArgs?: readonly string[] };
  readonly tuning?: WorkerTuning;
  readonly workerPoolMax?: number;
}

interface Probe {
  readonly variant: string;
  readonly c1: Pick<B0Step, 'throughput' | 'latency'>;
  readonly cK: Pick<B0Step, 'concurrency' | 'throughput' | 'latency' | 'oursCpuMsPerPurchase' | 'cpuMsPerPurchase'> & { cpu: string };
  readonly http: Pick<HttpPurchaseStep, 'offeredRate' | 'completedRate' | 'latency' | 'codes' | 'oursCpuMsPerPurchase'> & { cpu: string };
  readonly http85: Pick<HttpPurchaseStep, 'offeredRate' | 'completedRate' | 'latency' | 'latencyGrowthMs' | 'oursCpuMsPerPurchase'> & { keptUp: boolean; cpu: string };
}

const dc = (kv: string) => ['--dynamic-config-value', kv];

/** The experiments, by id. */
export const EXPERIMENTS: Record<string, { title: string; variants: Variant[] }> = {
  X1: {
    title: "Dev server: history.transferProcessorMaxPollRPS (the transfer queue's read rate; default 20/s)",
    variants: [{ name: 'project dev server (as devServerArgs)' }, { name: 'transferProcessorMaxPollRPS=1000', server: { extraArgs: dc('history.transferProcessorMaxPollRPS=1000') } }],
  },
  X2: {
    title: 'Dev server: SQLite pragmas (DEV_SERVER_SQLITE_PRAGMAS)',
    variants: [
      { name: `project: ${DEV_SERVER_SQLITE_PRAGMAS.join(' ')}` },
      { name: 'journal_mode=wal synchronous=off', server: { pragmas: ['journal_mode=wal', 'synchronous=off', 'busy_timeout=5000'] } },
      { name: 'SQLite defaults (rollback journal, synchronous=full)', server: { pragmas: [] } },
      { name: 'in memory (no file)', server: { inMemory: true } },
    ],
  },
  X3: {
    title: 'Worker tuning and pool size (createOrderWorker tuning, worker pg pool)',
    variants: [
      { name: 'product defaults (cache 2000, WFT slots SDK default, activities 100, pool 10)' },
      { name: 'maxConcurrentWorkflowTaskExecutions=4', tuning: { maxConcurrentWorkflowTaskExecutions: 4 } },
      { name: 'maxConcurrentWorkflowTaskExecutions=200, activities 200, local 200', tuning: { maxConcurrentWorkflowTaskExecutions: 200, maxConcurrentActivityTaskExecutions: 200, maxConcurrentLocalActivityExecutions: 200 } },
      { name: 'worker pool max 3', workerPoolMax: 3 },
      { name: 'worker pool max 30', workerPoolMax: 30 },
    ],
  },
};

/**
 * A context for one variant: a fresh dev server (the project's arguments unless the variant changes them — fresh
 * for controls too, because the server slows down as open orders pile up, see B1) and its own service process.
 */
async function variantContext(base: BenchContext, v: Variant): Promise<{ ctx: BenchContext; close(): Promise<void> }> {
  const temporal: BenchTemporal = await startBenchTemporal({ label: 'x', ...(v.server ?? {}) });
  const { child, config } = await startService('experiment', temporal, base.bundlePath, {
    ...(v.tuning ? { tuning: v.tuning } : {}),
    workerPoolMax: v.workerPoolMax ?? PRODUCT_WORKER_POOL_MAX,
  });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, namespace: temporal.namespace });
  let pid: number | undefined = child.pid;
  const sources = await standardSources(base.pool, { service: () => pid, temporal: () => temporal.pid });
  const url = new URL(child.ready.baseUrl!);
  const ctx: BenchContext = {
    ...base,
    temporal,
    service: child,
    serviceConfig: config,
    client,
    meter: (extra = []) => cpuMeter([...sources, ...extra], { notOurs: [PROC.pgRest] }),
    boughtInstanceIds: [],
    api: { host: url.hostname, port: Number(url.port), path: url.pathname, accessKey: child.ready.accessKey! },
  };
  return {
    ctx,
    async close() {
      pid = undefined;
      await child.stop();
      await connection.close();
      await temporal.stop();
    },
  };
}

async function probe(ctx: BenchContext, name: string, k: number, httpRate: number | undefined, http85Rate: number | undefined): Promise<Probe> {
  // Variants are compared with each other: start each in a quiet moment if one comes within 20 s.
  await awaitQuiet(ctx, 20_000);
  const c1 = await b0Step(ctx, 1, 4000, 1000);
  const cK = await b0Step(ctx, k, 8000);
  const rate = httpRate ?? r(cK.throughput * 0.5, 1);
  const http = await httpPurchaseStep(ctx, Math.max(1, rate), 8000);
  const high = await httpPurchaseStep(ctx, Math.max(1, http85Rate ?? r(cK.throughput * 0.85, 1)), 8000);
  const p: Probe = {
    variant: name,
    c1: { throughput: c1.throughput, latency: c1.latency },
    cK: { concurrency: k, throughput: cK.throughput, latency: cK.latency, oursCpuMsPerPurchase: cK.oursCpuMsPerPurchase, cpuMsPerPurchase: cK.cpuMsPerPurchase, cpu: cpuLine(cK.cpu) },
    http: { offeredRate: http.offeredRate, completedRate: http.completedRate, latency: http.latency, codes: http.codes, oursCpuMsPerPurchase: http.oursCpuMsPerPurchase, cpu: cpuLine(http.cpu) },
    http85: {
      offeredRate: high.offeredRate,
      completedRate: high.completedRate,
      latency: high.latency,
      latencyGrowthMs: high.latencyGrowthMs,
      oursCpuMsPerPurchase: high.oursCpuMsPerPurchase,
      keptUp: stepPasses(high),
      cpu: cpuLine(high.cpu),
    },
  };
  console.log(
    `  ${name}: c=1 p50 ${c1.latency.p50} ms; c=${k} ${cK.throughput}/s (${cK.oursCpuMsPerPurchase} ms CPU/purchase); http ${http.offeredRate}/s p50 ${http.latency.p50} p99 ${http.latency.p99} ms; ` +
      `http ${high.offeredRate}/s ${stepPasses(high) ? 'kept up' : 'fell behind'} (p99 ${high.latency.p99} ms, queue growth ${high.latencyGrowthMs} ms); ${cpuLine(cK.cpu)}${noisy(cK.cpu) || noisy(http.cpu) || noisy(high.cpu) ? ' [noisy]' : ''}`,
  );
  return p;
}

/** Runs the experiments `ids`; each returns a result whose details hold every variant's probe. */
export async function runExperiments(base: BenchContext, ids: readonly string[], b0: B0Summary | undefined): Promise<BenchResult[]> {
  const k = b0?.kneeConcurrency ?? 16;
  const out: BenchResult[] = [];
  for (const id of ids) {
    const x = EXPERIMENTS[id]!;
    const started = new Date();
    const t0 = performance.now();
    console.log(`[bench] ${id}: ${x.title}`);
    const probes: Probe[] = [];
    let httpRate: number | undefined;
    let http85Rate: number | undefined;
    for (const v of x.variants) {
      const vc = await variantContext(base, v);
      try {
        const p = await probe(vc.ctx, v.name, k, httpRate, http85Rate);
        // Every variant gets the control's HTTP rates, so their latencies compare at the same load.
        httpRate ??= p.http.offeredRate;
        http85Rate ??= p.http85.offeredRate;
        probes.push(p);
      } finally {
        await vc.close();
      }
    }
    const control = probes[0]!;
    const lines = probes.map(
      (p) =>
        `${p.variant}: c=1 p50 ${p.c1.latency.p50} ms, c=${k} ${p.cK.throughput}/s (×${r(p.cK.throughput / control.cK.throughput, 2)}), http@${p.http.offeredRate}/s p99 ${p.http.latency.p99} ms, http@${p.http85.offeredRate}/s ${p.http85.keptUp ? 'kept up' : 'fell behind'}`,
    );
    out.push({
      id,
      title: x.title,
      startedAt: started.toISOString(),
      durationSeconds: r((performance.now() - t0) / 1000, 1),
      headline: lines.join(' | '),
      targets: [],
      limitedBy: 'see probes',
      details: { kneeConcurrency: k, probes },
    });
  }
  return out;
}

