import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { devServerArgs } from '../../scripts/infra/dev-server.js';
import { repoRoot } from '../../scripts/infra/paths.js';
import { ensureTemporalCli } from '../../scripts/infra/temporal-cli.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { createSimAdminClient, type SimAdminClient } from '../../tools/simulator/sim-admin-client.js';

// Fault injection for the reliability suite (issue #7): every process of the service as a real child process
// (worker, API, marketplace simulator, a private Temporal dev server with file persistence, a private PostgreSQL
// cluster) that a test can start, stop, SIGKILL and restart; and a fake merchant product API (the HTTP provisioner's
// counterpart) whose delays and failures the test controls and which counts the tenants it actually created.
// Nothing here touches the session's shared Temporal (7233) or PostgreSQL (5432) servers; everything listens on
// 127.0.0.1 only. Child processes run in their own process group and are SIGKILLed if the test process exits.

// ---------------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------------

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `probe` until it returns true; throws after `timeoutMs` naming `what`. */
export async function eventually(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await probe();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Prints one `RELIABILITY {...}` line: the figures docs/reliability.md is filled from. */
export function reportFigures(figures: {
  scenario: string;
  requests: number;
  crashes?: number;
  outages?: number;
  lost: number;
  duplicates: number;
  http5xx: number;
  [extra: string]: unknown;
}): void {
  console.log(`RELIABILITY ${JSON.stringify({ crashes: 0, outages: 0, ...figures })}`);
}

/** A random secret-looking string, distinct per call (so a leak can be searched for verbatim). */
export function randomSecret(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------------------------

const live = new Set<ChildProcess>();
/** Data directories of private clusters not yet destroyed (stopped and removed at exit as a last resort). */
const liveClusters = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that fails before its afterAll must not leave servers behind: kill every group still alive, stop every
  // private cluster (synchronously: only synchronous work runs in an 'exit' handler).
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
    for (const dir of liveClusters) {
      spawnSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), '-D', join(dir, 'data'), '-m', 'immediate', '-w', '-t', '10', 'stop'], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Runs `fn` but gives up after `ms` (cleanup must go on past a hung step); never throws. */
export async function bounded(what: string, fn: () => Promise<unknown>, ms = 30_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } catch (err) {
    console.error(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** How a managed process is launched and when it counts as ready. */
export interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The complete environment (nothing is inherited implicitly). */
  env: Record<string, string>;
  readonly cwd?: string;
  /** True once the process serves; `lines` holds its output so far. */
  readonly ready: (p: ManagedProcess) => Promise<boolean> | boolean;
  readonly readyTimeoutMs?: number;
  /** Also append every output line to this file (for reading a failed run afterwards). */
  readonly logFile?: string;
  /**
   * What to do when the process exits without being told to: 'restart' plays the production supervisor
   * (systemd, Kubernetes restartPolicy: Always) and starts it again after `restartDelayMs`; 'none' leaves it dead.
   * Either way the exit is recorded in `unexpectedExits`.
   */
  readonly supervise?: 'restart' | 'none';
  readonly restartDelayMs?: number;
}

/** One exit of a managed process. */
export interface ProcessExit {
  readonly at: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the test stopped or killed it. */
  readonly expected: boolean;
  /** The last output lines before an unexpected exit (why it died). */
  readonly lastLines: readonly string[];
}

/** A child process the test controls: start, graceful stop, SIGKILL, restart; all of its output is kept. */
export interface ManagedProcess {
  readonly name: string;
  /** stdout and stderr lines of every run, in arrival order (each run starts with a `--- start N` marker). */
  readonly lines: string[];
  readonly pid: number | undefined;
  readonly running: boolean;
  /** How many times it was started, and how many times SIGKILLed. */
  readonly starts: number;
  readonly kills: number;
  /** Every exit so far. */
  readonly exits: readonly ProcessExit[];
  /** Exits nobody asked for (crashes). */
  unexpectedExits(): ProcessExit[];
  /** Environment of the next start (tests may change it between restarts). */
  env: Record<string, string>;
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL of the whole process group; resolves once it exited. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Every line joined, for searching. */
  output(): string;
  /** Resolves with the first line printed from now on that matches `re`. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>;
}

/** Creates (does not start) a managed child process. */
export function managedProcess(spec: ProcessSpec): ManagedProcess {
  installExitHook();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let starts = 0;
  let kills = 0;
  let stopping = false;
  let restarting: Promise<void> | undefined;
  const exits: ProcessExit[] = [];
  const lines: string[] = [];
  const push = (line: string) => {
    lines.push(line);
    if (spec.logFile) {
      try {
        appendFileSync(spec.logFile, `${line}\n`);
      } catch {
        /* a log file is a convenience */
      }
    }
  };

  const capture = (stream: NodeJS.ReadableStream | null) => {
    if (!stream) return;
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (buffered) push(buffered);
      buffered = '';
    });
  };

  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const p: ManagedProcess = {
    name: spec.name,
    lines,
    get pid() {
      return child?.pid;
    },
    get running() {
      return isRunning();
    },
    get starts() {
      return starts;
    },
    get kills() {
      return kills;
    },
    exits,
    unexpectedExits: () => exits.filter((e) => !e.expected),
    env: spec.env,
    async start() {
      if (isRunning()) throw new Error(`${spec.name} is already running`);
      stopping = false;
      starts++;
      push(`--- start ${starts} of ${spec.name}`);
      const c = spawn(spec.command, [...spec.args], {
        cwd: spec.cwd ?? repoRoot,
        env: p.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      child = c;
      live.add(c);
      capture(c.stdout);
      capture(c.stderr);
      exited = new Promise<void>((resolve) => {
        c.once('exit', (code, signal) => {
          live.delete(c);
          const expected = stopping;
          exits.push({ at: Date.now(), code, signal, expected, lastLines: expected ? [] : lines.slice(-120) });
          push(`--- ${spec.name} exited (code ${code}, signal ${signal})${expected ? '' : ' UNEXPECTEDLY'}`);
          resolve();
          if (!expected && spec.supervise === 'restart' && child === c) {
            restarting = (async () => {
              await sleep(spec.restartDelayMs ?? 500);
              if (!stopping && !isRunning()) await p.start().catch((err: unknown) => push(`--- supervisor restart failed: ${String(err)}`));
            })();
          }
        });
        c.once('error', (err) => {
          push(`--- spawn error: ${err.message}`);
          live.delete(c);
          resolve();
        });
      });
      const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
      for (;;) {
        if (!isRunning()) {
          throw new Error(`${spec.name} exited before it was ready (code ${c.exitCode}, signal ${c.signalCode}):\n${lines.slice(-30).join('\n')}`);
        }
        let ready = false;
        try {
          ready = await spec.ready(p);
        } catch {
          ready = false;
        }
        if (ready) return;
        if (Date.now() > deadline) {
          killGroup(c, 'SIGKILL');
          throw new Error(`${spec.name} not ready within ${spec.readyTimeoutMs ?? 60_000} ms:\n${lines.slice(-30).join('\n')}`);
        }
        await sleep(100);
      }
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      await restarting;
      stopping = true; // a supervisor restart that was under way has reset it
      const c = child;
      if (!c || !isRunning()) return;
      killGroup(c, 'SIGTERM');
      const timer = setTimeout(() => killGroup(c, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      const c = child;
      if (!c || !isRunning()) return;
      stopping = true;
      kills++;
      killGroup(c, 'SIGKILL');
      await exited;
    },
    async restart() {
      await p.stop();
      await p.start();
    },
    output: () => lines.join('\n'),
    async waitForLine(re, timeoutMs) {
      const from = lines.length;
      let found: string | undefined;
      await eventually(`${spec.name} to print ${String(re)}`, () => {
        found = lines.slice(from).find((l) => re.test(l));
        return found !== undefined;
      }, timeoutMs, 50);
      return found!;
    },
  };
  return p;
}

// ---------------------------------------------------------------------------------------------------------------
// The service's own processes: worker, API, marketplace simulator
// ---------------------------------------------------------------------------------------------------------------

/** Everything the worker and API processes are configured with (env wiring, as in production). */
export interface ServiceWiring {
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace?: string;
  taskQueue: string;
  /** The marketplace open API (the simulator) the worker pulls orders from. */
  marketplaceUrl: string;
  accessKey: string;
  huaweiAk: string;
  huaweiSk: string;
  dataEncryptionKey: string;
  opsApiToken?: string;
  /** Set for PROVISIONER=http (the fake merchant API); builtin otherwise. */
  provisionerUrl?: string;
  provisionerToken?: string;
  /** A prebuilt workflow bundle (the test run's, from global setup) so a worker start takes ~1 s. */
  workflowBundlePath?: string;
  logLevel?: string;
  /** Anything else (PROVISION_BUDGET_MS, PG_POOL_MAX...). */
  extra?: Record<string, string>;
}

/** Test key material in the shape of the merchant's (distinct values per call, so leaks are attributable). */
export function testSecrets(): Pick<ServiceWiring, 'accessKey' | 'huaweiAk' | 'huaweiSk' | 'dataEncryptionKey' | 'opsApiToken'> {
  return {
    accessKey: randomSecret('AccessKey'),
    huaweiAk: `AK${randomBytes(9).toString('hex').toUpperCase()}`,
    huaweiSk: randomSecret('SecretKey'),
    dataEncryptionKey: randomSecret('DataEncryptionKey'),
    opsApiToken: randomSecret('OpsToken'),
  };
}

/** The minimal inherited environment: no VITEST_*, NODE_OPTIONS or developer settings leak into children. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', TZ: 'UTC' };
  if (process.env.KOO_CACHE_DIR) env.KOO_CACHE_DIR = process.env.KOO_CACHE_DIR;
  return env;
}

/** The environment of a worker or API process wired as `w`. */
export function serviceEnv(w: ServiceWiring): Record<string, string> {
  return {
    ...baseEnv(),
    APP_ENV: 'test',
    LOG_LEVEL: w.logLevel ?? 'info',
    DATABASE_URL: w.databaseUrl,
    TEMPORAL_ADDRESS: w.temporalAddress,
    TEMPORAL_NAMESPACE: w.temporalNamespace ?? 'default',
    TEMPORAL_TASK_QUEUE: w.taskQueue,
    KOOGALLERY_ACCESS_KEY: w.accessKey,
    KOOGALLERY_API_BASE: w.marketplaceUrl,
    HUAWEI_CLOUD_AK: w.huaweiAk,
    HUAWEI_CLOUD_SK: w.huaweiSk,
    DATA_ENCRYPTION_KEY: w.dataEncryptionKey,
    OPS_API_TOKEN: w.opsApiToken ?? randomSecret('OpsToken'),
    // No load balancer to wait for: a stopped API closes its listeners at once.
    DRAIN_DELAY_MS: '0',
    ...(w.provisionerUrl ? { PROVISIONER: 'http', PROVISIONER_HTTP_URL: w.provisionerUrl } : { PROVISIONER: 'builtin', TENANT_URL_TEMPLATE: 'https://{tenant}.tenants.test' }),
    ...(w.provisionerToken ? { PROVISIONER_HTTP_TOKEN: w.provisionerToken } : {}),
    ...(w.workflowBundlePath ? { TEMPORAL_WORKFLOW_BUNDLE: w.workflowBundlePath } : {}),
    ...w.extra,
  };
}

/** Options every process factory passes through to managedProcess. */
export type ProcessOptions = Pick<ProcessSpec, 'logFile' | 'supervise' | 'restartDelayMs'>;

const tsxArgs = (entry: string, ...rest: string[]) => ['--import', 'tsx', join(repoRoot, entry), ...rest];

/** The worker (`worker.ts`, run from source with tsx) as a child process; ready once it logs "worker running". */
export function workerProcess(w: ServiceWiring, name = 'worker', o: ProcessOptions = {}): ManagedProcess {
  return managedProcess({
    ...o,
    name,
    command: process.execPath,
    args: tsxArgs('worker.ts'),
    // Port 0: every worker process (and every restart) gets its own metrics port.
    env: { ...serviceEnv(w), WORKER_METRICS_PORT: '0' },
    ready: (p) => p.lines.some((l) => l.includes('"msg":"worker running"')),
    readyTimeoutMs: 90_000,
  });
}

/** The internal listener's origin the API logged in its current run ("api listening"), or undefined before. */
function loggedInternalOrigin(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.startsWith('--- start')) return undefined;
    if (!lines[i]!.includes('"msg":"api listening"')) continue;
    try {
      return (JSON.parse(lines[i]!) as { internal?: string }).internal;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The API (`src/main/api-server.ts`) as a child process: the public listener on 127.0.0.1:`port`, the internal one
 * (health, readiness, metrics, ops) on a free port it reports in its log; ready once its /healthz answers.
 */
export function apiProcess(
  w: ServiceWiring,
  port: number,
  name = 'api',
  o: ProcessOptions = {},
): ManagedProcess & { readonly baseUrl: string; readonly origin: string; readonly internalOrigin: string } {
  const origin = `http://127.0.0.1:${port}`;
  const p = managedProcess({
    ...o,
    name,
    command: process.execPath,
    args: tsxArgs('src/main/api-server.ts'),
    // LOG_LEVEL info at least: the internal listener's port is read from the API's `api listening` line.
    env: { ...serviceEnv(w), HOST: '127.0.0.1', PORT: String(port), INTERNAL_PORT: '0', LOG_LEVEL: 'info' },
    ready: async (proc) => {
      // Each start gets its own internal port (0: any free one) and logs it.
      const internal = loggedInternalOrigin(proc.lines);
      return internal !== undefined && (await fetch(`${internal}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
    },
    readyTimeoutMs: 60_000,
  });
  // A getter, not a value: every start of the process reports its own internal port.
  return Object.defineProperty(Object.assign(p, { baseUrl: `${origin}/koogallery/saas`, origin }), 'internalOrigin', {
    enumerable: true,
    get(): string {
      const internal = loggedInternalOrigin(p.lines);
      if (!internal) throw new Error(`${name} has not reported its internal listener yet`);
      return internal;
    },
  }) as ManagedProcess & { readonly baseUrl: string; readonly origin: string; readonly internalOrigin: string };
}

/** The marketplace simulator's open API (`tools/simulator/cli.ts serve`) as a child process, with its admin client. */
export function simulatorProcess(o: { port: number; ak: string; sk: string }, name = 'simulator'): ManagedProcess & { readonly url: string; readonly admin: SimAdminClient } {
  const url = `http://127.0.0.1:${o.port}`;
  const admin = createSimAdminClient(url);
  const p = managedProcess({
    name,
    command: process.execPath,
    args: tsxArgs('tools/simulator/cli.ts', 'serve', '--port', String(o.port), '--host', '127.0.0.1'),
    env: { ...baseEnv(), HUAWEI_CLOUD_AK: o.ak, HUAWEI_CLOUD_SK: o.sk, LOG_LEVEL: 'warn' },
    ready: async () => (await fetch(`${url}/_sim/calls`, { signal: AbortSignal.timeout(1000) })).ok,
    readyTimeoutMs: 60_000,
  });
  return Object.assign(p, { url, admin });
}

// ---------------------------------------------------------------------------------------------------------------
// A private Temporal dev server (file persistence), restartable on the same port and file
// ---------------------------------------------------------------------------------------------------------------

async function temporalServes(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.getSystemInfo({});
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** `temporal server start-dev` on free ports with its SQLite file in `dir`; ready once the default namespace answers. */
export async function privateTemporal(o: { dir: string; name?: string }): Promise<ManagedProcess & { readonly address: string; readonly dbFile: string }> {
  const port = await freePort();
  const uiPort = await freePort();
  const dbFile = join(o.dir, 'temporal.db');
  const address = `127.0.0.1:${port}`;
  const p = managedProcess({
    name: o.name ?? 'temporal',
    command: ensureTemporalCli(),
    args: [...devServerArgs({ port, uiPort, dbFile, namespace: 'default' }), '--headless'],
    env: baseEnv(),
    ready: () => temporalServes(address),
    readyTimeoutMs: 60_000,
  });
  return Object.assign(p, { address, dbFile });
}

// ---------------------------------------------------------------------------------------------------------------
// A private PostgreSQL cluster (initdb + pg_ctl as the postgres user, in a directory under /tmp)
// ---------------------------------------------------------------------------------------------------------------

/** A throwaway PostgreSQL cluster with the service's role and one migrated database. */
export interface PrivateCluster {
  readonly port: number;
  readonly database: string;
  /** As the service connects (role koogallery). */
  readonly url: string;
  /** As the superuser (for pg_terminate_backend and inspection). */
  readonly adminUrl: string;
  readonly dir: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** pg_ctl stop: 'fast' (clean) or 'immediate' (like a crash: recovery on the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** SIGKILL of the postmaster and all of its children. */
  kill(): Promise<void>;
  /** Terminates every backend of the database except the caller's; returns how many. */
  terminateBackends(): Promise<number>;
  /** Stops the cluster and removes its directory. */
  destroy(): Promise<void>;
}

const PG_BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((d) => existsSync(join(d, 'initdb'))) ?? '/usr/lib/postgresql/15/bin';

function asPostgresUser(cmd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function idOf(user: string, flag: '-u' | '-g'): number {
  const r = spawnSync('id', [flag, user], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(n)) throw new Error(`cannot resolve ${user}: ${r.stderr}`);
  return n;
}

/** Creates, starts and migrates a private cluster; `destroy()` it in afterAll. Needs root (runuser). */
export async function privateCluster(o: { database?: string } = {}): Promise<PrivateCluster> {
  installExitHook();
  const database = o.database ?? 'koogallery_reliability';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'koo-reliability-pg-'));
  liveClusters.add(dir);
  chownSync(dir, idOf('postgres', '-u'), idOf('postgres', '-g'));
  const data = join(dir, 'data');
  const init = asPostgresUser('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--locale', 'C']);
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    liveClusters.delete(dir);
    throw new Error(`initdb failed: ${init.out}`);
  }
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const url = `postgres://koogallery:koogallery@127.0.0.1:${port}/${database}`;
  let running = false;

  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };

  const cluster: PrivateCluster = {
    port,
    database,
    url,
    adminUrl,
    dir,
    get running() {
      return running;
    },
    async start() {
      const r = asPostgresUser('pg_ctl', [
        '-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60',
        '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`,
        'start',
      ]);
      if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.out}\n${readTail(join(dir, 'postgres.log'))}`);
      running = true;
    },
    async stop(mode = 'fast') {
      const r = asPostgresUser('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      if (r.status !== 0 && postmasterPid() !== undefined) throw new Error(`pg_ctl stop failed: ${r.out}`);
      running = false;
    },
    async kill() {
      const pid = postmasterPid();
      if (pid === undefined) return;
      const children = childPids(pid);
      for (const p of [pid, ...children]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await eventually('the killed postmaster to exit', () => !pidAlive(pid) && children.every((c) => !pidAlive(c)), 10_000, 50);
      rmSync(join(data, 'postmaster.pid'), { force: true });
      running = false;
    },
    async terminateBackends() {
      const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
      await client.connect();
      try {
        const r = await client.query('SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
        return r.rows.filter((row: { t: boolean }) => row.t).length;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async destroy() {
      if (postmasterPid() !== undefined) {
        asPostgresUser('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
        const pid = postmasterPid();
        if (pid !== undefined && pidAlive(pid)) await cluster.kill();
      }
      running = false;
      rmSync(dir, { recursive: true, force: true });
      liveClusters.delete(dir);
    },
  };

  try {
    await cluster.start();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE koogallery LOGIN PASSWORD 'koogallery'`);
      await admin.query(`CREATE DATABASE ${database} OWNER koogallery`);
    } finally {
      await admin.end();
    }
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); treat it as gone.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// A fake merchant product API (the HTTP provisioner's counterpart, contract in src/orders/provisioning/http-provisioner.ts)
// ---------------------------------------------------------------------------------------------------------------

/** One tenant as the fake merchant API holds it. */
export interface FakeTenant {
  readonly instanceId: string;
  customerId?: string;
  status: 'ACTIVE' | 'FROZEN' | 'DELETED';
  spec: unknown;
  readonly userName: string;
  readonly password: string;
  readonly frontEndUrl: string;
  /** Times the tenant came into existence from nothing (or from DELETED): more than 1 is a duplicate creation. */
  creations: number;
  /** PUTs answered for an existing tenant (idempotent repeats: allowed, create nothing). */
  repeatedPuts: number;
  specChanges: number;
  freezes: number;
  resumes: number;
  deletes: number;
}

/** Faults of the fake merchant API, changeable while it runs. */
export interface FakeMerchantFaults {
  /** Random delay in [min, max] ms for each request, half before and half after the effect (so a crash can land on either side). */
  delayMs: [number, number];
  /** The next `n` requests (of `op`, or any) answer HTTP `status` without an effect. */
  failNext(n: number, status?: number, op?: FakeOperation): void;
  /** Probability that a request fails with 503 before its effect. */
  failRate: number;
  /** Probability that a successful create's answer is replaced by a 503 (the effect happened; the answer is lost). */
  lostAnswerRate: number;
  reset(): void;
}

/** The fake's operations (as in the HTTP provisioner's Idempotency-Key). */
export type FakeOperation = 'create' | 'changeSpec' | 'freeze' | 'resume' | 'remove' | 'get';

/** A running fake merchant API. */
export interface FakeMerchantApi {
  /** PROVISIONER_HTTP_URL. */
  readonly url: string;
  readonly tenants: Map<string, FakeTenant>;
  readonly faults: FakeMerchantFaults;
  /** Requests received per operation, and in total. */
  readonly requests: Record<FakeOperation | 'total' | 'unauthorized', number>;
  /** Tenants created (from nothing) per customerId: more than one instance per customer of a one-order test is a doubled order. */
  instancesOfCustomer(customerId: string): string[];
  /** Tenants whose creation count exceeds 1. */
  duplicateCreations(): FakeTenant[];
  close(): Promise<void>;
}

/** Starts the fake merchant API on 127.0.0.1 (port 0 = any); requests must carry `Bearer <token>` when a token is given. */
export async function startFakeMerchantApi(o: { port?: number; token?: string; delayMs?: [number, number] } = {}): Promise<FakeMerchantApi> {
  const tenants = new Map<string, FakeTenant>();
  const requests: FakeMerchantApi['requests'] = { create: 0, changeSpec: 0, freeze: 0, resume: 0, remove: 0, get: 0, total: 0, unauthorized: 0 };
  let pending: Array<{ status: number; op?: FakeOperation }> = [];
  const faults: FakeMerchantFaults = {
    delayMs: o.delayMs ?? [0, 0],
    failRate: 0,
    lostAnswerRate: 0,
    failNext(n, status = 503, op) {
      for (let i = 0; i < n; i++) pending.push({ status, ...(op ? { op } : {}) });
    },
    reset() {
      faults.delayMs = [0, 0];
      faults.failRate = 0;
      faults.lostAnswerRate = 0;
      pending = [];
    },
  };

  const halfDelay = async () => {
    const [min, max] = faults.delayMs;
    if (max <= 0) return;
    await sleep((min + Math.random() * (max - min)) / 2);
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    if (res.headersSent || res.destroyed) return;
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
    res.end(bytes);
  };
  const access = (t: FakeTenant) => ({ frontEndUrl: t.frontEndUrl, adminUrl: `${t.frontEndUrl}/admin`, userName: t.userName, password: t.password });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const m = /^\/api\/tenants\/([^/]+)(\/spec|\/freeze|\/resume)?$/.exec(url.pathname);
    requests.total++;
    if (o.token && req.headers.authorization !== `Bearer ${o.token}`) {
      requests.unauthorized++;
      return json(res, 401, { message: 'unauthorized' });
    }
    if (!m) return json(res, 404, { message: 'no such route' });
    const instanceId = decodeURIComponent(m[1]!);
    const suffix = m[2] ?? '';
    const method = req.method ?? 'GET';
    const op: FakeOperation | undefined =
      method === 'PUT' && suffix === '' ? 'create'
        : method === 'PATCH' && suffix === '/spec' ? 'changeSpec'
          : method === 'POST' && suffix === '/freeze' ? 'freeze'
            : method === 'POST' && suffix === '/resume' ? 'resume'
              : method === 'DELETE' && suffix === '' ? 'remove'
                : method === 'GET' && suffix === '' ? 'get'
                  : undefined;
    if (!op) return json(res, 405, { message: 'method not allowed' });
    requests[op]++;
    const injectedAt = pending.findIndex((f) => f.op === undefined || f.op === op);
    if (injectedAt >= 0) {
      const [f] = pending.splice(injectedAt, 1);
      return json(res, f!.status, { message: `injected ${f!.status}` });
    }
    if (Math.random() < faults.failRate) return json(res, 503, { message: 'injected random failure' });
    await halfDelay();
    const t = tenants.get(instanceId);
    switch (op) {
      case 'create': {
        let body: { customerId?: string; spec?: unknown } = {};
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          return json(res, 400, { message: 'body is not JSON' });
        }
        let tenant = t;
        if (!tenant) {
          const key = randomUUID().slice(0, 8);
          tenant = {
            instanceId,
            ...(body.customerId ? { customerId: body.customerId } : {}),
            status: 'ACTIVE',
            spec: body,
            userName: `admin-${key}`,
            password: `Pw-${randomBytes(12).toString('base64url')}`,
            frontEndUrl: `https://t${key}.fake-merchant.test`,
            creations: 1,
            repeatedPuts: 0,
            specChanges: 0,
            freezes: 0,
            resumes: 0,
            deletes: 0,
          };
          tenants.set(instanceId, tenant);
        } else if (tenant.status === 'DELETED') {
          tenant.status = 'ACTIVE';
          tenant.creations++;
        } else {
          tenant.repeatedPuts++;
        }
        await halfDelay();
        if (Math.random() < faults.lostAnswerRate) return json(res, 503, { message: 'injected lost answer' });
        return json(res, 200, access(tenant));
      }
      case 'changeSpec':
        if (!t || t.status === 'DELETED') return json(res, 404, { message: 'no such tenant' });
        t.specChanges++;
        try {
          t.spec = JSON.parse(text) as unknown;
        } catch {
          return json(res, 400, { message: 'body is not JSON' });
        }
        break;
      case 'freeze':
        if (!t || t.status === 'DELETED') return json(res, 404, { message: 'no such tenant' });
        t.freezes++;
        t.status = 'FROZEN';
        break;
      case 'resume':
        if (!t || t.status === 'DELETED') return json(res, 404, { message: 'no such tenant' });
        t.resumes++;
        t.status = 'ACTIVE';
        break;
      case 'remove':
        if (!t || t.status === 'DELETED') return json(res, 404, { message: 'no such tenant' });
        t.deletes++;
        t.status = 'DELETED';
        break;
      case 'get':
        if (!t) return json(res, 404, { message: 'no such tenant' });
        return json(res, 200, { ...access(t), status: t.status });
    }
    await halfDelay();
    return json(res, 200, { ok: true });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => json(res, 500, { message: 'fake merchant API error' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api`,
    tenants,
    faults,
    requests,
    instancesOfCustomer: (customerId) => [...tenants.values()].filter((t) => t.customerId === customerId).map((t) => t.instanceId),
    duplicateCreations: () => [...tenants.values()].filter((t) => t.creations > 1),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A directory under the OS temp dir for one test file's throwaway state; remove it with `rmSync(dir, {recursive})`. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `koo-reliability-${prefix}-`));
}
