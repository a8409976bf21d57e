// `npm test`: installs what is missing (the Temporal CLI, Docker Compose, Helm, tools/k8s-validate, temporal-server,
// temporal-sql-tool, Temporal's ui-server and Caddy built from their Go modules, the Java test server from Maven),
// type-checks, lints (the fence), then runs every vitest suite. Servers are started (or reused) by the vitest global setup and
// stopped by its teardown, so nothing is left running.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './infra/paths.js';
import { say } from './infra/proc.js';
import { ensureCaddy } from './infra/caddy.js';
import { DOCKER_COMPOSE, ensureGoTool, ensureK8sValidator, ensureRepoGoTool, HELM, PROM_RULES_CHECK, PROMTOOL, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER } from './infra/go-tools.js';
import { ensureTemporalCli } from './infra/temporal-cli.js';
import { ensureTimeSkippingServer } from './infra/test-server.js';

const started = Date.now();
say('test', `Node ${process.version} (${process.execPath})`);
try {
  say('test', `temporal CLI: ${ensureTemporalCli()}`);
  say('test', `time-skipping test server: ${ensureTimeSkippingServer()}`);
  // The deployment checks (test/integration/deploy): built from Go modules or installed once, cached afterwards.
  say('test', `docker-compose: ${ensureGoTool(DOCKER_COMPOSE)}`);
  say('test', `helm: ${ensureGoTool(HELM)}`);
  say('test', `k8s-validate: ${ensureK8sValidator(repoRoot)}`);
  say('test', `prom-rules-check: ${ensureRepoGoTool(repoRoot, PROM_RULES_CHECK)}`);
  say('test', `promtool: ${ensureGoTool(PROMTOOL)}`);
  say('test', `caddy: ${ensureCaddy()}`);
  say('test', `temporal-sql-tool: ${ensureGoTool(TEMPORAL_SQL_TOOL)}`);
  say('test', `temporal-server: ${ensureGoTool(TEMPORAL_SERVER)}`);
  // The cluster profile's Web UI (test/integration/cluster and TEMPORAL_PROFILE=cluster npm start).
  say('test', `temporal-ui-server: ${ensureGoTool(TEMPORAL_UI_SERVER)}`);
} catch (err) {
  console.error(`[test] ${(err as Error).message}`);
  process.exit(1);
}

const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
say('test', 'type-checking (tsc --noEmit)…');
const tsc = spawnSync(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'], { cwd: repoRoot, stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('[test] type errors: failing before running tests');
  process.exit(tsc.status ?? 1);
}

// The fence (eslint.config.js, .dependency-cruiser.cjs): a broken rule fails the run here, before the slow suites.
say('test', 'linting (npm run lint: dependency-cruiser and ESLint)…');
const lint = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: repoRoot, stdio: 'inherit' });
if (lint.status !== 0) {
  console.error('[test] the fence is broken (see the rule names above; README "The fence" says what each one guards): failing before running tests');
  process.exit(lint.status ?? 1);
}

const resultsFile = join(repoRoot, '.data', 'vitest-results.json');
rmSync(resultsFile, { force: true });
const vitest = spawnSync(
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`, ...process.argv.slice(2)],
  // CI logs are read as text: no colour codes there.
  { cwd: repoRoot, stdio: 'inherit', env: process.env.CI ? { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined } : process.env },
);
say('test', `finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
// A plain closing line that any CI can read, whatever the runner's own format.
if (existsSync(resultsFile)) {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
}
process.exit(vitest.status ?? 1);
