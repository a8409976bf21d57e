import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  reconciliationProgressQuery,
  type ReconciliationActivities,
  type ReconciliationInput,
  type ReconciliationProgress,
  type ReconciliationResult,
} from './contract.js';

// One reconciliation run: page through the read model's live instances, let an activity compare each page with
// the order workflows, then resolve what was not seen again. Started by the `koogallery-reconciliation` Schedule.

const acts = proxyActivities<ReconciliationActivities>({
  // A page asks up to pageSize workflows (a few seconds each at worst) and may wait out the stale grace once.
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

const DEFAULT_PAGE_SIZE = 200;
const DEFAULT_STALE_GRACE_MS = 5000;

/** The reconciliation workflow. */
export async function reconciliationWorkflow(input: ReconciliationInput = {}): Promise<ReconciliationResult> {
  const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
  const staleGraceMs = input.staleGraceMs ?? DEFAULT_STALE_GRACE_MS;
  const checkMarketplace = input.checkMarketplace ?? false;
  let progress: ReconciliationProgress = input.carried ?? { runKey: workflowInfo().workflowId, pages: 0, checked: 0, unchecked: 0, findings: 0, newFindings: 0 };
  setHandler(reconciliationProgressQuery, () => progress);

  if (!input.carried) await acts.beginReconciliation({ runKey: progress.runKey });
  for (;;) {
    const page = await acts.reconcileInstances({
      runKey: progress.runKey,
      ...(progress.after !== undefined ? { after: progress.after } : {}),
      pageSize,
      checkMarketplace,
      staleGraceMs,
      ...(input.instanceIds ? { instanceIds: input.instanceIds } : {}),
    });
    progress = {
      runKey: progress.runKey,
      ...(page.next !== undefined ? { after: page.next } : {}),
      pages: progress.pages + 1,
      checked: progress.checked + page.checked,
      unchecked: progress.unchecked + page.unchecked,
      findings: progress.findings + page.findings,
      newFindings: progress.newFindings + page.newFindings,
    };
    if (page.next === undefined) break;
    // A large read model: keep the history short; the run (its key and totals) goes on in the next execution.
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof reconciliationWorkflow>({ ...input, carried: progress });
  }
  return acts.finishReconciliation({
    runKey: progress.runKey,
    complete: true,
    checked: progress.checked,
    unchecked: progress.unchecked,
    newFindings: progress.newFindings,
    ...(input.instanceIds ? { instanceIds: input.instanceIds } : {}),
  });
}
