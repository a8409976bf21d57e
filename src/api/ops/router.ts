import type { Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { latestRun, listFindings, type StoredFinding, type StoredRun } from '../../reconciliation/findings-store.js';
import { viewOrderWorkflow } from '../../reconciliation/workflow-view.js';
import { requireOpsToken } from './auth.js';
import { OpsError, OpsErrorCode, opsErrorHandler } from './errors.js';
import { PAGE_LIMIT, encodeCursor, listDriftParams, listOrdersParams, orderPathParams, parseParams } from './params.js';
import { findOrderDetail, listMarketplaceCalls, listTimelineTransitions, searchOrders } from './queries.js';

// The merchant's operations API under /ops: search the read model, one order's story (read model, transitions,
// marketplace calls, live workflow state), and reconciliation findings. Bearer-token protected; read-only.

/** What the ops API needs. */
export interface OpsDeps {
  /** OPS_API_TOKEN. */
  readonly token: string;
  readonly pool: Pool;
  readonly client: Client;
  readonly logger: Logger;
  /** Per Temporal call when reading the live workflow state (default 1500 ms). */
  readonly workflowTimeoutMs?: number;
}

/** The live workflow part of GET /ops/orders/:instanceId. */
export type WorkflowSection =
  | { workflowId: string; available: true; open: boolean; status: string; state: unknown }
  | { workflowId: string; available: false; status?: string; reason: string };

function findingBody(f: StoredFinding) {
  return {
    instanceId: f.instanceId,
    kind: f.kind,
    workflowId: f.workflowId,
    orderId: f.orderId,
    details: f.details,
    firstSeenAt: f.firstSeenAt.toISOString(),
    lastSeenAt: f.lastSeenAt.toISOString(),
    resolvedAt: f.resolvedAt ? f.resolvedAt.toISOString() : null,
  };
}

function runBody(r: StoredRun) {
  return { ...r, startedAt: r.startedAt.toISOString(), finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null };
}

/** The ops router (mount it at /ops). */
export function opsRouter(deps: OpsDeps): Router {
  const { pool } = deps;
  const workflowTimeoutMs = deps.workflowTimeoutMs ?? 1500;
  const router = express.Router();

  router.use(requireOpsToken(deps.token));
  router.use((_req, res, next) => {
    // Order data: never cached by a proxy or the browser.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get('/orders', async (req: Request, res: Response) => {
    const p = parseParams(listOrdersParams, req.query);
    const limit = p.limit ?? PAGE_LIMIT.default;
    // One row more than asked tells whether another page exists.
    const rows = await searchOrders(pool, p, limit + 1);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    res.json({ items, nextCursor: rows.length > limit && last ? encodeCursor({ u: last.updatedAt, i: last.instanceId }) : null });
  });

  router.get('/orders/:instanceId', async (req: Request, res: Response) => {
    const { instanceId } = parseParams(orderPathParams, req.params, 'path');
    const instance = await findOrderDetail(pool, instanceId);
    if (!instance) throw new OpsError(OpsErrorCode.NotFound, `no instance ${instanceId}`);
    const [transitions, marketplaceCalls, workflow, drift] = await Promise.all([
      listTimelineTransitions(pool, instanceId),
      listMarketplaceCalls(pool, instanceId, instance.orderId),
      workflowSection(instance.workflowId),
      listFindings(pool, { status: 'open', instanceId, limit: 50 }),
    ]);
    res.json({ instance, timeline: { transitions, marketplaceCalls }, workflow, drift: drift.map(findingBody) });
  });

  router.get('/drift', async (req: Request, res: Response) => {
    const p = parseParams(listDriftParams, req.query);
    const limit = p.limit ?? PAGE_LIMIT.default;
    const [rows, run] = await Promise.all([
      listFindings(pool, {
        status: p.status ?? 'open',
        ...(p.kind ? { kind: p.kind } : {}),
        ...(p.instanceId ? { instanceId: p.instanceId } : {}),
        limit: limit + 1,
        ...(p.cursor ? { after: { instanceId: p.cursor.i, kind: p.cursor.k } } : {}),
      }),
      latestRun(pool),
    ]);
    const findings = rows.slice(0, limit);
    const last = findings[findings.length - 1];
    res.json({
      findings: findings.map(findingBody),
      lastRun: run ? runBody(run) : null,
      nextCursor: rows.length > limit && last ? encodeCursor({ i: last.instanceId, k: last.kind }) : null,
    });
  });

  router.use((req: Request) => {
    throw new OpsError(OpsErrorCode.NotFound, `no ops endpoint ${req.method} ${req.path}`);
  });
  router.use(opsErrorHandler(deps.logger));

  /** The workflow's live state when it is open, its final state when it completed, else why there is none. */
  async function workflowSection(workflowId: string): Promise<WorkflowSection> {
    const view = await viewOrderWorkflow(deps.client, workflowId, workflowTimeoutMs);
    switch (view.kind) {
      case 'state':
        return { workflowId, available: true, open: view.open, status: view.status, state: view.state };
      case 'closed':
        return { workflowId, available: false, status: view.status, reason: `workflow ${view.status.toLowerCase()} without a final state` };
      case 'missing':
        return { workflowId, available: false, status: 'NOT_FOUND', reason: 'no workflow with this id (never started, or past retention)' };
      case 'unavailable':
        return { workflowId, available: false, reason: `workflow unavailable: ${view.reason}` };
    }
  }

  return router;
}
