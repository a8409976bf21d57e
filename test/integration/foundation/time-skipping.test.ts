import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The Java time-skipping test server, resolved from Maven Central and started through the SDK's existing-path hook.
describe('time-skipping test server', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: testInfra().timeSkippingServerPath } },
    });
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('when a workflow sleeps 400 days, then it completes in well under a minute of real time', async () => {
    const taskQueue = uniqueId('tq-sleep');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: testInfra().fixtureWorkflowBundlePath },
      activities: { stamp: async (label: string) => `stamped:${label}` },
    });
    const workflowId = uniqueId('sleep-400');
    const realStart = Date.now();
    const result = await worker.runUntil(
      env.client.workflow.execute('longSleepWorkflow', { workflowId, taskQueue, args: [400] }) as Promise<{ elapsedDays: number; stamped: string }>,
    );
    const realSeconds = (Date.now() - realStart) / 1000;
    expect(result.elapsedDays).toBeGreaterThanOrEqual(400);
    expect(result.stamped).toBe(`stamped:${workflowId}`);
    expect(realSeconds).toBeLessThan(60);
  });
});
