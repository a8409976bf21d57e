// The usage push's recorders: usage reported for on-demand instances bought through the real service (ServiceKit),
// then pushed to the simulated usage-data API.
import { randomUUID } from 'node:crypto';
import { METERING_PUSH_WORKFLOW_TYPE, PACKAGE_WORKFLOW_TYPE, packageWorkflowId, type MeteringPushInput } from '../../src/metering/contract.js';
import { runAutoRepurchase } from '../simulator/auto-repurchase.js';
import type { Recorder, RecorderCatalogue } from './catalogue.js';
import { REPLAY_PACKAGE_SKU, type ServiceKit } from './service-kit.js';

const HOUR = 3600_000;

/** Reports one record per hour for the last `hours` closed hours of `instanceId`. */
async function reportHours(k: ServiceKit, instanceId: string, hours: number): Promise<void> {
  const now = Math.floor(Date.now() / HOUR) * HOUR;
  const records = Array.from({ length: hours }, (_, i) => ({
    recordId: randomUUID(),
    instanceId,
    usageValue: i + 1.5,
    beginTime: new Date(now - (i + 1) * HOUR).toISOString(),
    endTime: new Date(now - (i + 1) * HOUR + 60_000).toISOString(),
  }));
  const res = await fetch(`${k.h.internalOrigin}/metering/usage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${k.h.config.metering.apiToken ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify({ records }),
  });
  if (res.status !== 200) throw new Error(`usage intake answered ${res.status}`);
}

/** The push workflow's paths. */
const service: Recorder<ServiceKit>[] = [
  {
    scenario: 'push-two-hours',
    description: 'usage of two closed hours of an on-demand instance aggregated and pushed in one call',
    async record(k) {
      const bought = await k.buyV2({ chargingMode: 'ON_DEMAND' });
      await reportHours(k, bought.instanceId, 2);
      const workflowId = `replay-metering-push-${randomUUID()}`;
      const input: MeteringPushInput = { closeDelayMs: 0 };
      await k.client.workflow.execute(METERING_PUSH_WORKFLOW_TYPE, { workflowId, taskQueue: k.h.config.temporal.taskQueue, args: [input] });
      return [{ workflowId, status: 'COMPLETED' }];
    },
  },
  {
    scenario: 'push-answer-lost-then-refused',
    description: 'the first call is billed but its answer lost (the activity retries with the same sns), and the marketplace refuses one record (left for the next run)',
    async record(k) {
      const bought = await k.buyV2({ chargingMode: 'ON_DEMAND' });
      await reportHours(k, bought.instanceId, 2);
      k.h.marketplace.usage.loseNextAnswers(1);
      k.h.marketplace.usage.refuseNextRecords(1);
      const workflowId = `replay-metering-push-${randomUUID()}`;
      await k.client.workflow.execute(METERING_PUSH_WORKFLOW_TYPE, { workflowId, taskQueue: k.h.config.temporal.taskQueue, args: [{ closeDelayMs: 0 }] });
      return [{ workflowId, status: 'COMPLETED' }];
    },
  },
];

export const meteringCatalogue: RecorderCatalogue = { workflowType: METERING_PUSH_WORKFLOW_TYPE, service };

/** Reports `usageValue` for an instance in one record (half an hour ago). */
async function reportOnce(k: ServiceKit, instanceId: string, usageValue: number): Promise<void> {
  const begin = new Date(Date.now() - 30 * 60_000);
  const res = await fetch(`${k.h.internalOrigin}/metering/usage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${k.h.config.metering.apiToken ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify({ records: [{ recordId: randomUUID(), instanceId, usageValue, beginTime: begin.toISOString(), endTime: new Date(begin.getTime() + 60_000).toISOString() }] }),
  });
  if (res.status !== 200) throw new Error(`usage intake answered ${res.status}`);
}

/** The package workflow's paths. */
const packages: Recorder<ServiceKit>[] = [
  {
    scenario: 'package-repurchase-linked',
    description: "a package crosses 80 %, the simulated buyer repurchases, the new package is linked, and the first is used up without a freeze",
    async record(k) {
      const customerId = `cust-${randomUUID()}`;
      const productId = `prod-${randomUUID()}`;
      const first = await k.buyV2({ chargingMode: 'ON_DEMAND_PKG', customerId, productId, skuCode: REPLAY_PACKAGE_SKU, linearValue: 100 });
      const buyer = runAutoRepurchase(k.h.market, k.h.marketplace.orderBook, { packageInstanceId: first.instanceId, customerId, productId, skuCode: REPLAY_PACKAGE_SKU, linearValue: 100, remainingAtMost: 20 });
      await reportOnce(k, first.instanceId, 85);
      await buyer;
      // Give the workflow a poll to link the repurchase before the quota runs out.
      await new Promise((r) => setTimeout(r, 1000));
      await reportOnce(k, first.instanceId, 15);
      const workflowId = packageWorkflowId(first.instanceId);
      await k.client.workflow.getHandle(workflowId).result();
      return [{ workflowId, status: 'COMPLETED', workflowType: PACKAGE_WORKFLOW_TYPE }];
    },
  },
  {
    scenario: 'package-used-up-frozen',
    description: 'a stop-when-used-up package used up in one batch with no repurchase: frozen through the orders context',
    async record(k) {
      const bought = await k.buyV2({ chargingMode: 'ON_DEMAND_PKG', skuCode: REPLAY_PACKAGE_SKU, linearValue: 100 });
      await reportOnce(k, bought.instanceId, 120);
      const workflowId = packageWorkflowId(bought.instanceId);
      // The workflow waits out the repurchase window before it ends; the history up to the freeze is the fixture.
      for (let i = 0; i < 100; i++) {
        const phase = (await k.h.pool.query<{ phase: string }>('SELECT phase FROM instances WHERE instance_id = $1', [bought.instanceId])).rows[0]?.phase;
        if (phase === 'FROZEN') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      return [{ workflowId, status: 'RUNNING', workflowType: PACKAGE_WORKFLOW_TYPE }];
    },
  },
];

export const packageCatalogue: RecorderCatalogue = { workflowType: PACKAGE_WORKFLOW_TYPE, service: packages };
