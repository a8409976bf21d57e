import { ActivityFailure, continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { MeteringPushActivities, MeteringPushInput, MeteringPushResult } from './contract.js';

// One usage push: aggregate every closed hour into push items, then send the pending ones, 1,000 per call, each
// item at most once per run (a refused one waits for the next run). Started hourly by the
// `koogallery-metering-push` Schedule, and by POST /ops/metering/push.

const acts = proxyActivities<MeteringPushActivities>({
  startToCloseTimeout: '2 minutes',
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
