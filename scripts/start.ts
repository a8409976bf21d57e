// `npm start`: the whole stack on this machine with embedded development defaults. Installs what is missing (the
// Temporal CLI from its Go module, PostgreSQL from Debian), builds, migrates, then runs the Temporal dev server
// (file persistence, Web UI, our search attributes), the marketplace simulator's open API (unless a real
// KOOGALLERY_API_BASE is configured), the worker and the API. Ctrl-C (or SIGTERM) stops everything it started,
// newest first; if this process is killed outright, the reaper (scripts/infra/reaper.mjs) stops them instead.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { DEV_DEFAULTS, loadConfig, type AppConfig } from '../src/platform/config.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createPool } from '../src/platform/db/pool.js';
import { temporalConnectionOptions } from '../src/platform/temporal/connection.js';
import { checkWorkerPolling } from '../src/platform/temporal/worker-health.js';
import { SIM_SUPERVISED_PRODUCTS } from '../tools/simulator/scenarios.js';
import { clusterPorts, defaultClusterDatabases, ensureCluster } from './infra/cluster.js';
import { ensureDevServer } from './infra/dev-server.js';
import { dataDir, logDir, repoRoot } from './infra/paths.js';
import { ensurePostgres } from './infra/postgres.js';
import { portOpen, say, startBackground, waitFor, type Background } from './infra/proc.js';
import { ensureGoTool, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER } from './infra/go-tools.js';
import { ensureTemporalCli } from './infra/temporal-cli.js';

const API_PORT = Number(process.env.PORT ?? 8080);
const INTERNAL_PORT = Number(process.env.INTERNAL_PORT ?? 8081);
const TEMPORAL_PORT = Number(process.env.TEMPORAL_PORT ?? 7233);
const UI_PORT = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
const SIM_PORT = Number(process.env.SIM_PORT ?? 7090);
const WORKER_METRICS_PORT = Number(process.env.WORKER_METRICS_PORT ?? 9464);
/**
 * Which Temporal runs the stack: `dev` (default) the CLI's single-shard SQLite dev server; `cluster` Temporal's own
 * server on PostgreSQL with 4 history shards and its Web UI (scripts/infra/cluster.ts), from the configuration
 * docker-compose.yml runs. The cluster takes TEMPORAL_PORT..TEMPORAL_PORT+9 (frontend, services, membership, metrics).
 */
const PROFILE = process.env.TEMPORAL_PROFILE ?? 'dev';
if (PROFILE !== 'dev' && PROFILE !== 'cluster') {
  console.error(`[start] TEMPORAL_PROFILE must be dev or cluster, not ${PROFILE}`);
  process.exit(2);
}

const stops: Array<{ name: string; stop: () => Promise<void>; kill?: () => void }> = [];
let stopping: Promise<never> | undefined;

/**
 * Stops everything started here, newest first, then exits. Idempotent: the first caller's exit code wins and every
 * later call (a second signal, a process that exits because it was stopped) waits for the same stop.
 */
function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    for (const s of [...stops].reverse()) {
      say('start', `stopping ${s.name}`);
      await s.stop().catch((err: unknown) => say('start', `${s.name}: ${(err as Error).message}`));
    }
    process.exit(code);
  })();
  return stopping;
}

/**
 * Signals come in bursts: a terminal's Ctrl-C reaches every process of the foreground group, and npm and
 * scripts/run.mjs forward what they get, so one key press may arrive here two or three times within milliseconds.
 * Signals less than a second apart are one request. The first request stops in order; the second says so and keeps
 * stopping; the third kills what is left at once.
 */
// START_SIGNAL_BURST_MS: only for the test that presses Ctrl-C twice within one stop (a shorter window lets its second
// press land while the stop is still under way on a fast machine).
const BURST_MS = Number(process.env.START_SIGNAL_BURST_MS ?? 1000);
let requests = 0;
let lastSignalAt = 0;
function onSignal(signal: NodeJS.Signals): void {
  const now = Date.now();
  const sameBurst = now - lastSignalAt < BURST_MS;
  lastSignalAt = now;
  if (sameBurst) return;
  requests += 1;
  if (requests === 1) {
    say('start', `${signal}: stopping everything this started (again twice to kill it at once)`);
    void stopAll(0);
  } else if (requests === 2) {
    say('start', `${signal}: still stopping in order; once more kills what is left`);
  } else {
    say('start', `${signal}: killing what is left`);
    for (const s of stops) s.kill?.();
    process.exit(130);
  }
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function background(name: string, args: string[], env: NodeJS.ProcessEnv): Background {
  // A group of its own: only stopAll() signals it (one SIGTERM, after what was started later has stopped), and the
  // reaper kills it if this process dies without stopping it.
  const proc = startBackground(name, process.execPath, args, { logFile: join(logDir, `${name}.log`), env, cwd: repoRoot });
  // Mirror the process's output on the console, one prefixed line at a time.
  const prefix = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) process.stdout.write(`${name.padEnd(10)}| ${line}\n`);
  };
  proc.child.stdout?.on('data', prefix);
  proc.child.stderr?.on('data', prefix);
  proc.child.once('exit', (code) => {
    if (!stopping) {
      say('start', `${name} exited with ${code}; stopping the stack (log: ${proc.logFile})`);
      void stopAll(1);
    }
  });
  stops.push({ name, stop: () => proc.stop(), kill: () => proc.kill() });
  return proc;
}

/**
 * Waits until Temporal lists the worker process (its SDK identity, `pid@host`) among the pollers of its task queue.
 * Not once a stop began (the stopped worker stays listed for a while); a timeout says what the last check found.
 */
async function waitForWorkerPolling(worker: Background, temporal: AppConfig['temporal']): Promise<void> {
  const identity = `${worker.child.pid}@${hostname()}`;
  const connection = await Connection.connect(temporalConnectionOptions(temporal));
  let lastFinding = 'not asked yet';
  try {
    await waitFor('the worker to poll its task queue', async () => {
      if (stopping) return false;
      try {
        const health = await checkWorkerPolling(connection, { namespace: temporal.namespace, taskQueue: temporal.taskQueue, isOurs: (id) => id === identity, timeoutMs: 2000 });
        lastFinding = JSON.stringify(health.types);
        return health.healthy;
      } catch (err) {
        lastFinding = (err as Error).message;
        return false;
      }
    }, 60_000, 250);
  } catch (err) {
    throw new Error(`${(err as Error).message} (last check: ${lastFinding})`, { cause: err });
  } finally {
    await connection.close();
  }
}

try {
  ensureTemporalCli();
  if (PROFILE === 'cluster') {
    // Built (first run only: minutes) before anything starts.
    for (const tool of [TEMPORAL_SQL_TOOL, TEMPORAL_SERVER, TEMPORAL_UI_SERVER]) ensureGoTool(tool);
  }
  const postgres = await ensurePostgres({ preferredUrl: process.env.DATABASE_URL, database: 'koogallery_orders' });
  stops.push({ name: 'postgres', stop: () => postgres.stop() });
  const pool = createPool({ url: postgres.url, max: 1, applicationName: 'koogallery-start' });
  const applied = await migrate(pool);
  await pool.end();
  say('start', `database ready${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);

  say('start', 'building (tsc + workflow bundle)…');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');

  const temporal =
    PROFILE === 'cluster'
      ? await ensureCluster({ ports: clusterPorts(TEMPORAL_PORT), db: defaultClusterDatabases(Number(new URL(postgres.url).port || 5432), process.env.TEMPORAL_CLUSTER_DATABASE), uiPort: UI_PORT })
      : await ensureDevServer({ port: TEMPORAL_PORT, uiPort: UI_PORT, dbFile: join(dataDir, 'temporal', 'dev.db') });
  stops.push({ name: 'temporal', stop: () => temporal.stop() });

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APP_ENV: process.env.APP_ENV ?? 'development',
    DATABASE_URL: postgres.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_WORKFLOW_BUNDLE: join(repoRoot, 'dist', 'workflow-bundle.js'),
    PORT: String(API_PORT),
    INTERNAL_PORT: String(INTERNAL_PORT),
    // No load balancer in front of this stack: Ctrl-C need not keep the API answering while one notices.
    DRAIN_DELAY_MS: process.env.DRAIN_DELAY_MS ?? '0',
    WORKER_METRICS_PORT: String(WORKER_METRICS_PORT),
  };
  if (!process.env.KOOGALLERY_API_BASE) {
    if (await portOpen(SIM_PORT)) throw new Error(`port ${SIM_PORT} (marketplace simulator) is taken; set SIM_PORT or KOOGALLERY_API_BASE`);
    env.KOOGALLERY_API_BASE = `http://127.0.0.1:${SIM_PORT}`;
    // The simulator's supervision scenarios buy these products; a list the user set (even an empty one) wins.
    if (process.env.SUPERVISED_PRODUCTS === undefined) env.SUPERVISED_PRODUCTS = SIM_SUPERVISED_PRODUCTS;
    background('simulator', ['--import', 'tsx', join(repoRoot, 'tools/simulator/cli.ts'), 'serve', '--port', String(SIM_PORT)], {
      ...env,
      HUAWEI_CLOUD_AK: env.HUAWEI_CLOUD_AK ?? DEV_DEFAULTS.huaweiAk,
      HUAWEI_CLOUD_SK: env.HUAWEI_CLOUD_SK ?? DEV_DEFAULTS.huaweiSk,
    });
  }
  if (await portOpen(API_PORT)) throw new Error(`port ${API_PORT} is taken; set PORT`);
  if (await portOpen(INTERNAL_PORT)) throw new Error(`port ${INTERNAL_PORT} is taken; set INTERNAL_PORT`);
  const worker = background('worker', [join(repoRoot, 'dist', 'worker.js')], env);
  background('api', [join(repoRoot, 'dist', 'src', 'main', 'api-server.js')], env);

  await waitFor('the API to be ready', async () => {
    try {
      return (await fetch(`http://127.0.0.1:${INTERNAL_PORT}/readyz`)).ok;
    } catch {
      return false;
    }
  }, 60_000, 500);
  // Up means the worker polls too: until it does, the first call waits for it and may be answered 000005 (on a freshly
  // created cluster, the worker's start took seconds longer than the API's).
  await waitForWorkerPolling(worker, loadConfig(env).temporal);
  // Ctrl-C while waiting: no banner, the stop under way exits.
  if (stopping) await stopping;
  // The banner points at the simulator too: it must be listening by then (it compiles its TypeScript on start, which
  // on a busy machine takes longer than the API's readiness).
  if (env.KOOGALLERY_API_BASE?.includes(String(SIM_PORT))) await waitFor('the marketplace simulator', () => portOpen(SIM_PORT), 60_000, 250);

  const lines = [
    '',
    'KooGallery order orchestration is up:',
    `  production interface  http://127.0.0.1:${API_PORT}/koogallery/saas   (V1 GET / V2 POST; the public port serves only /koogallery/*)`,
    `  ops API               http://127.0.0.1:${INTERNAL_PORT}/ops/orders   (Authorization: Bearer <OPS_API_TOKEN>; document: http://127.0.0.1:${INTERNAL_PORT}/openapi.json)`,
    `  health / readiness    http://127.0.0.1:${INTERNAL_PORT}/healthz  http://127.0.0.1:${INTERNAL_PORT}/readyz`,
    `  API metrics           http://127.0.0.1:${INTERNAL_PORT}/metrics   worker metrics http://127.0.0.1:${WORKER_METRICS_PORT}/metrics`,
    `  Temporal Web UI       ${temporal.uiUrl ?? '(not started here)'}   (profile ${PROFILE}${PROFILE === 'cluster' ? `: temporal-server on PostgreSQL, ${temporal.address}` : ''})`,
    ...(env.KOOGALLERY_API_BASE?.includes(String(SIM_PORT)) ? [`  marketplace simulator ${env.KOOGALLERY_API_BASE}   (try: npm run sim -- v2-yearly-lifecycle)`] : []),
    `  logs                  ${logDir}`,
    'Press Ctrl-C to stop.',
    '',
  ];
  console.log(lines.join('\n'));
} catch (err) {
  console.error(`[start] ${(err as Error).message}`);
  await stopAll(1);
}
