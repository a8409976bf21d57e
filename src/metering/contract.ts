import { defineQuery, defineSignal } from '@temporalio/workflow';
import { ORDER_TASK_QUEUE } from '../orders/contract.js';

// The metering context's contract (issue #14, spec §2.5, §4.2, §8): usage intake's record and answer shapes,
// what queryInstance says about usage, and the push workflow's input, result and activities. Shared by the API,
// the worker and the workflow. Bundle-safe: nothing here may import Node modules. Names are wire contracts.

/** The charging modes metering serves (V1 chargingMode 0 → ON_DEMAND, 5 → ON_DEMAND_PKG). */
export const METERED_CHARGING_MODES = ['ON_DEMAND', 'ON_DEMAND_PKG'] as const;
/** One of METERED_CHARGING_MODES. */
export type MeteredChargingMode = (typeof METERED_CHARGING_MODES)[number];

/** Whether an instance of this charging mode reports usage. */
export function isMetered(chargingMode: string | null | undefined): chargingMode is MeteredChargingMode {
  return chargingMode === 'ON_DEMAND' || chargingMode === 'ON_DEMAND_PKG';
}

/** Most records one intake call may carry (the push API's own limit per call, §8). */
export const MAX_RECORDS_PER_INTAKE = 1000;
/** Most records one usage-data call carries (§8). */
export const MAX_RECORDS_PER_PUSH = 1000;
/** The marketplace refuses begin_time older than this (§8, MKT error "within the last 21 days"). */
export const MAX_USAGE_AGE_MS = 21 * 24 * 3600_000;
/** numeric(16,4): the largest value one record may carry. */
export const MAX_USAGE_VALUE = 999_999_999_999.9999;

/** Why one intake record was refused (the answer's `reason`). */
export const UsageRefusal = {
  UnknownInstance: 'UNKNOWN_INSTANCE',
  /** The instance exists but is not on-demand or a package: its usage is not billed by metering. */
  NotMetered: 'NOT_METERED',
  /** Released, failed or rejected: no usage can accrue. */
  InstanceNotLive: 'INSTANCE_NOT_LIVE',
  ValueNotPositive: 'VALUE_NOT_POSITIVE',
  TooManyDecimals: 'TOO_MANY_DECIMALS',
  ValueTooLarge: 'VALUE_TOO_LARGE',
  BeginTooOld: 'BEGIN_TOO_OLD',
  EndBeforeBegin: 'END_BEFORE_BEGIN',
  /** The period has not happened yet (clock skew is allowed for; see METERING_FUTURE_TOLERANCE_MS). */
  EndInFuture: 'END_IN_FUTURE',
} as const;
/** One of UsageRefusal's values. */
export type UsageRefusal = (typeof UsageRefusal)[keyof typeof UsageRefusal];

/** The answer for one intake record. */
export type RecordAnswer =
  | { readonly recordId: string; readonly status: 'accepted' }
  | { readonly recordId: string; readonly status: 'duplicate' }
  | { readonly recordId: string; readonly status: 'refused'; readonly reason: UsageRefusal };

/**
 * What queryInstance carries as `usage` for a metered instance (§4.2: field names UNCONFIRMED; ours, documented in
 * README "Metering"). Amounts are decimal strings with up to 4 decimals, as the push sends them.
 */
export type InstanceUsage =
  | { readonly chargingMode: 'ON_DEMAND'; readonly usedAmount: string; readonly updatedAt: string }
  | {
      readonly chargingMode: 'ON_DEMAND_PKG';
      readonly usedAmount: string;
      readonly totalAmount: string | null;
      readonly remainingAmount: string | null;
      /** The package that follows this one (the buyer's repurchase), once linked. */
      readonly nextInstanceId?: string;
      readonly updatedAt: string;
    };

/** The registered push workflow type (the schedule starts it by name). */
export const METERING_PUSH_WORKFLOW_TYPE = 'meteringPushWorkflow';
/** Id of the Schedule that runs the push for the default deployment. */
export const METERING_PUSH_SCHEDULE_ID = 'koogallery-metering-push';

/** The schedule id for the deployment serving `taskQueue` (see reconciliationScheduleId for why it is suffixed). */
export function meteringPushScheduleId(taskQueue: string): string {
  return taskQueue === ORDER_TASK_QUEUE ? METERING_PUSH_SCHEDULE_ID : `${METERING_PUSH_SCHEDULE_ID}-${taskQueue}`;
}

/** What a push run is started with. */
export interface MeteringPushInput {
  /**
   * Aggregate hours that ended at least this long ago (records still in flight land in their hour); default
   * METERING_PUSH_CLOSE_DELAY_MINUTES. The ops push passes 0: every hour that has ended.
   */
  readonly closeDelayMs?: number;
  /** Carried across continue-as-new. */
  readonly carried?: MeteringPushResult;
}

/** What a push run did. */
export interface MeteringPushResult {
  /** Push items created from closed hours. */
  readonly aggregated: number;
  /** Usage-data calls answered. */
  readonly calls: number;
  readonly accepted: number;
  /** Items the marketplace refused: retried by the next run. */
  readonly retrying: number;
  /** Items refused METERING_PUSH_MAX_ATTEMPTS times: waiting for ops (GET /ops/metering/flagged). */
  readonly flagged: number;
  /** Set when the usage-data API could not be reached: the pending items wait for the next run. */
  readonly unavailable?: string;
}

/** One call's worth of pending items pushed. */
export interface PushBatchResult {
  readonly sent: number;
  readonly accepted: number;
  readonly retrying: number;
  readonly flagged: number;
  /** Whether pending items remain that this run has not sent yet. */
  readonly more: boolean;
}

/** The push workflow's activities (implemented in activities.ts). */
export interface MeteringPushActivities {
  /** Turns every closed (instance, hour) with unpushed records into a push item; returns how many it made. */
  aggregateClosedPeriods(input: { readonly runStartedAt: string; readonly closeDelayMs?: number }): Promise<number>;
  /**
   * Sends up to 1,000 pending items that run `runKey` has not sent yet and records each one's answer. Throws
   * METERING_PUSH_UNAVAILABLE (retryable) when no answer came: the same items, with the same sns, go again.
   */
  pushPendingBatch(input: { readonly runKey: string }): Promise<PushBatchResult>;
}

/** Failure types raised by the metering activities. */
export const MeteringFailureType = {
  /** The usage-data API did not answer (timeout, network, 5xx): the activity retries the same items. */
  PushUnavailable: 'METERING_PUSH_UNAVAILABLE',
} as const;

// ---- Packages (按需套餐包) and auto-repurchase (API套餐包自动复购, §8) -------------------------------------------

/** The registered package workflow type. */
export const PACKAGE_WORKFLOW_TYPE = 'packageWorkflow';

/** One package workflow per package instance, started by the first crossing intake sees. */
export function packageWorkflowId(instanceId: string): string {
  return `package-${instanceId}`;
}

/** What a package workflow is started with (the package's terms, from the registry). */
export interface PackageWorkflowInput {
  readonly instanceId: string;
  /** Service stops (the instance is frozen) at exhaustion unless a follow-on package is linked. */
  readonly stopWhenUsedUp: boolean;
  /** Whether the buyer's auto-repurchase is expected at the threshold (false: remainder alert only). */
  readonly repurchase: boolean;
  /** How long after the threshold a repurchase may take before the buyer is told it did not arrive. */
  readonly repurchaseWindowMs: number;
  /** How often the workflow looks for the follow-on package while it waits (default 1 minute). */
  readonly pollIntervalMs?: number;
}

/**
 * What intake tells a package workflow: only what changes its course. RELEASED comes from the push run's
 * catch-up: the instance was released (or is gone) before the package was used up, so the workflow ends.
 */
export interface PackageEvent {
  readonly kind: 'THRESHOLD_CROSSED' | 'EXHAUSTED' | 'RELEASED';
  readonly usedAfter: string;
  readonly quota: string;
}

/** The package workflow's state. */
export interface PackageState {
  readonly instanceId: string;
  readonly thresholdCrossed: boolean;
  readonly exhausted: boolean;
  readonly nextInstanceId?: string;
  /** What the marketplace (through ops) said about a failed repurchase. */
  readonly repurchaseFailed?: string;
  readonly frozen: boolean;
  /** Notification kinds sent to the buyer, in order. */
  readonly notified: readonly PackageNotificationKind[];
}

/** What the buyer is told about a package. */
export type PackageNotificationKind = 'PACKAGE_REMAINDER_LOW' | 'PACKAGE_REPURCHASE_MISSING' | 'PACKAGE_REPURCHASE_FAILED';

/** Intake: a threshold crossed or the quota used up. */
export const packageEventSignal = defineSignal<[PackageEvent]>('packageEvent');
/** Ops: the marketplace reported that the buyer's auto-repurchase failed. */
export const repurchaseFailedSignal = defineSignal<[{ readonly reason: string }]>('repurchaseFailed');
/** The package's state. */
export const getPackageQuery = defineQuery<PackageState>('getPackage');

/** The package workflow's activities. */
export interface PackageActivities {
  /** Finds the buyer's repurchased package (same customer and product) and links it; its id, or null. */
  linkFollowOnPackage(input: { readonly instanceId: string }): Promise<string | null>;
  /** Tells the buyer (every channel routed to CUSTOMER: SMS, e-mail, in-site message). Idempotent per kind. */
  notifyPackageBuyer(input: { readonly instanceId: string; readonly kind: PackageNotificationKind; readonly reason?: string }): Promise<number>;
  /** Freezes the used-up package through the orders context (the marketplace FREEZE path). */
  freezeUsedUpPackage(input: { readonly instanceId: string }): Promise<void>;
}
