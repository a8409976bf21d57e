import { getClient, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import {
  DriftKind,
  type DriftFinding,
  type FinishReconciliationInput,
  type ReconcilePageInput,
  type ReconcilePageResult,
  type ReconciliationActivities,
  type ReconciliationResult,
} from './contract.js';
import { compareWithMarketplace, compareWithWorkflow, marketplaceCheckApplies, type MarketplaceView, type ReconciledInstance } from './compare.js';
import { beginRun, finishRun, keepOpenFindings, pageReconciledInstances, readReconciledInstances, upsertFindings } from './store.js';
import { viewOrderWorkflow } from '../orders/service.js';

// The reconciliation workflow's side effects: read a page of the read model, ask each order workflow (and, where
// configured, Query Order) what it says, store what differs. Built by a factory with injected dependencies; every
// write is idempotent, so a retried page only repeats upserts.

/** The subset of a pino logger the activities use (fields first, then the message). */
export interface ReconciliationLogger {
  warn(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
}

/** What the reconciliation activities need. */
export interface ReconciliationActivityDeps {
  readonly pool: Pool;
  /** The Temporal client; by default the activity context's (the worker's own connection). */
  readonly client?: () => Client;
  /** Query Order, when the deployment has marketplace credentials; used only when a run asks for it. */
  readonly queryOrder?: (orderId: string, orderLineId?: string) => Promise<unknown>;
  /** The worker's JSON logger; by default the activity context's logger. */
  readonly logger?: ReconciliationLogger;
  /** Per Temporal call (describe, query, result). */
  readonly workflowTimeoutMs?: number;
  /** How many workflows are asked at once. */
  readonly concurrency?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The activity context's logger, shaped like pino's (only valid inside an activity). */
const contextLogger: ReconciliationLogger = {
  warn: (fields, msg) => {
    log.warn(msg, fields);
  },
  info: (fields, msg) => {
    log.info(msg, fields);
  },
};

/** Runs `fn` over `items` with at most `limit` calls in flight, keeping the order of results. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  });
  await Promise.all(lanes);
  return out;
}

/** The log fields of an order, on every line about one. */
const orderFields = (f: DriftFinding) => ({ orderId: f.orderId, instanceId: f.instanceId, workflowId: f.workflowId });

/** Creates the reconciliation activities. */
export function createReconciliationActivities(deps: ReconciliationActivityDeps) {
  const { pool } = deps;
  const client = deps.client ?? getClient;
  const logger = deps.logger ?? contextLogger;
  const timeoutMs = deps.workflowTimeoutMs ?? 3000;
  const concurrency = deps.concurrency ?? 8;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  async function askMarketplace(row: ReconciledInstance): Promise<MarketplaceView> {
    try {
      await deps.queryOrder!(row.orderId, row.orderLineId ?? undefined);
      return { kind: 'found' };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'MARKETPLACE_ORDER_NOT_FOUND') return { kind: 'missing', message: (err as Error).message };
      return { kind: 'error', code: typeof code === 'string' ? code : 'UNKNOWN' };
    }
  }

  /** Compares rows with their workflows; rows whose read model is behind an open workflow come back as `behind`. */
  async function compareRows(rows: readonly ReconciledInstance[]) {
    const c = client();
    return mapLimit(rows, concurrency, async (row) => ({ row, outcome: compareWithWorkflow(row, await viewOrderWorkflow(c, row.workflowId, timeoutMs)) }));
  }

  const activities = {
    async beginReconciliation(input: { runKey: string }): Promise<void> {
      await beginRun(pool, input.runKey);
      logger.info({ runKey: input.runKey }, 'reconciliation run started');
    },

    async reconcileInstances(input: ReconcilePageInput): Promise<ReconcilePageResult> {
      const rows = await pageReconciledInstances(pool, input.after, input.pageSize, input.instanceIds);
      const findings: DriftFinding[] = [];
      const unchecked: string[] = [];
      let compared = await compareRows(rows);
      // A read model behind an open workflow may be a transition being written right now: look again after the grace.
      const behind = compared.filter((c) => c.outcome.kind === 'behind').map((c) => c.row.instanceId);
      if (behind.length > 0) {
        await sleep(input.staleGraceMs);
        const again = await compareRows(await readReconciledInstances(pool, behind));
        const byId = new Map(again.map((c) => [c.row.instanceId, c]));
        compared = compared.map((c) => (c.outcome.kind === 'behind' ? (byId.get(c.row.instanceId) ?? { row: c.row, outcome: { kind: 'consistent' as const } }) : c));
      }
      for (const { row, outcome } of compared) {
        if (outcome.kind === 'unchecked') unchecked.push(row.instanceId);
        else if (outcome.kind === 'drift' || outcome.kind === 'behind') findings.push(outcome.finding);
      }
      // Rows whose order the marketplace did not answer for (check off, or Query Order failing) keep such findings.
      let notAskedMarketplace = rows.map((r) => r.instanceId);
      if (input.checkMarketplace && deps.queryOrder) {
        const candidates = rows.filter(marketplaceCheckApplies);
        const views = await mapLimit(candidates, 4, async (row) => ({ row, view: await askMarketplace(row) }));
        const answered = new Set(views.filter((v) => v.view.kind !== 'error').map((v) => v.row.instanceId));
        notAskedMarketplace = notAskedMarketplace.filter((id) => !answered.has(id));
        for (const { row, view } of views) {
          const f = compareWithMarketplace(row, view);
          if (f) findings.push(f);
        }
      }
      const fresh = await upsertFindings(pool, input.runKey, findings);
      await keepOpenFindings(pool, input.runKey, unchecked);
      await keepOpenFindings(pool, input.runKey, notAskedMarketplace, [DriftKind.MarketplaceOrderMissing]);
      for (const f of fresh) logger.warn({ ...orderFields(f), kind: f.kind, details: f.details, runKey: input.runKey }, 'reconciliation drift found');
      const last = rows[rows.length - 1];
      return {
        checked: rows.length - unchecked.length,
        unchecked: unchecked.length,
        findings: findings.length,
        newFindings: fresh.length,
        ...(rows.length === input.pageSize && last ? { next: last.instanceId } : {}),
      };
    },

    async finishReconciliation(input: FinishReconciliationInput): Promise<ReconciliationResult> {
      const { resolved, open, openTotal } = await finishRun(pool, input);
      for (const f of resolved) logger.info({ ...orderFields(f), kind: f.kind, runKey: input.runKey }, 'reconciliation drift resolved');
      const result: ReconciliationResult = {
        runKey: input.runKey,
        checked: input.checked,
        unchecked: input.unchecked,
        open,
        openTotal,
        newFindings: input.newFindings,
        resolved: resolved.length,
      };
      logger.info({ ...result }, 'reconciliation run finished');
      return result;
    },
  } satisfies ReconciliationActivities;
  return activities;
}

/** The reconciliation activities' type. */
export type ReconciliationActivityImpl = ReturnType<typeof createReconciliationActivities>;
