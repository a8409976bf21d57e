import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_DEFAULTS } from '../../src/platform/config.js';
import { SCENARIOS } from '../../tools/simulator/scenarios.js';
import { createProductionClient } from '../../tools/simulator/production-client.js';
import { createSimAdminClient } from '../../tools/simulator/sim-admin-client.js';
import { portOpen } from '../../scripts/infra/proc.js';
import { testInfra } from '../setup/infra.js';

// `npm start` as a user runs it (through scripts/run.mjs), on spare ports, reusing this test run's Temporal
// and PostgreSQL: it must come up ready, serve the Temporal UI, carry a lifecycle and a supervised hardware order
// (its default SUPERVISED_PRODUCTS), and stop cleanly on Ctrl-C.
const PORTS = { api: 18080, internal: 18081, sim: 17090, workerMetrics: 19464 };

describe('npm start', () => {
  let child: ChildProcess | undefined;
  const output: string[] = [];

  afterAll(() => {
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  });

  it('when started, then the API is ready, the UI answers, a lifecycle and a hardware supervision pass, and Ctrl-C stops everything it started', async () => {
    const infra = testInfra();
    const temporalPort = infra.temporalAddress.split(':')[1]!;
    const uiPort = new URL(infra.temporalUiUrl).port;
    child = spawn(process.execPath, [join(process.cwd(), 'scripts/run.mjs'), 'start'], {
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DATABASE_URL: infra.databaseUrl,
        PORT: String(PORTS.api),
        INTERNAL_PORT: String(PORTS.internal),
        SIM_PORT: String(PORTS.sim),
        WORKER_METRICS_PORT: String(PORTS.workerMetrics),
        TEMPORAL_PORT: temporalPort,
        TEMPORAL_UI_PORT: uiPort,
        TEMPORAL_TASK_QUEUE: `npm-start-${Date.now()}`,
        LOG_LEVEL: 'warn',
        // As a user who set neither: npm start picks the simulator's supervised products and the dev ops token.
        SUPERVISED_PRODUCTS: undefined,
        OPS_API_TOKEN: undefined,
      },
    });
    child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
    const up = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        if (output.join('').includes('Press Ctrl-C to stop.')) (clearInterval(timer), resolve(true));
        if (child?.exitCode !== null) (clearInterval(timer), resolve(false));
      }, 250);
    });
    expect(up, output.join('').slice(-3000)).toBe(true);

    const ready = await fetch(`http://127.0.0.1:${PORTS.internal}/readyz`);
    expect(ready.status).toBe(200);
    // The public port serves the marketplace only.
    expect((await fetch(`http://127.0.0.1:${PORTS.api}/readyz`)).status).toBe(404);
    expect((await fetch(infra.temporalUiUrl)).status).toBe(200);
    const scenarioCtx = {
      client: createProductionClient({ baseUrl: `http://127.0.0.1:${PORTS.api}/koogallery/saas`, accessKey: DEV_DEFAULTS.accessKey }),
      orderBook: createSimAdminClient(`http://127.0.0.1:${PORTS.sim}`),
      ops: { baseUrl: `http://127.0.0.1:${PORTS.internal}/ops`, token: DEV_DEFAULTS.opsApiToken },
      log: () => undefined,
    };
    const report = await SCENARIOS['v2-yearly-lifecycle']!(scenarioCtx);
    expect(report.steps.length).toBeGreaterThan(5);
    const supervised = await SCENARIOS['v2-hardware-supervision']!(scenarioCtx);
    expect(supervised.steps.at(-1)).toMatchObject({ status: 200, node: 'COMPLETED' });

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    // The worker's metrics listener can outlive the exit event by a moment on a loaded machine (seen in full runs
    // only, never alone): allow a few seconds, then it must be closed.
    for (const port of Object.values(PORTS)) {
      const deadline = Date.now() + 10_000;
      while ((await portOpen(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await portOpen(port), `port ${port} still open 10 s after npm start exited`).toBe(false);
    }
    // The servers it reused (this test run's) are still up.
    expect(await portOpen(Number(temporalPort))).toBe(true);
  }, 240_000);
});
