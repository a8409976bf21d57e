import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/platform/db/migrate.js';
import { createPool } from '../../src/platform/db/pool.js';
import { ensureDevServer } from '../../scripts/infra/dev-server.js';
import { dataDir } from '../../scripts/infra/paths.js';
import { ensurePostgres } from '../../scripts/infra/postgres.js';
import { freePort } from '../../scripts/infra/proc.js';
import { ensureTimeSkippingServer } from '../../scripts/infra/test-server.js';
import type { TestInfra } from './infra.js';
import { quietBundlerLogger } from '../../tools/testing/quiet-logger.js';

// Starts the real servers once per test run and tears down what it started, so `npm test` leaves no process behind
// (the reaper of scripts/infra/proc.ts stops the Temporal dev server even if vitest itself is killed). Test files
// read the addresses with `inject('infra')`.
//
// Temporal: always a dev server of this run's own, never one found on a port. A server left on 7233 by `npm start`
// or by a run that died may hold other data, stop mid-run, or answer for a moment and then vanish (an orphan that
// was shutting down once failed 18 tests). The ports are TEST_TEMPORAL_PORT / TEST_TEMPORAL_UI_PORT when set (a
// taken port is then an error), else free ports the OS picks, so two runs on one machine never meet.
// PostgreSQL: TEST_DATABASE_URL when reachable, else the local cluster's koogallery_orders_test database.

export default async function setup(project: TestProject) {
  const postgres = await ensurePostgres({ preferredUrl: process.env.TEST_DATABASE_URL, database: 'koogallery_orders_test' });
  const pool = createPool({ url: postgres.url, max: 1, applicationName: 'test-setup' });
  await migrate(pool);
  await pool.end();

  const runDir = join(dataDir, 'test-run');
  mkdirSync(runDir, { recursive: true });
  const explicit = process.env.TEST_TEMPORAL_PORT !== undefined && process.env.TEST_TEMPORAL_PORT !== '';
  const port = explicit ? Number(process.env.TEST_TEMPORAL_PORT) : await freePort();
  const uiPort = process.env.TEST_TEMPORAL_UI_PORT ? Number(process.env.TEST_TEMPORAL_UI_PORT) : await freePort();
  const temporal = await ensureDevServer({
    port,
    uiPort,
    dbFile: join(runDir, `temporal-${Date.now()}.db`),
    logName: 'temporal-test-server',
    reuse: false,
    whenTaken: 'each test run starts its own Temporal dev server; free the port, or unset TEST_TEMPORAL_PORT / TEST_TEMPORAL_UI_PORT to use free ports',
  });

  const stopAll = async () => {
    await temporal.stop();
    await postgres.stop();
  };
  try {
    return await finishSetup(project, postgres.url, temporal, runDir, stopAll);
  } catch (err) {
    // A failed setup must not leave the servers it started behind.
    await stopAll();
    throw err;
  }
}

async function finishSetup(
  project: TestProject,
  databaseUrl: string,
  temporal: Awaited<ReturnType<typeof ensureDevServer>>,
  runDir: string,
  stopAll: () => Promise<void>,
) {
  // One workflow bundle for every test file: webpack takes seconds, and the bundle is what production runs.
  const bundle = await bundleWorkflowCode({ workflowsPath: join(process.cwd(), 'src/workflows.ts'), logger: quietBundlerLogger });
  const bundlePath = join(runDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  const fixtureBundle = await bundleWorkflowCode({ workflowsPath: join(process.cwd(), 'test/fixtures/workflows.ts'), logger: quietBundlerLogger });
  const fixtureBundlePath = join(runDir, 'fixture-workflow-bundle.js');
  writeFileSync(fixtureBundlePath, fixtureBundle.code);

  const infra: TestInfra = {
    databaseUrl,
    temporalAddress: temporal.address,
    temporalNamespace: temporal.namespace,
    temporalUiUrl: temporal.uiUrl,
    temporalCliPath: temporal.cliPath,
    timeSkippingServerPath: ensureTimeSkippingServer(),
    workflowBundlePath: bundlePath,
    fixtureWorkflowBundlePath: fixtureBundlePath,
  };
  project.provide('infra', infra);

  return stopAll;
}

