import { CADDY, ensureGoTool } from './go-tools.js';

/**
 * Returns the path of a `caddy` binary, for validating and exercising deploy/caddy/Caddyfile and for the cluster
 * test's load balancer: `CADDY_BIN` when set, else Caddy v2.11.9 built from its Go module and cached (first run only,
 * a few minutes). Never the one on PATH: Debian's caddy 2.6.2 resends a retried POST with a closed body (see CADDY in
 * scripts/infra/go-tools.ts), which takes the healthy upstream out of a load-balanced pair.
 */
export function ensureCaddy(): string {
  return ensureGoTool(CADDY);
}
