import type { Client } from '@temporalio/client';
import { findOrderWorkflows } from '../orders/service.js';
import type { Pool } from 'pg';
import { tooLateToStart, withDeadline } from '../platform/deadline.js';
import { classifyTemporalFailure, updateRefusal } from '../platform/temporal/failures.js';
import { findSupervisionsByOrder, type SupervisionRow } from './store.js';
import {
  SUPERVISION_REJECTION_TYPE,
  getSupervisionQuery,
  supervisionActionUpdate,
  supervisionWorkflowId,
  type SupervisionAction,
  type SupervisionState,
} from './contract.js';

// The supervision use cases behind the merchant operations API and the marketplace's order notification: find an
// order line's supervision, apply an action through the workflow's validated update, read its live state.

/** Which supervision: an order, and its line when the order has several. */
export interface SupervisionRef {
  readonly orderId: string;
  readonly orderLineId?: string;
}

/** A supervision workflow that did not answer in time: its own per-call timeout, or the caller's deadline. */
export class SupervisionTimeout extends Error {
  override readonly name = 'SupervisionTimeout';
}

/** A caller that answers someone on a clock: when it must have its answer (epoch ms). */
export interface CallDeadline {
  readonly deadline?: number;
}

/** The outcome of one action. */
export type ActionOutcome =
  | { readonly outcome: 'applied' | 'duplicate'; readonly state: SupervisionState; readonly workflowId: string }
  | { readonly outcome: 'refused'; readonly reason: string; readonly state?: SupervisionState; readonly workflowId: string }
  | { readonly outcome: 'no-supervision'; readonly reason: string }
  | { readonly outcome: 'ambiguous'; readonly reason: string; readonly orderLineIds: readonly string[] };

/** What the supervision service needs. */
export interface SupervisionServiceDeps {
  readonly client: Client;
  readonly pool: Pool;
  /** Per Temporal call (an action is one update: a PostgreSQL write and a few workflow tasks). */
  readonly timeoutMs?: number;
}

/** The reason of a refused action, when the failure is the workflow's refusal. */
export function refusalReason(err: unknown): string | undefined {
  return updateRefusal(err, SUPERVISION_REJECTION_TYPE)?.message;
}

/** Creates the supervision service. */
export function createSupervisionService(deps: SupervisionServiceDeps) {
  const { client, pool } = deps;
  const timeoutMs = deps.timeoutMs ?? 4000;

  /** The supervision workflow id of an order line, from the supervision read model or, before its first write, the order's. */
  async function resolve(ref: SupervisionRef): Promise<{ workflowId: string; row?: SupervisionRow } | Exclude<ActionOutcome, { workflowId: string }>> {
    const rows = (await findSupervisionsByOrder(pool, ref.orderId)).filter((r) => ref.orderLineId === undefined || r.orderLineId === ref.orderLineId);
    if (rows.length === 1) return { workflowId: rows[0]!.workflowId, row: rows[0]! };
    if (rows.length > 1) {
      return { outcome: 'ambiguous', reason: `order ${ref.orderId} has ${rows.length} supervised lines; name one with orderLineId`, orderLineIds: rows.map((r) => r.orderLineId ?? '') };
    }
    // Started a moment ago and not yet written: the order's read-model row names the order workflow.
    const orders = await findOrderWorkflows(pool, ref.orderId, ref.orderLineId);
    if (orders.length === 1) return { workflowId: supervisionWorkflowId(orders[0]!.workflowId) };
    return { outcome: 'no-supervision', reason: `no supervised order ${ref.orderId}${ref.orderLineId ? ` line ${ref.orderLineId}` : ''}` };
  }

  /** Bounded by the per-call timeout and, when the caller has one, by its deadline. */
  const withTimeout = <T>(p: Promise<T>, o: CallDeadline = {}): Promise<T> => {
    const ms = Math.max(0, Math.min(timeoutMs, o.deadline === undefined ? timeoutMs : o.deadline - Date.now()));
    return withDeadline(p, ms, () => new SupervisionTimeout(`no answer from the supervision (read model or workflow) within ${ms} ms`));
  };

  /** Applies one action; a refusal carries the workflow's reason and the unchanged state. */
  async function act(ref: SupervisionRef, action: SupervisionAction, o: CallDeadline = {}): Promise<ActionOutcome> {
    const found = await withTimeout(resolve(ref), o);
    if (!('workflowId' in found)) return found;
    // The look-up may have used the time: an update sent with none left would be applied behind a 000005.
    if (o.deadline !== undefined && tooLateToStart(o.deadline)) throw new SupervisionTimeout(`no time left for ${action.type}`);
    const handle = client.workflow.getHandle(found.workflowId);
    try {
      const result = await withTimeout(handle.executeUpdate(supervisionActionUpdate, { args: [action] }), o);
      return { outcome: result.applied ? 'applied' : 'duplicate', state: result.state, workflowId: found.workflowId };
    } catch (err) {
      const failure = classifyTemporalFailure(err, SUPERVISION_REJECTION_TYPE);
      if (failure.kind === 'update-refused') {
        const state = await withTimeout(handle.query(getSupervisionQuery), o).catch(() => found.row?.state);
        return { outcome: 'refused', reason: failure.failure.message, workflowId: found.workflowId, ...(state ? { state } : {}) };
      }
      if (failure.kind === 'workflow-gone' && !found.row) {
        // Neither a running workflow nor a record of one: the order line is not supervised (or not yet).
        return { outcome: 'no-supervision', reason: `no supervised order ${ref.orderId}${ref.orderLineId ? ` line ${ref.orderLineId}` : ''}` };
      }
      if (failure.kind === 'workflow-gone') {
        // An ended supervision's workflow has closed: refuse with what the read model knows.
        const state = found.row?.state;
        const ended = state?.node === 'COMPLETED' ? 'completed' : state?.node === 'CLOSED' ? 'closed' : 'ended';
        return { outcome: 'refused', reason: `supervision already ${ended}${state?.outcome ? ` (${state.outcome})` : ''}`, workflowId: found.workflowId, ...(state ? { state } : {}) };
      }
      throw err;
    }
  }

  /** The live state, or the read model's when the workflow has closed. */
  async function current(ref: SupervisionRef): Promise<{ workflowId: string; row?: SupervisionRow; live?: SupervisionState } | Exclude<ActionOutcome, { workflowId: string }>> {
    const found = await resolve(ref);
    if (!('workflowId' in found)) return found;
    const live = await withTimeout(client.workflow.getHandle(found.workflowId).query(getSupervisionQuery)).catch(() => undefined);
    // Neither a row nor a workflow that answers: the order is not supervised (or its supervision has not started).
    if (!found.row && !live) return { outcome: 'no-supervision', reason: `no supervised order ${ref.orderId}${ref.orderLineId ? ` line ${ref.orderLineId}` : ''}` };
    return { ...found, ...(live ? { live } : {}) };
  }

  /**
   * The event ids an order line's supervision has applied: the live state's, else (the workflow does not answer
   * within the call's time) the read model's. Not the read model's first: it is written inside the update, by a local
   * activity, and could list an event whose update was lost with its workflow task.
   */
  async function appliedEventIds(ref: SupervisionRef, o: CallDeadline): Promise<Set<string>> {
    const found = await withTimeout(resolve(ref), o).catch(() => undefined);
    if (!found || !('workflowId' in found)) return new Set();
    const live = await withTimeout(client.workflow.getHandle(found.workflowId).query(getSupervisionQuery), o).catch(() => undefined);
    return new Set((live ?? found.row?.state)?.appliedEventIds ?? []);
  }

  /**
   * Applies marketplace actions in order (the order-notification port). With a deadline, an action it leaves no time
   * for is not started: SupervisionTimeout, and the marketplace's retry applies the rest (each action once, by its
   * event id).
   */
  async function applyMarketplaceActions(ref: SupervisionRef, actions: readonly SupervisionAction[], o: CallDeadline = {}) {
    const results: Array<{ type: string; eventId?: string; outcome: 'applied' | 'duplicate' | 'refused' | 'no-supervision'; reason?: string }> = [];
    // Every notification carries the order's whole event list: skip the events already applied (a read instead of
    // an update each, which would cost workflow history). The workflow dedupes again, for races.
    const seen = actions.some((a) => a.eventId) ? await appliedEventIds(ref, o) : new Set<string>();
    for (const action of actions) {
      const base = { type: action.type, ...(action.eventId ? { eventId: action.eventId } : {}) };
      if (action.eventId && seen.has(action.eventId)) {
        results.push({ ...base, outcome: 'duplicate' });
        continue;
      }
      if (o.deadline !== undefined && tooLateToStart(o.deadline)) throw new SupervisionTimeout(`no time left for ${action.type}`);
      const r = await act(ref, action, o);
      if (r.outcome === 'applied' || r.outcome === 'duplicate') results.push({ ...base, outcome: r.outcome });
      else if (r.outcome === 'refused') results.push({ ...base, outcome: 'refused', reason: r.reason });
      else if (r.outcome === 'no-supervision' || r.outcome === 'ambiguous') results.push({ ...base, outcome: 'no-supervision', reason: r.reason });
    }
    return results;
  }

  return { act, current, applyMarketplaceActions };
}

/** The supervision service. */
export type SupervisionService = ReturnType<typeof createSupervisionService>;
