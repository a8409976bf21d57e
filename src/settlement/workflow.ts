import { allHandlersFinished, ApplicationFailure, condition, ParentClosePolicy, proxyActivities, setCurrentDetails, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import { OperationLock } from '../kernel/operation-lock.js';
import type { SettlementActivities } from './activities.js';
import {
  getStatementQuery,
  MISSING_INVOICE_TEMPLATE_TYPE,
  SETTLEMENT_TYPES,
  STATEMENT_REJECTION_TYPE,
  STATEMENT_WORKFLOW_TYPE,
  statementActionUpdate,
  statementWorkflowId,
  type MonthlySettlementInput,
  type StatementAction,
  type StatementInput,
  type StatementState,
} from './contract.js';
import { applyStatementAction, initialStatementState, lineStateOf, monthlyRunPlan } from './state.js';

// The monthly statement (spec §10): built from the eligible lines, then moved through the people's steps, each a
// validated update from the ops API (out of order: refused with the reason, nothing changed). Started once per
// period and settlement type by the monthly run, which the `koogallery-settlement` Schedule starts.

const acts = proxyActivities<SettlementActivities>({
  // Building a statement of 100,000 lines takes seconds to a minute; a retry finds it built.
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [MISSING_INVOICE_TEMPLATE_TYPE] },
});

function refuse(reason: string): never {
  throw ApplicationFailure.create({ type: STATEMENT_REJECTION_TYPE, message: reason, nonRetryable: true });
}

function describe(s: StatementState): string {
  const total = s.summary ? `${s.summary.lines} lines, net ¥${(s.summary.netMinor / 100).toFixed(2)}` : 'building';
  return `**${s.settlementType}** statement of ${s.period}: **${s.step}** · ${total}${s.differenceMinor ? ` · ⚠ marketplace bill differs by ¥${(s.differenceMinor / 100).toFixed(2)}` : ''}`;
}

/** One statement, from its bill to its payment. */
export async function settlementStatementWorkflow(input: StatementInput): Promise<StatementState> {
  const summary = await acts.buildSettlementStatement(input);
  let state = initialStatementState(summary, new Date().toISOString());
  const lock = new OperationLock();
  setHandler(getStatementQuery, () => state);
  setHandler(
    statementActionUpdate,
    (action: StatementAction) =>
      lock.run(async () => {
        // Checked again here: an action admitted by the validator may have queued behind one that moved the step.
        const r = applyStatementAction(state, action, new Date().toISOString());
        if (!r.ok) refuse(r.reason);
        if (action.type === 'WRITE_OFF') {
          const off = await acts.writeOffSettlementLines({ statementId: state.statementId, period: state.period, reason: action.reason, actor: action.actor, ...(action.lineKeys ? { lineKeys: action.lineKeys } : {}) });
          if (off.lineKeys.length === 0) refuse(action.lineKeys ? 'none of these lines is an unpaid line of this statement' : 'the statement has no unpaid line');
          const at = new Date().toISOString();
          const writeOffs = [...(state.writeOffs ?? []), { lineKeys: off.lineKeys, reason: action.reason, at, actor: action.actor, netMinor: off.netMinor }];
          // Nothing left to pay: the statement ends written off.
          state = off.remaining === 0 ? { ...state, writeOffs, step: 'WRITTEN_OFF', history: [...state.history, { step: 'WRITTEN_OFF', at, actor: action.actor }] } : { ...state, writeOffs };
          await acts.saveSettlementStatement(state);
          setCurrentDetails(describe(state));
          return state;
        }
        const before = state;
        state = r.state;
        await acts.saveSettlementStatement(state);
        if (state.step !== before.step) {
          setCurrentDetails(describe(state));
          if (state.step === 'INVOICE_NOTICE_RECEIVED') await acts.notifyInvoiceNotice(state);
          if (lineStateOf(state.step) !== lineStateOf(before.step)) {
            await acts.advanceSettlementLines({ statementId: state.statementId, period: state.period, state: lineStateOf(state.step) });
          }
          if (state.step === 'PAID' && state.settlementType === 'PLATFORM_FEE') {
            try {
              // Negative orders (refunds, downgrades) are netted in: the fee is the statement's total.
              await acts.requestPlatformFeeInvoice({ statementId: state.statementId, feeMinor: state.summary?.shareMinor ?? 0 });
              state = { ...state, platformFeeInvoice: { requested: true } };
            } catch (err) {
              const cause = (err as { cause?: { message?: string } }).cause;
              state = { ...state, platformFeeInvoice: { requested: false, error: cause?.message ?? (err as Error).message } };
            }
            await acts.saveSettlementStatement(state);
          }
        }
        return state;
      }),
    {
      validator: (action: StatementAction) => {
        if (!action || typeof action !== 'object' || typeof (action as { type?: unknown }).type !== 'string') refuse('an action needs a type');
        const r = applyStatementAction(state, action, new Date().toISOString());
        if (!r.ok) refuse(r.reason);
      },
    },
  );
  setCurrentDetails(describe(state));
  await acts.saveSettlementStatement(state);
  // An empty month: nothing to bill, nothing to pay.
  if (summary.lines === 0) return state;
  await acts.advanceSettlementLines({ statementId: state.statementId, period: state.period, state: 'IN_STATEMENT' });
  // WRITTEN_OFF is reached only through the WRITE_OFF action, absent from older histories: they replay unchanged.
  await condition(() => state.step === 'WRITTEN_OFF' || (state.step === 'PAID' && (state.settlementType !== 'PLATFORM_FEE' || state.platformFeeInvoice !== undefined)));
  await condition(allHandlersFinished);
  return state;
}

/**
 * The monthly run: on the bill date (the 3rd, or the next working day) it starts the period's statements, one per
 * settlement type, each once (deterministic ids). The schedule fires daily from the 3rd to the 15th; runs before
 * the bill date, and runs after the statements exist, do nothing.
 */
export async function monthlySettlementWorkflow(input: MonthlySettlementInput): Promise<{ period: string; started: string[]; billDate: string }> {
  const { period, billDate, due } = monthlyRunPlan(new Date(), input.holidays, input.period);
  if (!due) return { period, started: [], billDate };
  const started: string[] = [];
  for (const settlementType of SETTLEMENT_TYPES) {
    const statementId = statementWorkflowId(period, settlementType, input.scope);
    try {
      await startChild(STATEMENT_WORKFLOW_TYPE, {
        workflowId: statementId,
        args: [{ statementId, period, settlementType, ...(input.scope ? { scope: input.scope } : {}) } satisfies StatementInput],
        // The statement waits weeks for people's steps; the monthly run ends at once.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Settlement statement ${period} (${settlementType})`,
        taskQueue: workflowInfo().taskQueue,
      });
      started.push(statementId);
    } catch (err) {
      // Matched by name: workflow code may import only @temporalio/workflow, which does not export the class.
      if ((err as Error | undefined)?.name !== 'WorkflowExecutionAlreadyStartedError') throw err;
    }
  }
  return { period, started, billDate };
}
