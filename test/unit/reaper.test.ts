import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processTree, running, waitUntilGone } from '../support/processes.js';

// The reaper (scripts/infra/reaper.mjs, started by startBackground): a process that starts background servers in
// groups of their own may die in a way that lets it stop nothing (SIGKILL). Its servers must not outlive it.
// Real processes, no servers: a parent starts two long sleeps through startBackground, and is killed.

const dir = mkdtempSync(join(tmpdir(), 'reaper-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PARENT = `
import { startBackground } from ${JSON.stringify(new URL('../../scripts/infra/proc.ts', import.meta.url).pathname)};
const a = startBackground('a', 'sleep', ['300'], { logFile: ${JSON.stringify(join(dir, 'a.log'))} });
// A process that ignores SIGTERM: the reaper must escalate to SIGKILL.
const b = startBackground('b', 'sh', ['-c', 'trap "" TERM; sleep 300 & wait'], { logFile: ${JSON.stringify(join(dir, 'b.log'))} });
const stopped = startBackground('c', 'sleep', ['300'], { logFile: ${JSON.stringify(join(dir, 'c.log'))} });
await stopped.stop();
console.log(JSON.stringify({ a: a.child.pid, b: b.child.pid }));
setInterval(() => undefined, 1000);
`;

describe('the reaper', () => {
  it('when the parent is killed with SIGKILL, then every background process group it started and did not stop is stopped, SIGTERM first, SIGKILL for one that ignores it', async () => {
    const script = join(dir, 'parent.mts'); // outside the repo: .mts makes it a module without a package.json
    writeFileSync(script, PARENT);
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // A short grace so the SIGKILL step of the reaper shows within the test.
      env: { ...process.env, KOO_REAPER_GRACE_MS: '1500' },
    });
    let out = '';
    parent.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 30_000;
    while (!out.includes('}') && parent.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const { a, b } = JSON.parse(out) as { a: number; b: number };
    const started = processTree(parent.pid!).filter((p) => p.pid !== parent.pid);
    // The reaper, the two groups (and b's sleep): all in the parent's tree, in other process groups than the parent's.
    expect(started.some((p) => p.cmd.includes('reaper.mjs'))).toBe(true);
    expect(started.filter((p) => p.pid === a || p.pid === b)).toHaveLength(2);
    expect(started.every((p) => p.pgid !== parent.pid)).toBe(true);

    parent.kill('SIGKILL');
    // a stops on the reaper's SIGTERM; b ignores SIGTERM and is still there until the grace period ends.
    expect(await waitUntilGone([a], 5000)).toEqual([]);
    const bGroup = started.filter((p) => p.pgid === b).map((p) => p.pid);
    expect(bGroup.length).toBeGreaterThanOrEqual(2); // sh and its sleep
    expect(bGroup.some(running)).toBe(true);
    const left = await waitUntilGone(started.map((p) => p.pid), 10_000);
    expect(left, JSON.stringify(started)).toEqual([]);
  }, 60_000);
});
