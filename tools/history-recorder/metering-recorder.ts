// The usage push's recorders: usage reported for on-demand instances bought through the real service (ServiceKit),
// then pushed to the simulated usage-data API.
import { randomUUID } from 'node:crypto';
import { METERING_PUSH_WORKFLOW_TYPE, type MeteringPushInput } from '../../src/metering/contract.js';
import type { Recorder, RecorderCatalogue } from './catalogue.js';
import type { ServiceKit } from './service-kit.js';

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
