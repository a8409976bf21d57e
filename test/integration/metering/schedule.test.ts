import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METERING_PUSH_WORKFLOW_TYPE } from '../../../src/metering/contract.js';
import { ensureMeteringPushSchedule } from '../../../src/metering/schedule.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The push Schedule on the dev server: created hourly at the close delay's offset, and brought up to date (not
// duplicated) when the worker starts again with other settings.

let connection: Connection;
let client: Client;
const created: string[] = [];

beforeAll(async () => {
  const infra = testInfra();
  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection, namespace: infra.temporalNamespace });
});
afterAll(async () => {
  for (const id of created) await client.schedule.getHandle(id).delete().catch(() => undefined);
  await connection?.close();
});

describe('the usage push schedule', () => {
  it('when the worker ensures it twice with other settings, then one schedule runs the push hourly at the offset, then as updated', async () => {
    const taskQueue = uniqueId('tq-push');
    const first = await ensureMeteringPushSchedule(client, { taskQueue, everyMinutes: 60, offsetMs: 5 * 60_000, paused: true });
    created.push(first.scheduleId);
    expect(first).toMatchObject({ scheduleId: `koogallery-metering-push-${taskQueue}`, created: true });
    let d = await client.schedule.getHandle(first.scheduleId).describe();
    expect(d.spec.intervals).toEqual([{ every: 3600_000, offset: 300_000 }]);
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: METERING_PUSH_WORKFLOW_TYPE, taskQueue });
    expect(d.policies.overlap).toBe('SKIP');

    const again = await ensureMeteringPushSchedule(client, { taskQueue, everyMinutes: 30, offsetMs: 60 * 60_000 });
    expect(again.created).toBe(false);
    d = await client.schedule.getHandle(first.scheduleId).describe();
    // The offset is cut to fit inside the interval; the operator's pause survives the update.
    expect(d.spec.intervals).toEqual([{ every: 1800_000, offset: 1799_000 }]);
    expect(d.state.paused).toBe(true);
  });
});
