import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleDescription } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { ensureReconciliationSchedule } from '../../../src/reconciliation/schedule.js';
import { RECONCILIATION_SCHEDULE_ID, RECONCILIATION_WORKFLOW_TYPE, reconciliationScheduleId } from '../../../src/reconciliation/contract.js';

// Creating the schedule at every worker start must converge, not fail: create when absent, update in place when
// present, and never undo an operator's pause. (The real server is exercised by the worker-process test.)

function fakeClient(o: { exists: boolean; paused?: boolean }) {
  const calls: { created: any[]; updated: any[] } = { created: [], updated: [] };
  const client = {
    schedule: {
      async create(options: any) {
        if (o.exists) throw new ScheduleAlreadyRunning('schedule already exists', options.scheduleId);
        calls.created.push(options);
      },
      getHandle(id: string) {
        return {
          async update(fn: (prev: ScheduleDescription) => unknown) {
            calls.updated.push({ id, options: fn({ state: { paused: o.paused ?? false, note: 'paused by ops: incident 42' } } as ScheduleDescription) });
          },
        };
      },
    },
  };
  return { client: client as unknown as Client, calls };
}

describe('ensureReconciliationSchedule', () => {
  it('when the schedule does not exist, then it is created every 15 minutes, skipping overlaps, on the order task queue', async () => {
    const { client, calls } = fakeClient({ exists: false });
    expect(await ensureReconciliationSchedule(client, { taskQueue: 'koogallery-orders' })).toEqual({ scheduleId: RECONCILIATION_SCHEDULE_ID, created: true });
    const options = calls.created[0];
    expect(options.spec).toEqual({ intervals: [{ every: '15m' }] });
    expect(options.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(options.action).toMatchObject({ type: 'startWorkflow', workflowType: RECONCILIATION_WORKFLOW_TYPE, taskQueue: 'koogallery-orders', args: [{}] });
    expect(calls.updated).toHaveLength(0);
  });

  it('when the schedule exists, then it is updated in place with the new interval and input', async () => {
    const { client, calls } = fakeClient({ exists: true });
    const r = await ensureReconciliationSchedule(client, { taskQueue: 'koogallery-orders', every: '5m', input: { checkMarketplace: true } });
    expect(r).toEqual({ scheduleId: RECONCILIATION_SCHEDULE_ID, created: false });
    expect(calls.updated[0].id).toBe(RECONCILIATION_SCHEDULE_ID);
    expect(calls.updated[0].options.spec).toEqual({ intervals: [{ every: '5m' }] });
    expect(calls.updated[0].options.action.args).toEqual([{ checkMarketplace: true }]);
  });

  it('when an operator paused the schedule, then a worker start keeps it paused with the operator\'s note', async () => {
    const { client, calls } = fakeClient({ exists: true, paused: true });
    await ensureReconciliationSchedule(client, { taskQueue: 'koogallery-orders' });
    expect(calls.updated[0].options.state).toEqual({ paused: true, note: 'paused by ops: incident 42' });
  });

  it('when a deployment uses another task queue, then its schedule id is its own', () => {
    expect(reconciliationScheduleId('koogallery-orders')).toBe('koogallery-reconciliation');
    expect(reconciliationScheduleId('orders-staging')).toBe('koogallery-reconciliation-orders-staging');
  });
});
