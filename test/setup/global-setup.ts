import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/platform/db/migrate.js';
import { createPool } from '../../src/platform/db/pool.js';
import { ensureDevServer } from '../../scripts/infra/dev-server.js';
import { dataDir } from '../../scripts/infra/paths.js';
import { ensurePostgres } from '../../scripts/infra/postgres.js';
import { ensureTimeSkippingServer } from '../../scripts/infra/test-server.js';
import type { TestInfra } from './infra.js';
import { quietBundlerLogger } from '../../tools/testing/quiet-logger.js';

// Starts (or reuses) the real servers once per test run and tears down only what it started, so `npm test`
// leaves no process behind. Test files read the addresses with `inject('infra')`.

export default async function setup(project: TestProject) {
  const postgres = await ensurePostgres({ preferredUrl: process.env.TEST_DATABASE_URL, database: 'koogallery_orders_test' });
  const pool = createPool({ url: postgres.url, max: 1, applicationName: 'test-setup' });
  await migrate(pool);
  await pool.end();

  const runDir = join(dataDir, 'test-run');
  mkdirSync(runDir, { recursive: true });
  const temporal = await ensureDevServer({
    port: Number(process.env.TEST_TEMPORAL_PORT ?? 7233),
    uiPort: Number(process.env.TEST_TEMPORAL_UI_PORT ?? 8233),
    dbFile: join(runDir, `temporal-${Date.now()}.db`),
    logName: 'temporal-test-server',
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

