import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCaddy } from '../../../scripts/infra/caddy.js';
import { freePort, portOpen, waitFor } from '../../../scripts/infra/proc.js';
import { balancerCaddyfile } from '../../support/caddy-balancer.js';

// The load balancer of the cluster test (test/reliability/cluster.test.ts: two APIs behind one Caddy, one SIGKILLed)
// in seconds instead of minutes: two stub upstreams, one stopped between calls, POSTs with a body from then on. With
// Debian's caddy 2.6.2 the first call that round robin sends to the dead upstream is retried on the live one with a
// closed body (502 "http: invalid Read on closed Body"), which marks the live one down too: 503 "no upstreams
// available" for fail_duration, again each time the dead one's mark runs out. Every call must reach the live one.

const FAIL_DURATION_MS = 1000;

interface Stub {
  readonly server: Server;
  readonly origin: string;
  readonly bodies: string[];
}

async function stub(name: string): Promise<Stub> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ upstream: name }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

describe('Caddy load-balancing two upstreams, one of which dies (scripts/infra/caddy.ts)', () => {
  let dir: string;
  let proxy: ChildProcess | undefined;
  let origin: string;
  let a: Stub;
  let b: Stub;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'caddy-lb-'));
    [a, b] = [await stub('a'), await stub('b')];
    const port = await freePort();
    const caddyfile = join(dir, 'Caddyfile');
    writeFileSync(caddyfile, balancerCaddyfile({ port, upstreams: [a.origin, b.origin], failDuration: `${FAIL_DURATION_MS}ms` }));
    proxy = spawn(ensureCaddy(), ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    proxy.stderr!.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    await waitFor('caddy', () => portOpen(port), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${log}`);
    });
    origin = `http://127.0.0.1:${port}`;
  }, 600_000); // a cold first run builds Caddy from its Go module

  afterAll(async () => {
    if (proxy && proxy.exitCode === null) {
      const exited = new Promise((r) => proxy!.once('exit', r));
      proxy.kill('SIGTERM');
      await exited;
    }
    await Promise.all([a, b].map((s) => s && new Promise((r) => s.server.close(r))));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends every POST, body intact, to the live upstream, across several expiries of the dead one’s failure mark', async () => {
    const post = async (i: number) => {
      const res = await fetch(`${origin}/koogallery/saas`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ i }) });
      return { i, status: res.status, upstream: res.ok ? ((await res.json()) as { upstream: string }).upstream : (await res.text()).slice(0, 200) };
    };
    const before = [await post(-2), await post(-1)];
    expect(before.map((r) => r.upstream).sort()).toEqual(['a', 'b']);

    // Upstream a dies between calls: its port refuses connections from now on (a dial error, nothing sent).
    a.server.closeAllConnections();
    await new Promise((r) => a.server.close(r));
    const bodiesBefore = b.bodies.length;
    const answers: Array<Awaited<ReturnType<typeof post>>> = [];
    const until = Date.now() + 3.5 * FAIL_DURATION_MS;
    for (let i = 0; Date.now() < until; i++) {
      answers.push(await post(i));
      await sleep(50);
    }
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.filter((r) => r.status !== 200 || r.upstream !== 'b')).toEqual([]);
    expect(b.bodies.slice(bodiesBefore)).toEqual(answers.map((r) => JSON.stringify({ i: r.i })));
  }, 60_000);
});
