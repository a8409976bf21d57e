import { ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { upsertSchedule } from '../platform/temporal/schedules.js';
import { ORDER_TASK_QUEUE } from '../orders/contract.js';
import { MONTHLY_SETTLEMENT_WORKFLOW_TYPE, SETTLEMENT_SCHEDULE_ID, type MonthlySettlementInput } from './contract.js';

// The Temporal Schedule of the monthly settlement run. Created at worker start, or brought up to date when it
// exists (holidays come from configuration, so a deploy with a new holiday list converges the schedule on it).
// A calendar cannot know holidays: the schedule fires daily from the 3rd to the 15th and the run itself decides
// whether today is the bill date (the 3rd, or the next working day); statements start once (deterministic ids).

/** Schedule id for the deployment that serves `taskQueue` (suffixed off the default queue, as reconciliation's). */
export function settlementScheduleId(taskQueue: string): string {
  return taskQueue === ORDER_TASK_QUEUE ? SETTLEMENT_SCHEDULE_ID : `${SETTLEMENT_SCHEDULE_ID}-${taskQueue}`;
}

/** Creates or updates the settlement schedule (idempotent). */
export async function ensureSettlementSchedule(
  client: Client,
  o: { taskQueue: string; holidays: readonly string[]; paused?: boolean; scheduleId?: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = o.scheduleId ?? settlementScheduleId(o.taskQueue);
  // 09:00 in China is 01:00 UTC: the run's date (UTC) is the bill date's calendar day.
  const spec: ScheduleSpec = { calendars: [{ dayOfMonth: { start: 3, end: 15 }, hour: 9, minute: 0 }], timezone: 'Asia/Shanghai' };
  const input: MonthlySettlementInput = { holidays: [...o.holidays] };
  const action: ScheduleOptionsStartWorkflowAction<(input: MonthlySettlementInput) => Promise<unknown>> = {
    type: 'startWorkflow',
    workflowType: MONTHLY_SETTLEMENT_WORKFLOW_TYPE,
    workflowId: scheduleId,
    taskQueue: o.taskQueue,
    args: [input],
    workflowExecutionTimeout: '1 hour',
    staticSummary: 'Monthly settlement: statements on the bill date',
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' as const, pauseOnFailure: false };
  const note = 'managed by the koogallery worker (src/settlement/schedule.ts)';
  return upsertSchedule(client, { scheduleId, spec, action, policies, note, ...(o.paused !== undefined ? { paused: o.paused } : {}) });
}
