import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';

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
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a long-running process with stdout/stderr appended to `logFile`. With `ownGroup` (default) it gets a
 * process group of its own, so a terminal's Ctrl-C does not reach it and `stop()` alone decides its shutdown;
 * without it, it stays in our group, so it dies with us however we die.
 */
export function startBackground(name: string, cmd: string, args: string[], opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; ownGroup?: boolean }): Background {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const ownGroup = opts.ownGroup ?? true;
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  return {
    name,
    child,
    logFile: opts.logFile,
    async stop(graceMs = 10_000) {
      if (exited || child.pid === undefined) return;
      const kill = (sig: NodeJS.Signals) => {
        try {
          if (ownGroup) process.kill(-child.pid!, sig); // the whole group: the CLI starts no children, but wrappers do
          else child.kill(sig);
        } catch {
          /* already gone */
        }
      };
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      await exitedP;
      clearTimeout(timer);
      log.end();
    },
  };
}
