import { ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { upsertSchedule } from '../platform/temporal/schedules.js';
import type { Duration } from '@temporalio/common';
import {
  RECONCILIATION_DEFAULT_INTERVAL,
  RECONCILIATION_WORKFLOW_TYPE,
  reconciliationScheduleId,
  type ReconciliationInput,
} from './contract.js';

// The Temporal Schedule that runs reconciliation. Created at worker start, or brought up to date when it exists,
// so every deploy converges the schedule on what the code says (interval, input, task queue).

/** Options of ensureReconciliationSchedule. */
export interface ReconciliationScheduleOptions {
  /** The order task queue: the reconciliation workflow runs on the order worker, next to the read model's pool. */
  readonly taskQueue: string;
  /** Default 15 minutes. */
  readonly every?: Duration;
  readonly input?: ReconciliationInput;
  /** Default reconciliationScheduleId(taskQueue). */
  readonly scheduleId?: string;
  /** Create (or keep) the schedule paused. */
  readonly paused?: boolean;
}

/** The schedule's action: one reconciliation workflow per tick, bounded in time, on the order task queue. */
function actionOf(o: ReconciliationScheduleOptions, scheduleId: string): ScheduleOptionsStartWorkflowAction<(input: ReconciliationInput) => Promise<unknown>> {
  return {
    type: 'startWorkflow',
    workflowType: RECONCILIATION_WORKFLOW_TYPE,
    // The server appends the scheduled time, so every run has its own id.
    workflowId: scheduleId,
    taskQueue: o.taskQueue,
    args: [o.input ?? {}],
    workflowExecutionTimeout: '1 hour',
    staticSummary: 'Reconciliation: read model vs. order workflows',
    staticDetails: `Compares every live instance in the read model with its order workflow${o.input?.checkMarketplace ? ' and Query Order' : ''}; findings at GET /ops/drift.`,
  };
}

/**
 * Creates the reconciliation schedule, or updates it in place when it exists (idempotent; safe when several
 * workers start at once). Overlapping runs are skipped; a run missed while the server was down is caught up
 * within one interval.
 */
export async function ensureReconciliationSchedule(client: Client, o: ReconciliationScheduleOptions): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = o.scheduleId ?? reconciliationScheduleId(o.taskQueue);
  const every = o.every ?? RECONCILIATION_DEFAULT_INTERVAL;
  const spec: ScheduleSpec = { intervals: [{ every }] };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every, pauseOnFailure: false };
  const action = actionOf(o, scheduleId);
  const note = 'managed by the koogallery worker (src/reconciliation/schedule.ts)';
  return upsertSchedule(client, { scheduleId, spec, action, policies, note, ...(o.paused !== undefined ? { paused: o.paused } : {}) });
}
