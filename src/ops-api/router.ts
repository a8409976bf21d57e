import type { Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { latestRun, listFindings, type StoredFinding, type StoredRun } from '../reconciliation/store.js';
import { viewOrderWorkflow } from '../reconciliation/workflow-view.js';
import { findSupervisionByInstance, listSupervisionEvents, listSupervisions, type SupervisionRow } from '../supervision/store.js';
import type { SupervisionService } from '../supervision/service.js';
import { requireOpsToken } from './auth.js';
import { OpsError, OpsErrorCode, opsErrorHandler } from './errors.js';
import {
  PAGE_LIMIT,
  encodeCursor,
  listDriftParams,
  listOrdersParams,
  listSupervisionParams,
  orderPathParams,
  parseParams,
  parseSupervisionAction,
  supervisionLineParams,
  supervisionPathParams,
} from './params.js';
import { findOrderDetail, listMarketplaceCalls, listTimelineTransitions, searchOrders } from '../orders/ops-store.js';

// The merchant's operations API under /ops: search the read model, one order's story (read model, transitions,
// marketplace calls, live workflow state), reconciliation findings, and service supervision: list, read, and the
// merchant's actions (the only writes here; each is a validated workflow update). Bearer-token protected.

/** What the ops API needs. */
export interface OpsDeps {
  /** OPS_API_TOKEN. */
  readonly token: string;
  readonly pool: Pool;
  readonly client: Client;
  readonly logger: Logger;
  /** Service supervision: merchant actions and live state. */
  readonly supervision: SupervisionService;
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

function supervisionBody(r: SupervisionRow) {
  return {
    workflowId: r.workflowId,
    orderWorkflowId: r.orderWorkflowId,
    instanceId: r.instanceId,
    orderId: r.orderId,
    orderLineId: r.orderLineId,
    customerId: r.customerId,
    productId: r.productId,
    kind: r.kind,
    node: r.node,
    status: r.status,
    appealOpen: r.appealOpen,
    testOrder: r.testOrder,
    startedAt: r.startedAt.toISOString(),
    acceptedAt: r.acceptedAt ? r.acceptedAt.toISOString() : null,
    outcome: r.outcome,
    validity: r.validityStart && r.validityEnd ? { start: r.validityStart.toISOString(), end: r.validityEnd.toISOString() } : null,
    remindersSent: r.remindersSent,
    lastReminderAt: r.lastReminderAt ? r.lastReminderAt.toISOString() : null,
    updatedAt: r.updatedAt.toISOString(),
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
    const [transitions, marketplaceCalls, workflow, drift, supervision] = await Promise.all([
      listTimelineTransitions(pool, instanceId),
      listMarketplaceCalls(pool, instanceId, instance.orderId),
      workflowSection(instance.workflowId),
      listFindings(pool, { status: 'open', instanceId, limit: 50 }),
      findSupervisionByInstance(pool, instanceId),
    ]);
    res.json({
      instance,
      timeline: { transitions, marketplaceCalls },
      workflow,
      drift: drift.map(findingBody),
      // Supervised orders: where the supervision stands (its own story: GET /ops/supervision/:orderId).
      supervision: supervision ? supervisionBody(supervision) : null,
    });
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

  router.get('/supervision', async (req: Request, res: Response) => {
    const p = parseParams(listSupervisionParams, req.query);
    if (p.unacceptedForDays !== undefined && p.status !== undefined && p.status !== 'PROCESSING') {
      // "Unaccepted for N days" is about PROCESSING orders; combined with another status it would silently override it.
      throw new OpsError(OpsErrorCode.InvalidRequest, 'invalid query parameters: unacceptedForDays lists unaccepted (PROCESSING) orders; status must be PROCESSING or absent');
    }
    const limit = p.limit ?? PAGE_LIMIT.default;
    const rows = await listSupervisions(pool, {
      ...(p.node ? { node: p.node } : {}),
      ...(p.status ? { status: p.status } : {}),
      ...(p.kind ? { kind: p.kind } : {}),
      ...(p.orderId ? { orderId: p.orderId } : {}),
      ...(p.appealOpen !== undefined ? { appealOpen: p.appealOpen } : {}),
      ...(p.unacceptedForDays !== undefined ? { startedBefore: new Date(Date.now() - p.unacceptedForDays * 86_400_000), status: 'PROCESSING' } : {}),
      ...(p.cursor ? { after: { startedAt: p.cursor.s, workflowId: p.cursor.w } } : {}),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    res.json({
      items: items.map(supervisionBody),
      nextCursor: rows.length > limit && last ? encodeCursor({ s: last.startedAt.toISOString(), w: last.workflowId }) : null,
    });
  });

  router.get('/supervision/:orderId', async (req: Request, res: Response) => {
    const { orderId } = parseParams(supervisionPathParams, req.params, 'path');
    const { orderLineId } = parseParams(supervisionLineParams, req.query);
    const found = await deps.supervision.current({ orderId, ...(orderLineId ? { orderLineId } : {}) });
    if (!('workflowId' in found)) throw noSupervision(found);
    const events = await listSupervisionEvents(pool, found.workflowId);
    res.json({
      workflowId: found.workflowId,
      supervision: found.row ? supervisionBody(found.row) : null,
      // The live state when the workflow answers; else the state last written to the read model.
      state: found.live ?? found.row?.state ?? null,
      live: found.live !== undefined,
      events: events.map((e) => ({ ...e, at: e.at.toISOString() })),
    });
  });

  router.post('/supervision/:orderId/actions', express.json({ limit: '64kb', type: () => true }), async (req: Request, res: Response) => {
    const { orderId } = parseParams(supervisionPathParams, req.params, 'path');
    const { orderLineId } = parseParams(supervisionLineParams, req.query);
    const action = parseSupervisionAction(req.body);
    const ref = { orderId, ...(orderLineId ? { orderLineId } : {}) };
    let r;
    try {
      r = await deps.supervision.act(ref, action);
    } catch (err) {
      deps.logger.error({ orderId, orderLineId, action: action.type, err: (err as Error).message }, 'supervision action failed');
      throw new OpsError(OpsErrorCode.Unavailable, 'the supervision workflow did not answer; the action may not have been applied, retry it');
    }
    if (r.outcome === 'refused') {
      deps.logger.info({ orderId, orderLineId, action: action.type, reason: r.reason }, 'supervision action refused');
      throw new OpsError(OpsErrorCode.Conflict, r.reason, { workflowId: r.workflowId, ...(r.state ? { node: r.state.node, status: r.state.status } : {}) });
    }
    if (r.outcome === 'no-supervision' || r.outcome === 'ambiguous') throw noSupervision(r);
    deps.logger.info({ orderId, orderLineId, action: action.type, source: action.source, node: r.state.node, outcome: r.outcome, workflowId: r.workflowId }, 'supervision action applied');
    res.json({ applied: r.outcome === 'applied', workflowId: r.workflowId, state: r.state });
  });

  router.use((req: Request) => {
    throw new OpsError(OpsErrorCode.NotFound, `no ops endpoint ${req.method} ${req.path}`);
  });
  router.use(opsErrorHandler(deps.logger));

  function noSupervision(r: { outcome: 'no-supervision' | 'ambiguous'; reason: string; orderLineIds?: readonly string[] }): OpsError {
    return r.outcome === 'ambiguous'
      ? new OpsError(OpsErrorCode.InvalidRequest, r.reason, { orderLineIds: r.orderLineIds })
      : new OpsError(OpsErrorCode.NotFound, r.reason);
  }

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
