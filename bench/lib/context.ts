import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { childPids, cpuMeter, parentPid, type CpuSource } from './proc-stats.js';
import { BENCH_CLUSTER_ROLE, bundleOrderWorkflow, databaseUrlFor, startBenchCluster, startBenchTemporal, type BenchTemporal } from './infra.js';
import { startChild, type BenchChild, type ChildConfig, type WorkerTuning } from './ipc.js';
import type { MachineDescription } from './machine.js';

// What the benchmarks of one run share: the private Temporal server, the workflow bundle, the service child
// (API + worker + simulator), a client and a pool for the bench's own reads, the CPU meter, and earlier results.

/** Process names in CPU reports. */
export const PROC = {
  bench: 'bench (load generator, marketplace side)',
  service: 'service (API + worker + simulator)',
  /** The service child of a topology run with its API apart from the workers (Topology.apiApart). */
  api: 'API (+ simulator)',
  worker1: 'worker 1 (child)',
  temporal: 'temporal server',
  pgTemporal: 'postgres backends (temporal server, cluster)',
  worker2: 'worker 2 (child)',
  pgBench: 'postgres backends (bench)',
  pgRest: 'postgres (rest: other sessions, background)',
} as const;

/** The shared state of a bench run. */
export interface BenchContext {
  readonly temporal: BenchTemporal;
  readonly bundlePath: string;
  readonly service: BenchChild;
  readonly serviceConfig: ChildConfig;
  readonly client: Client;
  readonly pool: pg.Pool;
  readonly machine: MachineDescription;
  /** Builds a CPU meter over the standard processes plus `extra` ones. */
  meter(extra?: CpuSource[]): ReturnType<typeof cpuMeter>;
  /** Results of benchmarks already run in this run, by id (B1 reads B0's, B2 reads B1's knee, …). */
  readonly earlier: Map<string, unknown>;
  /** Instance ids bought in this run (ACTIVE, with credentials), for B3 and B5's renewal. */
  readonly boughtInstanceIds: string[];
  /** Service base URL pieces. */
  readonly api: { readonly host: string; readonly port: number; readonly path: string; readonly accessKey: string };
}

/** The default worker tuning of the service child: the product's (createOrderWorker defaults). */
export const PRODUCT_TUNING: WorkerTuning = {};

/** The worker pool size production uses by default (PG_POOL_MAX). */
export const PRODUCT_WORKER_POOL_MAX = 10;

/** Starts the service child against `temporal` with worker `tuning` and worker pool size. */
export async function startService(
  name: string,
  temporal: BenchTemporal,
  bundlePath: string,
  o: { tuning?: WorkerTuning; workerPoolMax?: number; noWorker?: boolean } = {},
) {
  const tuning = o.tuning ?? PRODUCT_TUNING;
  const workerPoolMax = o.workerPoolMax ?? PRODUCT_WORKER_POOL_MAX;
  const config: ChildConfig = {
    role: 'harness',
    temporalAddress: temporal.address,
    namespace: temporal.namespace,
    bundlePath,
    apiDatabaseUrl: databaseUrlFor('koo-bench-api'),
    workerDatabaseUrl: databaseUrlFor('koo-bench-worker'),
    workerPoolMax,
    workerTuning: tuning,
    ...(o.noWorker ? { noWorker: true } : {}),
  };
  return { child: await startChild(name, config), config };
}

/** CPU sources every report includes. */
export async function standardSources(
  pool: pg.Pool,
  o: { service: () => number | undefined; serviceName?: string; temporal: () => number | undefined; worker1?: () => number | undefined; worker2?: () => number | undefined },
): Promise<CpuSource[]> {
  const me = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const postmaster = parentPid(me);
  const benchBackends = async (): Promise<number[]> =>
    (await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'koo-bench%'`)).rows.map((r) => r.pid);
  // The cluster server's own sessions (its role is the bench's): its persistence is part of its cost.
  const temporalBackends = async (): Promise<number[]> =>
    (await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE usename = $1`, [BENCH_CLUSTER_ROLE])).rows.map((r) => r.pid);
  return [
    { name: PROC.bench, kind: 'self' },
    { name: o.serviceName ?? PROC.service, kind: 'pid', pid: o.service },
    { name: PROC.temporal, kind: 'pid', pid: o.temporal },
    { name: PROC.pgBench, kind: 'pids', pids: benchBackends },
    { name: PROC.pgTemporal, kind: 'pids', pids: temporalBackends },
    ...(o.worker1 ? [{ name: PROC.worker1, kind: 'pid' as const, pid: o.worker1 }] : []),
    ...(o.worker2 ? [{ name: PROC.worker2, kind: 'pid' as const, pid: o.worker2 }] : []),
    {
      name: PROC.pgRest,
      kind: 'pids',
      pids: async () => {
        if (postmaster === undefined) return [];
        const ours = new Set([...(await benchBackends()), ...(await temporalBackends())]);
        return [postmaster, ...childPids(postmaster)].filter((p) => !ours.has(p));
      },
    },
  ];
}

/** Which Temporal a run uses, and how many worker processes serve the service's task queue. */
export interface Topology {
  /** dev: the CLI's dev server (SQLite, 1 shard); cluster: temporal-server on PostgreSQL, 4 shards (the cluster profile). */
  readonly server: 'dev' | 'cluster';
  /** 1: the service child's own worker; 2: plus a worker child on the same task queue. */
  readonly workerProcesses: 1 | 2;
  /**
   * The API in a process of its own and every worker in a worker child (1 or 2 of them), as npm start, compose and
   * Helm run them; otherwise the service child runs API + worker + simulator in one event loop (the B-series layout).
   */
  readonly apiApart?: boolean;
}

/** Sets up a run: server, bundle, service, client, pool. */
export async function createContext(
  machine: (cliPath: string, pgVersion: string) => MachineDescription,
  topology: Topology = { server: 'dev', workerProcesses: 1 },
  bundlePath?: string,
): Promise<BenchContext & { close(): Promise<void> }> {
  const label = `${topology.server}-${topology.workerProcesses}w${topology.apiApart ? '-apart' : ''}`;
  const temporal = topology.server === 'cluster' ? await startBenchCluster({ label }) : await startBenchTemporal({ label: 'main' });
  const bundle = bundlePath ? { path: bundlePath } : await bundleOrderWorkflow();
  const pool = new pg.Pool({ connectionString: databaseUrlFor('koo-bench-main'), max: 4 });
  const pgVersion = (await pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
  const apart = topology.apiApart === true;
  const { child: service, config: serviceConfig } = await startService('service', temporal, bundle.path, { noWorker: apart });
  const workerChild = (n: number) =>
    startChild(`worker-${n}`, {
      ...serviceConfig,
      role: 'worker',
      noWorker: false,
      workerDatabaseUrl: databaseUrlFor(`koo-bench-worker-${n}`),
      taskQueue: service.ready.taskQueue,
      ...(service.ready.marketplace ? { marketplace: service.ready.marketplace } : {}),
    });
  const worker1 = apart ? await workerChild(1) : undefined;
  const worker2 = topology.workerProcesses === 2 ? await workerChild(2) : undefined;
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, namespace: temporal.namespace });
  const url = new URL(service.ready.baseUrl!);
  let servicePid: number | undefined = service.pid;
  let worker1Pid: number | undefined = worker1?.pid;
  let worker2Pid: number | undefined = worker2?.pid;
  const sources = await standardSources(pool, {
    service: () => servicePid,
    ...(apart ? { serviceName: PROC.api } : {}),
    temporal: () => temporal.pid,
    ...(worker1 ? { worker1: () => worker1Pid } : {}),
    ...(worker2 ? { worker2: () => worker2Pid } : {}),
  });
  const ctx = {
    temporal,
    bundlePath: bundle.path,
    service,
    serviceConfig,
    client,
    pool,
    machine: machine(temporal.cliPath, pgVersion),
    meter: (extra: CpuSource[] = []) => cpuMeter([...sources, ...extra], { notOurs: [PROC.pgRest] }),
    earlier: new Map<string, unknown>(),
    boughtInstanceIds: [] as string[],
    api: { host: url.hostname, port: Number(url.port), path: url.pathname, accessKey: service.ready.accessKey! },
    async close() {
      servicePid = undefined;
      worker1Pid = undefined;
      worker2Pid = undefined;
      await worker2?.stop().catch(() => undefined);
      await worker1?.stop().catch(() => undefined);
      await service.stop().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await temporal.stop();
    },
  };
  return ctx;
}

/**
 * Waits (at most `maxMs`) for a second in which other processes use less than `maxOtherCores`, so a
 * latency-sensitive step starts in a quiet moment if there is one; returns what it saw.
 */
export async function awaitQuiet(ctx: BenchContext, maxMs = 15_000, maxOtherCores = 0.5): Promise<{ waitedSeconds: number; otherCores: number }> {
  const t0 = performance.now();
  for (;;) {
    const w = await ctx.meter().begin();
    await new Promise((res) => setTimeout(res, 1000));
    const c = await w.end();
    if (c.other.cores < maxOtherCores || performance.now() - t0 >= maxMs) {
      return { waitedSeconds: Math.round((performance.now() - t0) / 100) / 10, otherCores: c.other.cores };
    }
  }
}
