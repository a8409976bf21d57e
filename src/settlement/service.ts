import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { withDeadline } from '../platform/deadline.js';
import { classifyTemporalFailure } from '../platform/temporal/failures.js';
import { getStatementQuery, STATEMENT_REJECTION_TYPE, statementActionUpdate, type StatementAction, type StatementState } from './contract.js';
import { findStatement, statementOfInvoice, type StatementRow } from './store.js';

// The settlement's use cases for the ops API: read a statement, apply a people's step as the statement workflow's
// validated update. An invoice number already recorded on another statement is refused here, before the workflow
// (which knows only its own invoices): one invoice never covers two payment requests.

/** The outcome of one step. */
export type StatementActionOutcome =
  | { readonly outcome: 'applied'; readonly state: StatementState }
  | { readonly outcome: 'refused'; readonly reason: string; readonly state?: StatementState }
  | { readonly outcome: 'not-found'; readonly reason: string };

/** Creates the settlement service. */
export function createSettlementService(deps: { client: Client; pool: Pool; timeoutMs?: number }) {
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

  return { act, current };
}

/** The settlement service. */
export type SettlementService = ReturnType<typeof createSettlementService>;
