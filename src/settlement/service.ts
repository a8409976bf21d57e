import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { withDeadline } from '../platform/deadline.js';
import { classifyTemporalFailure } from '../platform/temporal/failures.js';
import {
  getStatementQuery,
  MONTHLY_SETTLEMENT_WORKFLOW_TYPE,
  SETTLEMENT_TYPES,
  STATEMENT_REJECTION_TYPE,
  statementActionUpdate,
  statementWorkflowId,
  type MonthlySettlementInput,
  type StatementAction,
  type StatementState,
} from './contract.js';
import { clientOrderSignaller } from './activities.js';
import { findStatement, linesByKey, statementOfInvoice, writeOffUnbilledLines, type StatementRow } from './store.js';

// The settlement's use cases for the ops API: read a statement, apply a people's step as the statement workflow's
// validated update. An invoice number already recorded on another statement is refused here, before the workflow
// (which knows only its own invoices): one invoice never covers two payment requests.

/** The outcome of one step. */
export type StatementActionOutcome =
  | { readonly outcome: 'applied'; readonly state: StatementState }
  | { readonly outcome: 'refused'; readonly reason: string; readonly state?: StatementState }
  | { readonly outcome: 'not-found'; readonly reason: string };

/** The outcome of writing off lines that no statement holds: those written off (now or before), and why not the others. */
export interface UnbilledWriteOff {
  readonly writtenOff: readonly string[];
  readonly refused: readonly { readonly lineKey: string; readonly reason: string }[];
  /** Order workflows told (the others had closed). */
  readonly ordersTold: number;
}

/** Creates the settlement service. */
export function createSettlementService(deps: { client: Client; pool: Pool; taskQueue: string; holidays?: readonly string[]; timeoutMs?: number }) {
  const timeoutMs = deps.timeoutMs ?? 8000;
  const withTimeout = <T>(p: Promise<T>): Promise<T> => withDeadline(p, timeoutMs, () => new Error(`statement workflow did not answer within ${timeoutMs} ms`));

  async function act(statementId: string, action: StatementAction): Promise<StatementActionOutcome> {
    const row = await findStatement(deps.pool, statementId);
    if (!row) return { outcome: 'not-found', reason: `no statement ${statementId}` };
    if (action.type === 'ISSUE_INVOICE') {
      const other = await statementOfInvoice(deps.pool, action.invoiceNo);
      if (other !== undefined && other !== statementId) return { outcome: 'refused', reason: `invoice ${action.invoiceNo} is recorded on ${other}: one invoice never covers two payment requests` };
    }
    const handle = deps.client.workflow.getHandle(statementId);
    try {
      return { outcome: 'applied', state: await withTimeout(handle.executeUpdate(statementActionUpdate, { args: [action] })) };
    } catch (err) {
      const failure = classifyTemporalFailure(err, STATEMENT_REJECTION_TYPE);
      if (failure.kind === 'update-refused') {
        const state = await withTimeout(handle.query(getStatementQuery)).catch(() => row.state ?? undefined);
        return { outcome: 'refused', reason: failure.failure.message, ...(state ? { state } : {}) };
      }
      if (failure.kind === 'workflow-gone') return { outcome: 'refused', reason: `statement ${statementId} is closed (${row.step})`, ...(row.state ? { state: row.state } : {}) };
      throw err;
    }
  }

  async function current(statementId: string): Promise<{ row: StatementRow; live?: StatementState } | undefined> {
    const row = await findStatement(deps.pool, statementId);
    if (!row) return undefined;
    const live = await withTimeout(deps.client.workflow.getHandle(statementId).query(getStatementQuery)).catch(() => undefined);
    return { row, ...(live ? { live } : {}) };
  }

  /**
   * Starts a period's statements now (ops: a catch-up after an outage, or a simulation), instead of waiting for the
   * schedule; `instanceId` bills only that instance's lines (statement ids then carry it). Statements already
   * started are left as they are. Answers the statement ids.
   */
  async function runPeriod(period: string, instanceId?: string): Promise<{ period: string; statementIds: string[]; started: string[] }> {
    const scope = instanceId ? `${instanceId}:` : undefined;
    const input: MonthlySettlementInput = { holidays: [...(deps.holidays ?? [])], period, ...(scope ? { scope } : {}) };
    const result = await withTimeout(
      deps.client.workflow.execute(MONTHLY_SETTLEMENT_WORKFLOW_TYPE, {
        taskQueue: deps.taskQueue,
        workflowId: `settlement-run-${period}${instanceId ? `-${instanceId}` : ''}-${Date.now()}`,
        args: [input],
        workflowExecutionTimeout: '1 minute',
      }) as Promise<{ started: string[] }>,
    );
    return { period, statementIds: SETTLEMENT_TYPES.map((t) => statementWorkflowId(period, t, scope)), started: result.started };
  }

  const signalOrder = clientOrderSignaller(() => deps.client);

  /**
   * Writes off lines that never reached a statement and never will (ops: a supervision that will not end, a sale
   * the marketplace cancelled), with the reason and the operator, and tells their orders (a released order then
   * completes). Such a line has no journal, so nothing is reversed; a line in a statement is written off there
   * (its WRITE_OFF step). An eligible line (next month's statement would have billed it) is written off too: there
   * is no undo. Idempotent: a repeated call answers the same lines and tells their orders again.
   */
  async function writeOffUnbilled(input: { lineKeys: readonly string[]; reason: string; actor: string }): Promise<UnbilledWriteOff> {
    // Worded as a statement's write-off is (writeOffLines): one format for ops to read.
    await writeOffUnbilledLines(deps.pool, { lineKeys: input.lineKeys, reason: `written off by ${input.actor}: ${input.reason}` });
    const found = new Map((await linesByKey(deps.pool, input.lineKeys)).map((l) => [l.lineKey, l]));
    const writtenOff: string[] = [];
    const refused: { lineKey: string; reason: string }[] = [];
    const byOrder = new Map<string, string[]>();
    for (const lineKey of [...new Set(input.lineKeys)]) {
      const l = found.get(lineKey);
      if (!l) refused.push({ lineKey, reason: 'no such line' });
      else if (l.statementId !== null) refused.push({ lineKey, reason: `in statement ${l.statementId} (${l.state}): write it off there, or it is settled` });
      else if (l.state !== 'WRITTEN_OFF') refused.push({ lineKey, reason: `${l.state}: not written off` });
      else {
        writtenOff.push(lineKey);
        byOrder.set(l.orderWorkflowId, [...(byOrder.get(l.orderWorkflowId) ?? []), lineKey]);
      }
    }
    // No statement: the order's handler reads the lines and their state only.
    const told = await Promise.all(
      [...byOrder].map(([orderWorkflowId, lineKeys]) =>
        withDeadline(signalOrder(orderWorkflowId, { statementId: '', lineKeys, state: 'WRITTEN_OFF' }), timeoutMs, () => new Error(`order workflow ${orderWorkflowId} did not take the signal within ${timeoutMs} ms`)),
      ),
    );
    return { writtenOff, refused, ordersTold: told.filter(Boolean).length };
  }

  return { act, current, runPeriod, writeOffUnbilled };
}

/** The settlement service. */
export type SettlementService = ReturnType<typeof createSettlementService>;
