import { ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { upsertSchedule } from '../platform/temporal/schedules.js';
import { METERING_PUSH_WORKFLOW_TYPE, meteringPushScheduleId, type MeteringPushInput } from './contract.js';

// The Temporal Schedule that pushes usage: every interval (default hourly), offset by the close delay so the run
// comes just after the hour it closes has had time for its late records. Created at worker start, or brought up to
// date when it exists (like the reconciliation schedule).

/** Options of ensureMeteringPushSchedule. */
export interface MeteringPushScheduleOptions {
  readonly taskQueue: string;
  readonly everyMinutes: number;
  /** Runs at this offset into each interval (the close delay). */
  readonly offsetMs: number;
  readonly scheduleId?: string;
  readonly paused?: boolean;
}

/** Creates the push schedule, or updates it in place (idempotent). Overlapping runs are skipped. */
export async function ensureMeteringPushSchedule(client: Client, o: MeteringPushScheduleOptions): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = o.scheduleId ?? meteringPushScheduleId(o.taskQueue);
  const every = o.everyMinutes * 60_000;
  // The offset must lie inside the interval; with short intervals it is cut down to fit.
  const offset = Math.min(o.offsetMs, every - 1000);
  const spec: ScheduleSpec = { intervals: [{ every, offset }] };
  // A run missed while the server was down is caught up within a day: the hours it would have pushed are still
  // inside the marketplace's 21 days, and every run pushes all that is pending anyway.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 24 * 3600_000, pauseOnFailure: false };
  const action: ScheduleOptionsStartWorkflowAction<(input: MeteringPushInput) => Promise<unknown>> = {
    type: 'startWorkflow',
    workflowType: METERING_PUSH_WORKFLOW_TYPE,
    workflowId: scheduleId,
    taskQueue: o.taskQueue,
    args: [{}],
    workflowExecutionTimeout: '1 hour',
    staticSummary: 'Usage push to the marketplace',
    staticDetails: 'Aggregates usage per instance and hour and pushes it to the usage-data API; flagged items at GET /ops/metering/flagged.',
  };
  const note = 'managed by the koogallery worker (src/metering/schedule.ts)';
  return upsertSchedule(client, { scheduleId, spec, action, policies, note, ...(o.paused !== undefined ? { paused: o.paused } : {}) });
}
