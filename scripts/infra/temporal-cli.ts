import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './paths.js';
import { onPath, run, say } from './proc.js';

/**
 * The pinned Temporal CLI release. v1.5.1's go.mod has no `replace` directive, so a plain `go install …@v1.5.1`
 * builds it; v1.6.0 and later carry a local replace and cannot be built that way. It bundles Server 1.29 and UI 2.42.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

/**
 * Returns the path of a Temporal CLI binary: `TEMPORAL_CLI` when set, else a `temporal` on PATH, else the cached
 * build, else builds it from its Go module with the machine's Go toolchain (no binary download works here).
 */
export function ensureTemporalCli(): string {
  const explicit = process.env.TEMPORAL_CLI;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`TEMPORAL_CLI=${explicit} does not exist`);
    return explicit;
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;

  const dir = join(cacheDir, 'temporal-cli', TEMPORAL_CLI_VERSION);
  const binary = join(dir, 'temporal');
  if (existsSync(binary)) return binary;

  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new Error('Go toolchain not found: install Go >= 1.24 (https://go.dev/dl or `apt-get install golang`) or set TEMPORAL_CLI to a temporal binary');
  }
  say('temporal-cli', `building github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION} with ${go} (first run only, a few minutes)…`);
  // Build into a temporary GOBIN and rename, so an interrupted build never leaves a half-written cached binary.
  const tmp = join(dir, `.build-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const r = run(go, ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: tmp, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim(), CGO_ENABLED: '0' },
  });
  if (r.status !== 0) throw new Error(`building the Temporal CLI failed:\n${r.stderr.slice(-4000)}`);
  renameSync(join(tmp, 'temporal'), binary);
  run('rm', ['-rf', tmp]);
  say('temporal-cli', `built ${binary}`);
  return binary;
}
