import { defineQuery } from '@temporalio/workflow';
import { ORDER_TASK_QUEUE } from '../orders/contract.js';

// The reconciliation workflow's contract: its schedule, input and result, the drift kinds it reports, and the
// progress query. Shared by the worker (schedule, activities), the workflow and the ops API. Bundle-safe: nothing
// here may import Node modules. Names are wire contracts: never rename them while runs are open.

/** The registered workflow type name (the schedule starts it by name). */
export const RECONCILIATION_WORKFLOW_TYPE = 'reconciliationWorkflow';

/** Id of the Temporal Schedule that runs reconciliation for the default deployment. */
export const RECONCILIATION_SCHEDULE_ID = 'koogallery-reconciliation';

/** Default interval between reconciliation runs. */
export const RECONCILIATION_DEFAULT_INTERVAL = '15m';

/**
 * Schedule id for the deployment that serves `taskQueue`: `koogallery-reconciliation` for the default task queue,
 * suffixed with the task queue otherwise, so a second deployment (or a test worker) on the same namespace never
 * re-points the production schedule at its own task queue.
 */
export function reconciliationScheduleId(taskQueue: string): string {
  return taskQueue === ORDER_TASK_QUEUE ? RECONCILIATION_SCHEDULE_ID : `${RECONCILIATION_SCHEDULE_ID}-${taskQueue}`;
}

/** What reconciliation can find wrong with one instance. */
export const DriftKind = {
  /** The read model shows another phase than the workflow, and it is not merely behind (out-of-band write). */
  PhaseMismatch: 'PHASE_MISMATCH',
  /** The read model is missing transitions the workflow made (its seq is behind, past the grace period). */
  ReadModelStale: 'READ_MODEL_STALE',
  /** The read model has transitions the workflow does not (a reset workflow): its writes are ignored until it catches up. */
  ReadModelAhead: 'READ_MODEL_AHEAD',
  /** No workflow with the instance's workflow id exists (never started, or removed by retention). */
  WorkflowMissing: 'WORKFLOW_MISSING',
  /** The workflow ended without a result (failed, terminated, cancelled, timed out) while the instance looks alive. */
  WorkflowClosed: 'WORKFLOW_CLOSED',
  /** Query Order (where configured) says the marketplace has no such order or order line. */
  MarketplaceOrderMissing: 'MARKETPLACE_ORDER_MISSING',
} as const;

/** One of the DriftKind values. */
export type DriftKind = (typeof DriftKind)[keyof typeof DriftKind];

/** Every drift kind, for validation and metric labels. */
export const DRIFT_KINDS: readonly DriftKind[] = Object.values(DriftKind);

/** Read-model phases reconciliation checks: every phase whose workflow may still be open. */
export const RECONCILED_PHASES = ['PROVISIONING', 'ACTIVE', 'FROZEN', 'FAILED'] as const;

/** One discrepancy for one instance. */
export interface DriftFinding {
  readonly instanceId: string;
  readonly workflowId: string;
  readonly orderId: string;
  readonly kind: DriftKind;
  /** What each side said (phases, seqs, workflow status, marketplace error), for the ops API and the log. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** What a reconciliation run is started with (the schedule's action carries it). */
export interface ReconciliationInput {
  /** Instances per activity call (default 200). */
  readonly pageSize?: number;
  /** Also ask Query Order whether each V2 order still exists (default false: it costs one API call per order). */
  readonly checkMarketplace?: boolean;
  /** How long a read model that is behind the workflow may stay behind before it counts as stale (default 5 s). */
  readonly staleGraceMs?: number;
  /**
   * Check only these instances (an operator's re-check after a fix, or a test): only their findings are resolved.
   * Absent: every instance in a live phase.
   */
  readonly instanceIds?: readonly string[];
  /** Set when continuing as new. */
  readonly carried?: ReconciliationProgress;
}

/** Progress of a run, carried across continue-as-new and answered by `reconciliationProgressQuery`. */
export interface ReconciliationProgress {
  /** The run's key in `reconciliation_runs` (the first workflow id of the run). */
  readonly runKey: string;
  /** The last instanceId checked (pages are ordered by instanceId). */
  readonly after?: string;
  readonly pages: number;
  readonly checked: number;
  /** Instances whose workflow could not be asked (no worker, timeout): their findings are kept as they are. */
  readonly unchecked: number;
  readonly findings: number;
  readonly newFindings: number;
}

/** Input of the `reconcileInstances` activity: one page of instances. */
export interface ReconcilePageInput {
  readonly runKey: string;
  readonly after?: string;
  readonly pageSize: number;
  readonly checkMarketplace: boolean;
  readonly staleGraceMs: number;
  readonly instanceIds?: readonly string[];
}

/** Result of one page. `next` is absent on the last page. */
export interface ReconcilePageResult {
  readonly checked: number;
  readonly unchecked: number;
  readonly findings: number;
  readonly newFindings: number;
  readonly next?: string;
}

/** Input of the `finishReconciliation` activity. */
export interface FinishReconciliationInput {
  readonly runKey: string;
  /** Every page was checked: only then may findings that were not seen again be resolved. */
  readonly complete: boolean;
  readonly checked: number;
  readonly unchecked: number;
  readonly newFindings: number;
  /** The run's scope, when it checked only these instances. */
  readonly instanceIds?: readonly string[];
}

/** What a run found: also the workflow's result. */
export interface ReconciliationResult {
  readonly runKey: string;
  readonly checked: number;
  readonly unchecked: number;
  /** Open findings after the run, by kind. */
  readonly open: Readonly<Partial<Record<DriftKind, number>>>;
  readonly openTotal: number;
  readonly newFindings: number;
  readonly resolved: number;
}

/** The activities the reconciliation workflow calls (implemented by `createReconciliationActivities`). */
export interface ReconciliationActivities {
  /** Records the start of a run (idempotent). */
  beginReconciliation(input: { runKey: string }): Promise<void>;
  /** Checks one page of instances, upserts what it finds, logs each new finding. */
  reconcileInstances(input: ReconcilePageInput): Promise<ReconcilePageResult>;
  /** Resolves findings a complete run no longer sees; records and returns the run's totals. */
  finishReconciliation(input: FinishReconciliationInput): Promise<ReconciliationResult>;
}

/** The running reconciliation's progress. */
export const reconciliationProgressQuery = defineQuery<ReconciliationProgress>('reconciliationProgress');
