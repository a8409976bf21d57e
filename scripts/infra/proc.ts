import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Prints a line prefixed with the script's tag. */
export function say(tag: string, msg: string): void {
  console.log(`[${tag}] ${msg}`);
}

/** Runs a command to completion; returns its status and output (never throws). */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.error ? -1 : (r.status ?? -1), stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** True when the command is found on PATH. */
export function onPath(cmd: string): string | undefined {
  const r = run('sh', ['-c', `command -v ${cmd}`]);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it), for servers that cannot take port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns true or the deadline passes. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return; // probes swallow their own transient errors; a thrown error is fatal
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A background process whose output goes to a log file; `stop()` sends SIGTERM, then SIGKILL after a grace period. */
export interface Background {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Idempotent: a second call (a second Ctrl-C) waits for the same stop; it never signals again. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the process group at once (a user who insisted on stopping now). */
  kill(): void;
}

let reaper: ChildProcess | undefined;

/**
 * Registers (`+`) or unregisters (`-`) a process group with this process's reaper (scripts/infra/reaper.mjs),
 * starting the reaper on first use. The reaper sits in a session of its own with a pipe from us; when we die in
 * any way, even SIGKILL, the pipe closes and it stops every group still registered.
 */
function tellReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, [fileURLToPath(new URL('./reaper.mjs', import.meta.url))], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    // Neither the reaper nor its pipe may keep us alive: we exit when our own work is done, and that closes the pipe.
    reaper.unref();
    (reaper.stdin as unknown as { unref(): void }).unref();
    reaper.stdin!.on('error', () => undefined); // the reaper is gone: nothing to tell
  }
  reaper.stdin!.write(`${line}\n`);
}

/**
 * Starts a long-running process with stdout/stderr appended to `logFile`. With `ownGroup` (default) it gets a
 * process group of its own, so a terminal's Ctrl-C or a supervisor's signal to our group does not reach it and
 * `stop()` alone decides when and how it stops (one SIGTERM, in the order the caller chooses); the group is
 * registered with the reaper, so it dies with us even when we are killed with SIGKILL. Without `ownGroup` it stays
 * in our group and gets whatever signals our group gets.
 */
export function startBackground(name: string, cmd: string, args: string[], opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; ownGroup?: boolean }): Background {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const ownGroup = opts.ownGroup ?? true;
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const pgid = child.pid;
  if (ownGroup && pgid !== undefined) tellReaper(`+${pgid}`);
  let exited = false;
  const exitedP = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  // Unregistered when the leader exits: the processes we start (Temporal CLI, node) start no children of their own.
  void exitedP.then(() => {
    if (ownGroup && pgid !== undefined) tellReaper(`-${pgid}`);
  });
  const signal = (sig: NodeJS.Signals) => {
    if (pgid === undefined) return;
    try {
      if (ownGroup) process.kill(-pgid, sig); // the whole group: the CLI starts no children, but wrappers do
      else child.kill(sig);
    } catch {
      /* already gone */
    }
  };
  let stopping: Promise<void> | undefined;
  return {
    name,
    child,
    logFile: opts.logFile,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (!exited) {
          signal('SIGTERM');
          const timer = setTimeout(() => signal('SIGKILL'), graceMs);
          await exitedP;
          clearTimeout(timer);
        }
        log.end();
      })();
      return stopping;
    },
    kill() {
      signal('SIGKILL');
    },
  };
}
