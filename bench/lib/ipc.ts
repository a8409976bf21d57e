import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { logDir, repoRoot } from '../../scripts/infra/paths.js';
import type { createOrderWorker } from '../../src/platform/temporal/worker.js';

// The bench's child processes (bench/procs/service-process.ts) and the messages they take. A child per role keeps
// the load generator's CPU out of the service's and lets /proc tell each process's CPU and RSS apart.

/** How a child process is composed. */
export interface ChildConfig {
  /** harness: API + worker + simulator (startServiceHarness with a tuned worker); worker: one order worker. */
  readonly role: 'harness' | 'worker';
  readonly temporalAddress: string;
  readonly namespace: string;
  readonly bundlePath: string;
  /** API pool (harness role): the harness's own pool, max 10. */
  readonly apiDatabaseUrl: string;
  readonly workerDatabaseUrl: string;
  readonly workerPoolMax: number;
  readonly workerTuning: WorkerTuning;
  /** Task queue (worker role; the harness picks its own). */
  readonly taskQueue?: string;
  /** Serve the SDK's Prometheus metrics on this port (worker role). */
  readonly metricsPort?: number;
  /** The marketplace a worker-role child pulls V2 order lines from (a harness child's simulator: its `ready.marketplace`). */
  readonly marketplace?: ChildMarketplace;
  /**
   * Harness role without a worker of its own: API + simulator only, the order workers in worker-role children — the
   * process layout npm start, compose and Helm run (the topology runs use it).
   */
  readonly noWorker?: boolean;
}

/** The marketplace open API (the harness's simulator) and the AK/SK it checks. */
export interface ChildMarketplace {
  readonly url: string;
  readonly ak: string;
  readonly sk: string;
}

/** Commands a child answers. */
export type ChildCommand =
  | { cmd: 'createOrders'; n: number; linearValue?: number }
  | { cmd: 'b0'; concurrency: number; warmupMs: number; durationMs: number }
  | { cmd: 'memory'; gc?: boolean }
  | { cmd: 'shutdown' };

/** What a B0 step reports. */
export interface B0StepReply {
  /** Purchases that completed inside the measurement window. */
  readonly completed: number;
  /** Every purchase that completed during the call (warm-up and tail included): what the CPU was spent on. */
  readonly completedTotal: number;
  readonly failed: number;
  readonly windowMs: number;
  readonly latenciesMs: number[];
  readonly errors: string[];
  /** instanceIds of successful purchases (capped), for later benchmarks. */
  readonly instanceIds: string[];
}

/** What a child says once it is up. */
export interface ChildReady {
  readonly pid: number;
  readonly taskQueue: string;
  readonly baseUrl?: string;
  readonly accessKey?: string;
  /** Harness role: its simulator, for second worker processes on the same task queue. */
  readonly marketplace?: ChildMarketplace;
  readonly startSeconds: number;
}

/** A running child. */
export interface BenchChild {
  readonly pid: number;
  readonly ready: ChildReady;
  request<T>(command: ChildCommand, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** createOrderWorker's `tuning` (worker options the experiments vary). */
export type WorkerTuning = NonNullable<Parameters<typeof createOrderWorker>[0]['tuning']>;

/** Forks `node --import tsx --expose-gc bench/procs/service-process.ts` and waits until it is ready. */
export async function startChild(name: string, config: ChildConfig, o: { readyTimeoutMs?: number } = {}): Promise<BenchChild> {
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, `bench-${name}.log`), { flags: 'a' });
  const child: ChildProcess = fork(join(repoRoot, 'bench', 'procs', 'service-process.ts'), [], {
    cwd: repoRoot,
    execArgv: [
      '--import', 'tsx', '--expose-gc',
      // BENCH_CPU_PROF=<dir>: V8 CPU profiles of the children (where a benchmark's CPU goes), written on exit.
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
    ],
    env: { ...process.env, BENCH_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  let exited = false;
  const exitP = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`bench child ${name} exited with ${code}`));
      resolve();
    }),
  );
  const ready = await new Promise<ChildReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench child ${name} not ready within ${o.readyTimeoutMs ?? 90_000} ms; see .data/logs/bench-${name}.log`)), o.readyTimeoutMs ?? 90_000);
    child.once('exit', (code) => reject(new Error(`bench child ${name} exited with ${code} before it was ready; see .data/logs/bench-${name}.log`)));
    child.on('message', (m: { ready?: ChildReady; id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (m.ready) {
        clearTimeout(timer);
        resolve(m.ready);
        return;
      }
      const p = m.id !== undefined ? pending.get(m.id) : undefined;
      if (!p) return;
      pending.delete(m.id!);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error ?? 'child command failed'));
    });
  });
  return {
    pid: child.pid!,
    ready,
    request<T>(command: ChildCommand, timeoutMs = 300_000): Promise<T> {
      if (exited) return Promise.reject(new Error(`bench child ${name} has exited`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`bench child ${name}: ${command.cmd} took more than ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        child.send({ id, ...command });
      });
    },
    async stop() {
      if (exited) return;
      const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.send({ id: 0, cmd: 'shutdown' });
      await exitP;
      clearTimeout(kill);
      log.end();
    },
  };
}
