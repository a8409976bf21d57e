import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPackageQuery, packageWorkflowId, type PackageState } from '../../../src/metering/contract.js';
import { catchUpPackageCrossings, createMeteringService, packageSignaller, type PackageCrossing } from '../../../src/metering/service.js';
import { uniqueId } from '../../setup/infra.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, lineOf } from '../../support/factories.js';

// A crossing intake could not tell is not lost: it is stored with the usage, and the next push run (through the
// worker's catch-up) delivers it, once. A package whose instance is released ends instead of waiting for ever.

const SKU = 'api-pkg-lost';
let h: ServiceHarness;

/** A time in the current hour (a push of ended hours never takes it). */
const inOpenHour = () => new Date(Math.max(Math.floor(Date.now() / 3600_000) * 3600_000, Date.now() - 60_000));

async function buyPackage(): Promise<string> {
  const order = h.marketplace.orderBook.createOrder(aSimOrder({ chargingMode: 'ON_DEMAND_PKG', skuCode: SKU, linearValue: 100 }));
  return (await h.market.newInstanceV2WithAsync(order.orderId, lineOf(order).orderLineId)).instanceId;
}

/**
 * The catch-up a push run does first, wired as the worker wires it. (Not a whole push run: that would aggregate
 * and push the closed hours other test files are checking, in parallel, into this harness's marketplace.)
 */
async function pushRun() {
  return catchUpPackageCrossings({
    pool: h.pool,
    signal: packageSignaller({
      client: h.client,
      taskQueue: h.config.temporal.taskQueue,
      repurchaseWindowMs: h.config.metering.repurchaseWindowMs,
      pollIntervalMs: h.config.metering.repurchasePollMs,
      onError: (err) => {
        throw err;
      },
    }),
  });
}

async function signalsHeard(instanceId: string): Promise<number> {
  const history = await h.client.workflow.getHandle(packageWorkflowId(instanceId)).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
}

const crossingsOf = async (instanceId: string) =>
  (
    await h.pool.query<{ kind: string; delivered: boolean }>(
      `SELECT kind, delivered_at IS NOT NULL AS delivered FROM metering_crossings WHERE instance_id = $1 ORDER BY kind`,
      [instanceId],
    )
  ).rows;

beforeAll(async () => {
  // A repurchase window of a day: the package workflow would wait that long for a follow-on.
  h = await startServiceHarness({ env: { METERING_PACKAGES: `${SKU}=100:stop:80%`, METERING_REPURCHASE_WINDOW_MINUTES: '1440', METERING_REPURCHASE_POLL_MS: '200' } });
});
afterAll(async () => {
  await h?.close();
});

describe('package crossings', () => {
  let pkg: string;

  it('when the signal of a crossing fails, then it is stored undelivered and the push run catch-up delivers it exactly once', async () => {
    pkg = await buyPackage();
    const failures: PackageCrossing[] = [];
    const unreachable = { workflow: { signalWithStart: () => Promise.reject(new Error('temporal unreachable')) } } as unknown as Client;
    const metering = createMeteringService({
      pool: h.pool,
      packages: h.config.metering.packages,
      futureToleranceMs: h.config.metering.futureToleranceMs,
      onPackageCrossings: packageSignaller({ client: unreachable, taskQueue: h.config.temporal.taskQueue, repurchaseWindowMs: 60_000, onError: (_e, c) => failures.push(c) }),
    });
    const begin = inOpenHour();
    const answers = await metering.report({
      records: [{ recordId: uniqueId('rec'), instanceId: pkg, usageValue: '85', beginTime: begin.toISOString(), endTime: new Date(begin.getTime() + 1000).toISOString() }],
    });
    expect(answers.map((a) => a.status)).toEqual(['accepted']);
    expect(failures.map((c) => c.kind)).toEqual(['THRESHOLD_CROSSED']);
    expect(await crossingsOf(pkg)).toEqual([{ kind: 'THRESHOLD_CROSSED', delivered: false }]);
    await expect(h.client.workflow.getHandle(packageWorkflowId(pkg)).describe()).rejects.toThrow();

    await pushRun();
    expect(await crossingsOf(pkg)).toEqual([{ kind: 'THRESHOLD_CROSSED', delivered: true }]);
    const state = await h.client.workflow.getHandle(packageWorkflowId(pkg)).query(getPackageQuery);
    expect(state.thresholdCrossed).toBe(true);
    expect(state.exhausted).toBe(false);

    await pushRun();
    expect(await signalsHeard(pkg)).toBe(1);
  });

  it('when the signal of a crossing fails in a service that retries, then it is delivered from there, in order with the crossings after it, without waiting for a push run', async () => {
    const instanceId = await buyPackage();
    // Temporal refuses the first two signals (the intake's and the first retry's), then answers.
    let refusals = 2;
    const attempts: { at: number; kind: string }[] = [];
    const flaky = {
      workflow: {
        signalWithStart: (...args: Parameters<Client['workflow']['signalWithStart']>) => {
          attempts.push({ at: Date.now(), kind: (args[1].signalArgs as [{ kind: string }])[0].kind });
          return refusals-- > 0 ? Promise.reject(new Error('temporal unreachable')) : h.client.workflow.signalWithStart(...args);
        },
      },
    } as unknown as Client;
    const metering = createMeteringService({
      pool: h.pool,
      packages: h.config.metering.packages,
      futureToleranceMs: h.config.metering.futureToleranceMs,
      onPackageCrossings: packageSignaller({ client: flaky, taskQueue: h.config.temporal.taskQueue, repurchaseWindowMs: 60_000, pollIntervalMs: 200, onError: () => undefined }),
      redelivery: { firstDelayMs: 100, maxDelayMs: 400 },
    });
    const usage = (value: string) => {
      const begin = inOpenHour();
      return metering.report({ records: [{ recordId: uniqueId('rec'), instanceId, usageValue: value, beginTime: begin.toISOString(), endTime: new Date(begin.getTime() + 1000).toISOString() }] });
    };
    try {
      await usage('85');
      // The quota used up while the threshold is still owed: queued behind it, not sent first.
      await usage('20');
      expect(attempts.map((a) => a.kind)).toEqual(['THRESHOLD_CROSSED']);
      expect(await crossingsOf(instanceId)).toEqual([
        { kind: 'EXHAUSTED', delivered: false },
        { kind: 'THRESHOLD_CROSSED', delivered: false },
      ]);
      await expect.poll(() => crossingsOf(instanceId), { timeout: 10_000, interval: 50 }).toEqual([
        { kind: 'EXHAUSTED', delivered: true },
        { kind: 'THRESHOLD_CROSSED', delivered: true },
      ]);
      // The intake's try, a refused retry, then both in order; each retry later than the last (timers never fire
      // early: at least 100 ms, then at least 200 ms).
      expect(attempts.map((a) => a.kind)).toEqual(['THRESHOLD_CROSSED', 'THRESHOLD_CROSSED', 'THRESHOLD_CROSSED', 'EXHAUSTED']);
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(90);
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(190);
      // Heard once each, threshold first (polled: a signal that arrives during a workflow task is buffered, and
      // enters the history only when the task completes).
      const heard = async () =>
        ((await h.client.workflow.getHandle(packageWorkflowId(instanceId)).fetchHistory()).events ?? []).flatMap((e) => {
          const data = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
          return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { kind: string }).kind] : [];
        });
      await expect.poll(heard, { timeout: 5_000, interval: 100 }).toEqual(['THRESHOLD_CROSSED', 'EXHAUSTED']);
      expect((await h.client.workflow.getHandle(packageWorkflowId(instanceId)).query(getPackageQuery)).exhausted).toBe(true);
    } finally {
      await metering.stopRedelivery();
    }
  });

  it('when the retrying service stops, then it tries no more and the crossing waits, undelivered, for the push run', async () => {
    const instanceId = await buyPackage();
    let attempts = 0;
    const unreachable = {
      workflow: {
        signalWithStart: () => {
          attempts++;
          return Promise.reject(new Error('temporal unreachable'));
        },
      },
    } as unknown as Client;
    const metering = createMeteringService({
      pool: h.pool,
      packages: h.config.metering.packages,
      futureToleranceMs: h.config.metering.futureToleranceMs,
      onPackageCrossings: packageSignaller({ client: unreachable, taskQueue: h.config.temporal.taskQueue, repurchaseWindowMs: 60_000, onError: () => undefined }),
      redelivery: { firstDelayMs: 50, maxDelayMs: 50 },
    });
    try {
      const begin = inOpenHour();
      await metering.report({
        records: [{ recordId: uniqueId('rec'), instanceId, usageValue: '85', beginTime: begin.toISOString(), endTime: new Date(begin.getTime() + 1000).toISOString() }],
      });
      await expect.poll(() => attempts, { timeout: 5_000, interval: 20 }).toBeGreaterThanOrEqual(3);
    } finally {
      await metering.stopRedelivery();
    }
    const triedBeforeStop = attempts;
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts).toBe(triedBeforeStop);
    expect(await crossingsOf(instanceId)).toEqual([{ kind: 'THRESHOLD_CROSSED', delivered: false }]);
    await pushRun();
    expect(await crossingsOf(instanceId)).toEqual([{ kind: 'THRESHOLD_CROSSED', delivered: true }]);
  });

  it('when the instance of a waiting package is released, then the push run catch-up ends its workflow', async () => {
    const handle = h.client.workflow.getHandle(packageWorkflowId(pkg));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const released = await h.market.v2({ activity: 'releaseInstance', instanceId: pkg });
    expect(released.body?.resultCode).toBe('000000');
    expect((await h.pool.query<{ phase: string }>('SELECT phase FROM instances WHERE instance_id = $1', [pkg])).rows[0]?.phase).toBe('RELEASED');
    await pushRun();
    const state = (await handle.result()) as PackageState;
    expect(state).toMatchObject({ instanceId: pkg, thresholdCrossed: true, exhausted: false, frozen: false });
    expect(await crossingsOf(pkg)).toEqual([
      { kind: 'RELEASED', delivered: true },
      { kind: 'THRESHOLD_CROSSED', delivered: true },
    ]);
  });

  it('when a crossing is told again after its package workflow ended (a retry, the catch-up), then it counts as delivered and the workflow is not started again', async () => {
    const ended = await h.client.workflow.getHandle(packageWorkflowId(pkg)).describe();
    expect(ended.status.name).toBe('COMPLETED');
    const signal = packageSignaller({ client: h.client, taskQueue: h.config.temporal.taskQueue, repurchaseWindowMs: 60_000, onError: (err) => { throw err; } });
    const late: PackageCrossing = { instanceId: pkg, kind: 'EXHAUSTED', usedAfter: '100', quota: '100', stopWhenUsedUp: true, repurchase: true };
    expect(await signal([late])).toEqual([late]);
    const after = await h.client.workflow.getHandle(packageWorkflowId(pkg)).describe();
    expect(after.runId).toBe(ended.runId);
    expect(after.status.name).toBe('COMPLETED');
  });
});
