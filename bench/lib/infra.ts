import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { DEV_SERVER_SQLITE_PRAGMAS, devServerArgs } from '../../scripts/infra/dev-server.js';
import { dataDir, logDir, repoRoot } from '../../scripts/infra/paths.js';
import { clusterPorts, clusterServerCommand, CLUSTER_PORT_SPAN, ensureClusterRole, setupClusterNamespace, setupClusterSchema, type ClusterDatabases } from '../../scripts/infra/cluster.js';
import { asPostgres, ensurePostgres } from '../../scripts/infra/postgres.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { createPool } from '../../src/platform/db/pool.js';
import { portOpen, startBackground, waitFor } from '../../scripts/infra/proc.js';
import { ensureTemporalCli } from '../../scripts/infra/temporal-cli.js';

// The bench's own servers: a private Temporal dev server on free ports with a fresh database file (so other
// engineers' workflows never share its SQLite writer, and ours never reach theirs), and the session's PostgreSQL
// test database (shared; its CPU is sampled per backend).

/** Where the bench keeps its scratch files (git-ignored). */
export const BENCH_DATA_DIR = join(dataDir, 'bench');

/**
 * The test database (koogallery_orders_test) the bench shares with `npm test`; override with BENCH_DATABASE_URL.
 * `ensureBenchDatabase` brings it up and migrates it, so the bench also runs on a machine where no test ran yet.
 */
export let BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://koogallery:koogallery@127.0.0.1:5432/koogallery_orders_test';

/**
 * PostgreSQL up (the local cluster started, the role and database created when missing, as `npm test` does) and
 * the database migrated. Call once, before anything reads BENCH_DATABASE_URL.
 */
export async function ensureBenchDatabase(): Promise<void> {
  const postgres = await ensurePostgres({ preferredUrl: process.env.BENCH_DATABASE_URL, database: 'koogallery_orders_test' });
  BENCH_DATABASE_URL = postgres.url;
  const pool = createPool({ url: postgres.url, max: 1, applicationName: 'koo-bench-setup' });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
}

/** The database URL with an application_name, so the bench can find its own backends in pg_stat_activity. */
export function databaseUrlFor(applicationName: string): string {
  const u = new URL(BENCH_DATABASE_URL);
  u.searchParams.set('application_name', applicationName);
  return u.toString();
}

/** A free TCP port on 127.0.0.1 (bound and released: a race is possible but harmless on a dev box). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A Temporal dev server the bench started. */
export interface BenchTemporal {
  readonly address: string;
  readonly namespace: string;
  readonly pid: number;
  readonly metricsUrl: string;
  readonly dbFile: string;
  readonly cliPath: string;
  readonly pragmas: readonly string[];
  readonly extraArgs: readonly string[];
  readonly startSeconds: number;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` with the project's arguments (devServerArgs: search attributes,
 * update-with-start enabled) on free ports, headless, with a fresh database file. `pragmas` replaces
 * DEV_SERVER_SQLITE_PRAGMAS for tuning experiments; `inMemory` drops the file altogether.
 */
export async function startBenchTemporal(o: { label: string; pragmas?: readonly string[]; inMemory?: boolean; extraArgs?: readonly string[] }): Promise<BenchTemporal> {
  const started = performance.now();
  const cliPath = ensureTemporalCli();
  const [port, uiPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  mkdirSync(BENCH_DATA_DIR, { recursive: true });
  const dbFile = join(BENCH_DATA_DIR, `temporal-${o.label}-${Date.now()}.db`);
  const pragmas = o.pragmas ?? DEV_SERVER_SQLITE_PRAGMAS;
  const base = devServerArgs({ port, uiPort, dbFile, namespace: 'default', metricsPort });
  const args: string[] = [];
  for (let i = 0; i < base.length; i++) {
    // Replace the project's pragmas (and, in memory, the file) with the experiment's.
    if (base[i] === '--sqlite-pragma') {
      i++;
      continue;
    }
    if (o.inMemory && base[i] === '--db-filename') {
      i++;
      continue;
    }
    args.push(base[i]!);
  }
  if (!o.inMemory) for (const p of pragmas) args.push('--sqlite-pragma', p);
  args.push('--headless', ...(o.extraArgs ?? []));
  const server = startBackground(`temporal-${o.label}`, cliPath, args, { logFile: join(logDir, `bench-temporal-${o.label}.log`) });
  let exitCode: number | null = null;
  server.child.once('exit', (code) => (exitCode = code ?? -1));
  const address = `127.0.0.1:${port}`;
  await waitFor(
    `the bench's Temporal dev server on ${address}`,
    async () => {
      if (exitCode !== null) throw new Error(`temporal server start-dev exited with ${exitCode}; see ${server.logFile}`);
      try {
        const c = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await c.workflowService.getSystemInfo({});
          return true;
        } finally {
          await c.close();
        }
      } catch {
        return false;
      }
    },
    60_000,
    250,
  );
  return {
    address,
    namespace: 'default',
    pid: server.child.pid!,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    dbFile,
    cliPath,
    pragmas: o.inMemory ? ['(in memory)'] : pragmas,
    extraArgs: o.extraArgs ?? [],
    startSeconds: Math.round(performance.now() - started) / 1000,
    async stop() {
      await server.stop();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
    },
  };
}

/** The PostgreSQL role the bench's cluster server connects as (its backends are told apart by it). */
export const BENCH_CLUSTER_ROLE = 'koogallery_temporal_bench';

/** A block of cluster ports below 32768: BENCH_CLUSTER_PORT_BASE when set, else a random free one from 20000. */
async function clusterPortBlock() {
  const fixed = process.env.BENCH_CLUSTER_PORT_BASE;
  for (let attempt = 0; attempt < 50; attempt++) {
    const ports = clusterPorts(fixed ? Number(fixed) : 20_000 + Math.floor(Math.random() * 1_200) * CLUSTER_PORT_SPAN);
    const taken = await Promise.all((Object.values(ports) as number[]).map((p) => portOpen(p)));
    if (!taken.includes(true)) return ports;
    if (fixed) throw new Error(`BENCH_CLUSTER_PORT_BASE=${fixed}: a port of the block is taken`);
  }
  throw new Error('no free block of cluster ports below 32768');
}

/**
 * The cluster profile for a bench run (scripts/infra/cluster.ts): temporal-server on the bench's PostgreSQL, 4 history
 * shards, from deploy/temporal/config/temporal-server.yaml, with fresh databases of its own (dropped at the end: a
 * run leaves thousands of open orders behind). Same shape as the dev server's handle, so every bench runs on either.
 */
export async function startBenchCluster(o: { label: string }): Promise<BenchTemporal> {
  const started = performance.now();
  const pgUrl = new URL(BENCH_DATABASE_URL);
  const pgPort = Number(pgUrl.port || 5432);
  const name = `koogallery_temporal_bench_${o.label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
  const db: ClusterDatabases = { host: pgUrl.hostname, port: pgPort, user: BENCH_CLUSTER_ROLE, password: BENCH_CLUSTER_ROLE, database: name, visibilityDatabase: `${name}_vis` };
  const drop = () => {
    for (const d of [db.database, db.visibilityDatabase]) asPostgres(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`, pgPort);
  };
  ensureClusterRole(db);
  drop();
  setupClusterSchema(db);
  const ports = await clusterPortBlock();
  const command = clusterServerCommand({ ports, db });
  const server = startBackground(`temporal-cluster-${o.label}`, command.command, command.args, { logFile: join(logDir, `bench-temporal-cluster-${o.label}.log`), env: command.env });
  let exitCode: number | null = null;
  server.child.once('exit', (code) => (exitCode = code ?? -1));
  const address = `127.0.0.1:${ports.frontend}`;
  await waitFor(
    `the bench's temporal-server on ${address}`,
    async () => {
      if (exitCode !== null) throw new Error(`temporal-server exited with ${exitCode}; see ${server.logFile}`);
      return fetch(`http://127.0.0.1:${ports.frontendHttp}/api/v1/system-info`).then((r) => r.ok, () => false);
    },
    120_000,
    250,
  );
  await setupClusterNamespace(address);
  return {
    address,
    namespace: 'default',
    pid: server.child.pid!,
    metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
    dbFile: `postgresql://${db.host}:${db.port}/${db.database} (+ ${db.visibilityDatabase})`,
    cliPath: ensureTemporalCli(),
    pragmas: ['(PostgreSQL persistence and SQL visibility, 4 history shards)'],
    extraArgs: [],
    startSeconds: Math.round(performance.now() - started) / 1000,
    async stop() {
      await server.stop();
      drop();
    },
  };
}

/** Bundles the order workflow once per bench run (the sources as they are now, not a possibly stale dist/). */
export async function bundleOrderWorkflow(): Promise<{ path: string; seconds: number }> {
  const t0 = performance.now();
  const bundle = await bundleWorkflowCode({
    workflowsPath: join(repoRoot, 'src', 'workflows.ts'),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m) => console.error(m) },
  });
  mkdirSync(BENCH_DATA_DIR, { recursive: true });
  const path = join(BENCH_DATA_DIR, 'workflow-bundle.js');
  writeFileSync(path, bundle.code);
  return { path, seconds: Math.round(performance.now() - t0) / 1000 };
}

/** Reads the dev server's Prometheus metrics and sums every series of `name` whose labels contain all of `match`. */
export async function serverMetric(metricsUrl: string, name: string, match: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(match).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Every metric line of the dev server that mentions `needle` (to find the right series when exploring). */
export async function serverMetricLines(metricsUrl: string, needle: RegExp): Promise<string[]> {
  const text = await (await fetch(metricsUrl)).text();
  return text.split('\n').filter((l) => !l.startsWith('#') && needle.test(l));
}
