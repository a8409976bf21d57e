import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLIC_KEEP_ALIVE_TIMEOUT_MS } from '../../../src/platform/http/drain.js';
import { balancerCaddyfile } from '../../support/caddy-balancer.js';

// A proxy that reuses an upstream connection the API has just closed gets the POST it sent reset, and answers the
// marketplace 502 (it does not resend a POST). So every proxy we ship or test with closes idle upstream connections
// before the API does, and the API outlasts the 60 s idle timeout of an nginx ingress or a cloud load balancer.

const seconds = (duration: string) => {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!m) throw new Error(`not a Caddy duration: ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
};
const keepaliveOf = (caddyfile: string) => [...caddyfile.matchAll(/^\s*keepalive\s+(\S+)\s*$/gm)].map((m) => seconds(m[1]!));

describe('idle keep-alive connections between a proxy and the API', () => {
  it('deploy/caddy and the test balancer close idle upstream connections before the API does', () => {
    const shipped = keepaliveOf(readFileSync(join(process.cwd(), 'deploy/caddy/Caddyfile'), 'utf8'));
    const balancer = keepaliveOf(balancerCaddyfile({ port: 1, upstreams: ['http://127.0.0.1:2'], failDuration: '1s' }));
    // Caddy's default is 2 minutes: each must set its own.
    expect(shipped).toHaveLength(1);
    expect(balancer).toHaveLength(1);
    for (const s of [...shipped, ...balancer]) expect(s * 1000).toBeLessThan(PUBLIC_KEEP_ALIVE_TIMEOUT_MS);
  });

  it('the API keeps an idle connection longer than the 60 s of an nginx ingress or a cloud load balancer', () => {
    expect(PUBLIC_KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(60_000);
  });
});
