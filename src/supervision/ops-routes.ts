import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { operatorOf } from '../platform/http/ops/auth.js';
import { OpsError, OpsErrorCode } from '../platform/http/ops/errors.js';
import { PAGE_LIMIT, encodeCursor, parseParams } from '../platform/http/ops/params.js';
import type { SupervisionService } from './service.js';
import { findSupervisionByInstance, listSupervisionEvents, listSupervisions, type SupervisionRow } from './store.js';
import {
  listSupervisionParams,
  parseSupervisionAction,
  supervisionLineParams,
  supervisionPathParams,
  type SupervisionActionAnswer,
  type SupervisionDetail,
  type SupervisionList,
  type SupervisionSummary,
} from './ops-schemas.js';

// Service supervision in the ops API, mounted at /ops/supervision behind the ops door: list, read, and the actions
// (the only writes of the ops API; each is a validated workflow update carrying the operator's name as its actor).

/** What the supervision's ops routes need. */
export interface SupervisionOpsDeps {
  readonly pool: Pool;
  readonly supervision: SupervisionService;
  readonly logger: Logger;
}

function supervisionBody(r: SupervisionRow): SupervisionSummary {
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

/** Where an instance's supervision stands, as the ops API answers it, or null (for an order's story). */
export async function supervisionSummaryOf(pool: Pool, instanceId: string): Promise<SupervisionSummary | null> {
  const row = await findSupervisionByInstance(pool, instanceId);
  return row ? supervisionBody(row) : null;
}

function noSupervision(r: { outcome: 'no-supervision' | 'ambiguous'; reason: string; orderLineIds?: readonly string[] }): OpsError {
  return r.outcome === 'ambiguous'
    ? new OpsError(OpsErrorCode.InvalidRequest, r.reason, { orderLineIds: r.orderLineIds })
    : new OpsError(OpsErrorCode.NotFound, r.reason);
}

/** The supervision's ops router (mount it at /ops/supervision). */
export function supervisionOpsRoutes(deps: SupervisionOpsDeps): Router {
  const { pool } = deps;
  const router = express.Router();

  router.get('/', async (req: Request, res: Response) => {
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
    const body: SupervisionList = {
      items: items.map(supervisionBody),
      nextCursor: rows.length > limit && last ? encodeCursor({ s: last.startedAt.toISOString(), w: last.workflowId }) : null,
    };
    res.json(body);
  });

  router.get('/:orderId', async (req: Request, res: Response) => {
    const { orderId } = parseParams(supervisionPathParams, req.params, 'path');
    const { orderLineId } = parseParams(supervisionLineParams, req.query);
    const found = await deps.supervision.current({ orderId, ...(orderLineId ? { orderLineId } : {}) });
    if (!('workflowId' in found)) throw noSupervision(found);
    const events = await listSupervisionEvents(pool, found.workflowId);
    const state = found.live ?? found.row?.state;
    // Neither a live state nor a row: the service reports that as no supervision, so this is not reached.
    if (!state) throw new OpsError(OpsErrorCode.NotFound, `no supervised order ${orderId}`);
    const body: SupervisionDetail = {
      workflowId: found.workflowId,
      supervision: found.row ? supervisionBody(found.row) : null,
      // The live state when the workflow answers; else the state last written to the read model.
      state,
      live: found.live !== undefined,
      events: events.map((e) => ({ ...e, at: e.at.toISOString() })),
    };
    res.json(body);
  });

  router.post('/:orderId/actions', express.json({ limit: '64kb', type: () => true }), async (req: Request, res: Response) => {
    const { orderId } = parseParams(supervisionPathParams, req.params, 'path');
    const { orderLineId } = parseParams(supervisionLineParams, req.query);
    const actor = operatorOf(res);
    const action = { ...parseSupervisionAction(req.body), actor };
    const ref = { orderId, ...(orderLineId ? { orderLineId } : {}) };
    const logged = { orderId, orderLineId, action: action.type, operator: actor };
    let r;
    try {
      r = await deps.supervision.act(ref, action);
    } catch (err) {
      deps.logger.error({ ...logged, err: (err as Error).message }, 'supervision action failed');
      throw new OpsError(OpsErrorCode.Unavailable, 'the supervision workflow did not answer; the action may not have been applied, retry it');
    }
    if (r.outcome === 'refused') {
      deps.logger.info({ ...logged, reason: r.reason }, 'supervision action refused');
      throw new OpsError(OpsErrorCode.Conflict, r.reason, { workflowId: r.workflowId, ...(r.state ? { node: r.state.node, status: r.state.status } : {}) });
    }
    if (r.outcome === 'no-supervision' || r.outcome === 'ambiguous') throw noSupervision(r);
    deps.logger.info({ ...logged, source: action.source, node: r.state.node, outcome: r.outcome, workflowId: r.workflowId }, 'supervision action applied');
    const body: SupervisionActionAnswer = { applied: r.outcome === 'applied', workflowId: r.workflowId, state: r.state };
    res.json(body);
  });

  return router;
}
