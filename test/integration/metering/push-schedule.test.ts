import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../../src/main/worker-activities.js';
import { METERING_PUSH_WORKFLOW_TYPE, type MeteringPushResult } from '../../../src/metering/contract.js';
import { meteringSn } from '../../../src/metering/push.js';
import { insertUsage } from '../../../src/metering/store.js';
import { createUsageDataClient } from '../../../src/marketplace-api/usage-data-client.js';
import { loadConfig } from '../../../src/platform/config.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { addMissingSearchAttributes } from '../../../scripts/infra/dev-server.js';
import { createOpenApiServer, type OpenApiServer } from '../../../tools/simulator/open-api-server.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The hourly push over two simulated days on the time-skipping server: usage for each of the next 48 hours is in
// the database, and at every hour tick a push run (the production workflow and activities, the simulated
// usage-data API) bills exactly the hours that have closed by the workflow clock — each once, with its
// deterministic sn. The test server has no Schedules: the test ticks where the `koogallery-metering-push`
// Schedule would (its spec is checked on the dev server in schedule.test.ts).

const HOUR = 3600_000;
const KEY = 'schedule-test-docking-key';
let env: TestWorkflowEnvironment;
let pool: Pool;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let sim: OpenApiServer;

beforeAll(async () => {
  const infra = testInfra();
  sim = createOpenApiServer({ ak: 'AK', sk: 'SK', usageKey: KEY });
  const { url } = await sim.listen(0);
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: infra.timeSkippingServerPath } } });
  await addMissingSearchAttributes(env.connection, env.namespace ?? 'default');
  pool = createPool({ url: infra.databaseUrl, max: 4, applicationName: 'metering-schedule-test' });
  const config = loadConfig({ APP_ENV: 'test', DATABASE_URL: infra.databaseUrl, KOOGALLERY_ACCESS_KEY: KEY, KOOGALLERY_API_BASE: url });
  taskQueue = uniqueId('tq-metering');
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: infra.workflowBundlePath },
    activities: createActivities(config, pool, { usageData: createUsageDataClient({ apiBase: url, key: KEY, timeoutMs: 5000 }) }),
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await env?.teardown();
  await pool?.end();
  await sim?.close();
});

describe('hourly usage push over two days', () => {
  it('when a push runs every hour for 49 hours, then every closed hour is billed once, in the run after it closed', async () => {
    const instanceId = uniqueId('od');
    const startMs = await env.currentTimeMs();
    const firstHour = Math.floor(startMs / HOUR) * HOUR + HOUR;
    const hours = Array.from({ length: 48 }, (_, i) => firstHour + i * HOUR);
    // Usage of hours still ahead of the wall clock: written straight to the store (intake refuses the future).
    await insertUsage(
      pool,
      hours.flatMap((h, i) => [
        { recordId: uniqueId('r'), instanceId, usageValue: '1.5', beginTime: new Date(h + 60_000).toISOString(), endTime: new Date(h + 120_000).toISOString() },
        { recordId: uniqueId('r'), instanceId, usageValue: String(i + 1), beginTime: new Date(h + 1800_000).toISOString(), endTime: new Date(h + 1860_000).toISOString() },
      ]),
    );
    // A plain client: the environment's own would skip time while it waits for each run's result.
    const plain = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    const billed = () => [...sim.usage.billed.values()].filter((b) => b.instanceId === instanceId);
    const closeDelayMs = 5 * 60_000;
    for (let tick = 1; tick <= 49; tick++) {
      await env.sleep(HOUR);
      const now = await env.currentTimeMs();
      const result = (await plain.workflow.execute(METERING_PUSH_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueId('push-tick'), args: [{}] })) as MeteringPushResult;
      expect(result.unavailable).toBeUndefined();
      const closed = hours.filter((h) => h + HOUR <= now - closeDelayMs - 1000);
      // Allow one hour of slack for the tick landing within a second of a close.
      expect(billed().length).toBeGreaterThanOrEqual(Math.max(0, closed.length - 1));
      expect(billed().length).toBeLessThanOrEqual(closed.length + 1);
    }
    const all = billed();
    expect(all).toHaveLength(48);
    expect(new Set(all.map((b) => b.meteringSn))).toEqual(new Set(hours.map((h) => meteringSn(instanceId, new Date(h), 0))));
    expect(all.find((b) => b.meteringSn === meteringSn(instanceId, new Date(hours[9]!), 0))?.usageValue).toBe(11.5);
    expect(sim.usage.duplicates).toBe(0);
  });
});
