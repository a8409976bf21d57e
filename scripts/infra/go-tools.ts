import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './paths.js';
import { onPath, run, say } from './proc.js';

/**
 * Deployment tools that `npm test` uses to validate docker-compose.yml and the Helm chart. None ships as a
 * package here and no binary download works, so each is built from its Go module (`go install pkg@version`
 * through the Go module proxy) and cached outside the repo, as scripts/infra/temporal-cli.ts does for the
 * Temporal CLI. Each pinned module's go.mod has no `replace` directive, which `go install pkg@version` requires.
 */
export interface GoTool {
  /** The binary's name in the cache (and the name looked up on PATH). */
  readonly name: string;
  /** The package path passed to `go install`. */
  readonly pkg: string;
  readonly version: string;
  /** The environment variable that names an existing binary instead. */
  readonly envVar: string;
  /** Whether a binary of that name on PATH may be used (only where its version does not matter to the tests). */
  readonly acceptOnPath: boolean;
}

/**
 * `docker-compose config` validates and normalises a compose file without a Docker engine. Compose v2.36 to v2.40
 * and v5.1+ carry an `exclude` directive in go.mod, which `go install pkg@version` refuses as well; v5.0.2 (the
 * v2 line renumbered, compose-go v2.10) is the newest release that builds that way.
 */
export const DOCKER_COMPOSE: GoTool = {
  name: 'docker-compose',
  pkg: 'github.com/docker/compose/v5/cmd',
  version: 'v5.0.2',
  envVar: 'DOCKER_COMPOSE_BIN',
  acceptOnPath: false,
};

/** `helm lint` and `helm template` for deploy/helm/koogallery-orders. */
export const HELM: GoTool = {
  name: 'helm',
  pkg: 'helm.sh/helm/v3/cmd/helm',
  version: 'v3.22.1',
  envVar: 'HELM_BIN',
  acceptOnPath: false,
};

/**
 * The Temporal server and its SQL schema tool, of the version the compose file runs (temporalio/server and
 * temporalio/admin-tools 1.31.0), for test/integration/deploy/temporal-server.test.ts: it starts the server from
 * deploy/temporal/config/temporal-server.yaml on PostgreSQL after deploy/temporal/setup-schema.sh made the schema.
 */
export const TEMPORAL_SERVER: GoTool = {
  name: 'temporal-server',
  pkg: 'go.temporal.io/server/cmd/server',
  version: 'v1.31.0',
  envVar: 'TEMPORAL_SERVER_BIN',
  acceptOnPath: false,
};

export const TEMPORAL_SQL_TOOL: GoTool = {
  name: 'temporal-sql-tool',
  pkg: 'go.temporal.io/server/cmd/tools/sql',
  version: 'v1.31.0',
  envVar: 'TEMPORAL_SQL_TOOL_BIN',
  acceptOnPath: false,
};

/**
 * Prometheus' promtool, for deploy/prometheus/alerts.yaml: `promtool check rules` and its unit tests
 * (`promtool test rules deploy/prometheus/alerts.test.yaml`). Module v0.316.0 is Prometheus 3.x's Go module; the
 * build is large (every service discovery; ≈ 4–5 minutes cold on 2 cores), once per machine.
 */
export const PROMTOOL: GoTool = {
  name: 'promtool',
  pkg: 'github.com/prometheus/prometheus/cmd/promtool',
  version: 'v0.316.0',
  envVar: 'PROMTOOL_BIN',
  acceptOnPath: false,
};

/**
 * Temporal's Web UI server for the cluster profile (scripts/infra/cluster.ts), at the version the Temporal CLI
 * v1.5.1 embeds in its dev server (its go.mod requires github.com/temporalio/ui-server/v2 v2.42.1), so the UI of
 * `TEMPORAL_PROFILE=cluster npm start` is the one of plain `npm start`. The module embeds the built front end.
 */
export const TEMPORAL_UI_SERVER: GoTool = {
  name: 'temporal-ui-server',
  pkg: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: 'v2.42.1',
  envVar: 'TEMPORAL_UI_SERVER_BIN',
  acceptOnPath: false,
};

/**
 * Caddy, the TLS edge of deploy/caddy/Caddyfile and the load balancer of the cluster test's two APIs, of the release
 * line docker-compose.yml runs (caddy:2.11). Not Debian's caddy 2.6.2: there (and still in 2.10.2 and 2.11.1), a POST that
 * Caddy retries on the next upstream after a dial error (a dead upstream) is sent with the body Go's transport already
 * closed ("http: invalid Read on closed Body", caddyserver/caddy#5454, #7546; fixed in the 2.11 line by #7547, whose
 * body wrapper v2.11.9's reverseproxy.go has). That 502 counts as a failure of the
 * healthy upstream, so with passive health checks every upstream ends up marked down and Caddy answers 503 "no
 * upstreams available" for `fail_duration`, again each time the dead upstream's mark expires.
 */
export const CADDY: GoTool = {
  name: 'caddy',
  pkg: 'github.com/caddyserver/caddy/v2/cmd/caddy',
  version: 'v2.11.9',
  envVar: 'CADDY_BIN',
  acceptOnPath: false,
};

function goBinary(): string {
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new Error('Go toolchain not found: install Go >= 1.24 (`apt-get install golang`) to build the deployment validators');
  return go;
}

function goEnv(gobin: string): NodeJS.ProcessEnv {
  return { ...process.env, GOBIN: gobin, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim(), CGO_ENABLED: '0' };
}

/**
 * Returns the path of the tool's binary: `$<envVar>` when set, else (if allowed) one on PATH, else the cached
 * build, else builds it (first run only: minutes, cold module cache included).
 */
export function ensureGoTool(tool: GoTool): string {
  const explicit = process.env[tool.envVar];
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`${tool.envVar}=${explicit} does not exist`);
    return explicit;
  }
  if (tool.acceptOnPath) {
    const fromPath = onPath(tool.name);
    if (fromPath) return fromPath;
  }
  const dir = join(cacheDir, tool.name, tool.version);
  const binary = join(dir, tool.name);
  if (existsSync(binary)) return binary;

  const go = goBinary();
  say(tool.name, `building ${tool.pkg}@${tool.version} with ${go} (first run only, a few minutes)…`);
  const started = Date.now();
  // A temporary GOBIN, renamed into place: an interrupted build never leaves a half-written cached binary.
  const tmp = join(dir, `.build-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const r = run(go, ['install', `${tool.pkg}@${tool.version}`], { env: goEnv(tmp) });
    if (r.status !== 0) throw new Error(`building ${tool.pkg}@${tool.version} failed:\n${r.stderr.slice(-4000)}`);
    // `go install` names the binary after the package's last path element (`cmd` for compose).
    const [built] = readdirSync(tmp);
    if (!built) throw new Error(`go install ${tool.pkg}@${tool.version} produced no binary`);
    renameSync(join(tmp, built), binary);
  } finally {
    run('rm', ['-rf', tmp]);
  }
  say(tool.name, `built ${binary} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return binary;
}

/** A Go module of this repository under tools/, built into the cache. */
export interface RepoGoTool {
  /** Its directory, relative to the repository root. */
  readonly dir: string;
  /** The binary's name in the cache. */
  readonly name: string;
  /** The environment variable that names an existing binary instead. */
  readonly envVar: string;
}

/** tools/prom-rules-check: loads Prometheus rule files as Prometheus does (deploy/prometheus/alerts.yaml). */
export const PROM_RULES_CHECK: RepoGoTool = { dir: 'tools/prom-rules-check', name: 'prom-rules-check', envVar: 'PROM_RULES_CHECK_BIN' };

/**
 * tools/k8s-validate (strict decoding into k8s.io/api types): not from the proxy as a binary but built from this
 * repository's own Go module, whose dependencies come from the proxy.
 */
const K8S_VALIDATE: RepoGoTool = { dir: 'tools/k8s-validate', name: 'k8s-validate', envVar: 'K8S_VALIDATE_BIN' };

/**
 * Builds one of this repo's Go modules under tools/ into the cache, keyed by the hash of its sources, so an edit
 * rebuilds it and an unchanged tree reuses it.
 */
export function ensureRepoGoTool(repoRoot: string, tool: RepoGoTool): string {
  const explicit = process.env[tool.envVar];
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`${tool.envVar}=${explicit} does not exist`);
    return explicit;
  }
  const src = join(repoRoot, tool.dir);
  const hash = run('sh', ['-c', 'cat go.mod go.sum *.go | sha256sum | cut -c1-16'], { cwd: src });
  if (hash.status !== 0) throw new Error(`cannot hash ${src}: ${hash.stderr}`);
  const dir = join(cacheDir, tool.name, hash.stdout.trim());
  const binary = join(dir, tool.name);
  if (existsSync(binary)) return binary;

  const go = goBinary();
  say(tool.name, `building ${tool.dir} with ${go} (first run only)…`);
  const started = Date.now();
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.build-${process.pid}`);
  try {
    const r = run(go, ['build', '-trimpath', '-o', tmp, '.'], { cwd: src, env: goEnv(dir) });
    if (r.status !== 0) throw new Error(`building ${tool.dir} failed:\n${r.stderr.slice(-4000)}`);
    renameSync(tmp, binary);
  } finally {
    run('rm', ['-f', tmp]);
  }
  say(tool.name, `built ${binary} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return binary;
}

/** tools/k8s-validate, built as ensureRepoGoTool builds it. */
export const ensureK8sValidator = (repoRoot: string): string => ensureRepoGoTool(repoRoot, K8S_VALIDATE);
