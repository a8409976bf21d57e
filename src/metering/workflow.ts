import { ActivityFailure, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  getPackageQuery,
  packageEventSignal,
  repurchaseFailedSignal,
  type MeteringPushActivities,
  type MeteringPushInput,
  type MeteringPushResult,
  type PackageActivities,
  type PackageNotificationKind,
  type PackageState,
  type PackageWorkflowInput,
} from './contract.js';

// The metering context's two workflow types: the usage push, and one workflow per package.

// One usage push: aggregate every closed hour into push items, then send the pending ones, 1,000 per call, each
// item at most once per run (a refused one waits for the next run). Started hourly by the
// `koogallery-metering-push` Schedule, and by POST /ops/metering/push.

const acts = proxyActivities<MeteringPushActivities>({
  startToCloseTimeout: '2 minutes',
  // A push heartbeats before and after its call (at most METERING_PUSH_TIMEOUT_MS ≤ 25 s): a worker that dies
  // mid-push is noticed in 30 s, and the retry sends the same items with the same sns.
  heartbeatTimeout: '30 seconds',
  // A call that got no answer is retried with the same items (same sns) a few times; then the run ends and the
  // next one tries again.
  retry: { initialInterval: '2 s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** The push workflow. */
export async function meteringPushWorkflow(input: MeteringPushInput = {}): Promise<MeteringPushResult> {
  // The run's key survives continue-as-new, so an item is sent once per logical run however long it is.
  const runKey = workflowInfo().firstExecutionRunId;
  let result: MeteringPushResult = input.carried ?? { aggregated: 0, calls: 0, accepted: 0, retrying: 0, flagged: 0 };
  if (!input.carried) {
    const aggregated = await acts.aggregateClosedPeriods({ runStartedAt: new Date().toISOString(), ...(input.closeDelayMs !== undefined ? { closeDelayMs: input.closeDelayMs } : {}) });
    result = { ...result, aggregated };
  }
  for (;;) {
    let batch;
    try {
      batch = await acts.pushPendingBatch({ runKey });
    } catch (err) {
      // Out of retries (API unreachable, or the worker lost each attempt): the items stay pending for the next run.
      if (err instanceof ActivityFailure) return { ...result, unavailable: err.cause?.message ?? err.message };
      throw err;
    }
    if (batch.sent === 0) break;
    result = {
      ...result,
      calls: result.calls + 1,
      accepted: result.accepted + batch.accepted,
      retrying: result.retrying + batch.retrying,
      flagged: result.flagged + batch.flagged,
    };
    if (!batch.more) break;
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof meteringPushWorkflow>({ ...input, carried: result });
  }
  return result;
}

// One package (按需套餐包) from its threshold to its end. It hears only what changes its course: the threshold
// crossed and the quota used up (from intake), and a failed repurchase (from ops). At the threshold it waits for
// the buyer's auto-repurchase, which reaches us as an ordinary newInstance of the same customer and product, and
// links it; no repurchase within the window, or a failed one, is told to the buyer on every channel. At exhaustion
// a stop-when-used-up package with no follow-on is frozen through the orders context.

const packageActs = proxyActivities<PackageActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const DEFAULT_POLL_MS = 60_000;

/** The package workflow. */
export async function packageWorkflow(input: PackageWorkflowInput): Promise<PackageState> {
  let thresholdCrossed = false;
  let exhausted = false;
  let frozen = false;
  let released = false;
  let nextInstanceId: string | undefined;
  let repurchaseFailed: string | undefined;
  const notified: PackageNotificationKind[] = [];
  const state = (): PackageState => ({
    instanceId: input.instanceId,
    thresholdCrossed,
    exhausted,
    frozen,
    notified: [...notified],
    ...(nextInstanceId ? { nextInstanceId } : {}),
    ...(repurchaseFailed !== undefined ? { repurchaseFailed } : {}),
  });
  setHandler(packageEventSignal, (e) => {
    // A released instance has nothing left to wait for: the workflow ends wherever it waits. (Histories from
    // before this kind existed never carry it, so they replay as they ran.)
    if (e.kind === 'RELEASED') {
      released = true;
      return;
    }
    // Exhaustion implies the threshold: a batch may cross both at once, or the threshold signal may be lost.
    thresholdCrossed = true;
    if (e.kind === 'EXHAUSTED') exhausted = true;
  });
  setHandler(repurchaseFailedSignal, (r) => {
    repurchaseFailed ??= r.reason.slice(0, 500);
  });
  setHandler(getPackageQuery, state);

  const notify = async (kind: PackageNotificationKind, reason?: string) => {
    await packageActs.notifyPackageBuyer({ instanceId: input.instanceId, kind, ...(reason !== undefined ? { reason } : {}) });
    notified.push(kind);
  };
  const link = async () => {
    nextInstanceId ??= (await packageActs.linkFollowOnPackage({ instanceId: input.instanceId })) ?? undefined;
  };
  const freezeIfUsedUp = async () => {
    if (!exhausted || frozen || nextInstanceId || !input.stopWhenUsedUp) return;
    await link();
    if (nextInstanceId) return;
    await packageActs.freezeUsedUpPackage({ instanceId: input.instanceId });
    frozen = true;
  };

  await condition(() => thresholdCrossed || released);
  if (released) return state();
  if (!input.repurchase) {
    // 余量告警: the threshold only tells the buyer what remains.
    await notify('PACKAGE_REMAINDER_LOW');
  } else {
    const deadline = Date.now() + input.repurchaseWindowMs;
    const poll = input.pollIntervalMs ?? DEFAULT_POLL_MS;
    for (;;) {
      await link();
      if (nextInstanceId || repurchaseFailed !== undefined || released) break;
      await freezeIfUsedUp();
      const left = deadline - Date.now();
      if (left <= 0) break;
      // Woken early by a failure report or by exhaustion (which may have to freeze now, not at the next poll).
      await condition(() => released || repurchaseFailed !== undefined || (exhausted && !frozen && input.stopWhenUsedUp), Math.min(poll, left));
    }
    if (released) return state();
    if (!nextInstanceId) await notify(repurchaseFailed !== undefined ? 'PACKAGE_REPURCHASE_FAILED' : 'PACKAGE_REPURCHASE_MISSING', repurchaseFailed);
  }
  await condition(() => exhausted || released);
  if (released) return state();
  await freezeIfUsedUp();
  return state();
}
