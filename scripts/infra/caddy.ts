import { onPath, run, say } from './proc.js';

/**
 * Returns the path of a `caddy` binary, for validating and exercising deploy/caddy/Caddyfile: `CADDY_BIN` when set,
 * else the one on PATH, else Debian's `caddy` package (installed when missing, as root, like scripts/infra/postgres.ts
 * installs postgresql). Installing it starts no server here (no systemd); the tests run their own on free ports.
 */
export function ensureCaddy(): string {
  const explicit = process.env.CADDY_BIN;
  if (explicit) return explicit;
  const found = onPath('caddy');
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error('caddy is not installed: `apt-get install caddy`, or set CADDY_BIN');
  say('caddy', 'installing Debian package caddy…');
  run('apt-get', ['update', '-qq']);
  const r = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'caddy'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new Error(`apt-get install caddy failed: ${r.stderr.slice(-2000)}`);
  const installed = onPath('caddy');
  if (!installed) throw new Error('apt-get installed caddy, but it is not on PATH');
  return installed;
}
