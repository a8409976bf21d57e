import type { Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import type { Pool } from 'pg';
import { OpsError, OpsErrorCode } from '../platform/http/ops/errors.js';
import { PAGE_LIMIT, encodeCursor, parseParams } from '../platform/http/ops/params.js';
import { findOrderDetail, listTimelineTransitions, searchOrders } from './store.js';
import { listOrdersParams, orderPathParams, type MarketplaceCall, type OrderList, type OrderStory, type WorkflowSection } from './ops-schemas.js';
import { viewOrderWorkflow } from './workflow-view.js';

// GET /ops/orders (search the read model) and GET /ops/orders/:instanceId (one order's story: the instance, its
// transitions, the marketplace's calls, the live workflow state, and what other contexts know about it). Mounted
// at /ops/orders behind the ops door (authentication, error mapping: src/platform/http/ops/router.ts).

/** What others know about an order, looked up by the composition root (this context reads no other's tables). */
export interface OrderStoryRelated<D, S> {
  /** The marketplace's calls about the instance or its purchase order, in arrival order (the inbound edge's inbox). */
  marketplaceCalls(instanceId: string, orderId: string): Promise<readonly MarketplaceCall[]>;
  /** Open reconciliation findings of the instance. */
  openDrift(instanceId: string): Promise<readonly D[]>;
  /** Where the instance's supervision stands, when it is supervised. */
  supervision(instanceId: string): Promise<S | null>;
}

/** What the orders' ops routes need. */
export interface OrderOpsDeps<D, S> {
  readonly pool: Pool;
  readonly client: Client;
  readonly related: OrderStoryRelated<D, S>;
  /** Per Temporal call when reading the live workflow state (default 1500 ms). */
  readonly workflowTimeoutMs?: number;
}

/** The orders' ops router (mount it at /ops/orders). */
export function orderOpsRoutes<D, S>(deps: OrderOpsDeps<D, S>): Router {
  const { pool } = deps;
  const workflowTimeoutMs = deps.workflowTimeoutMs ?? 1500;
  const router = express.Router();

  router.get('/', async (req: Request, res: Response) => {
    const p = parseParams(listOrdersParams, req.query);
    const limit = p.limit ?? PAGE_LIMIT.default;
    // One row more than asked tells whether another page exists.
    const rows = await searchOrders(
      pool,
      {
        ...(p.orderId ? { orderId: p.orderId } : {}),
        ...(p.customerId ? { customerId: p.customerId } : {}),
        ...(p.productId ? { productId: p.productId } : {}),
        ...(p.phase ? { phase: p.phase } : {}),
        ...(p.testOrder !== undefined ? { testOrder: p.testOrder } : {}),
        ...(p.cursor ? { after: { updatedAt: p.cursor.u, instanceId: p.cursor.i } } : {}),
      },
      limit + 1,
    );
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const body: OrderList = { items, nextCursor: rows.length > limit && last ? encodeCursor({ u: last.updatedAt, i: last.instanceId }) : null };
    res.json(body);
  });

  router.get('/:instanceId', async (req: Request, res: Response) => {
    const { instanceId } = parseParams(orderPathParams, req.params, 'path');
    const instance = await findOrderDetail(pool, instanceId);
    if (!instance) throw new OpsError(OpsErrorCode.NotFound, `no instance ${instanceId}`);
    const [transitions, marketplaceCalls, workflow, drift, supervision] = await Promise.all([
      listTimelineTransitions(pool, instanceId),
      deps.related.marketplaceCalls(instanceId, instance.orderId),
      workflowSection(instance.workflowId),
      deps.related.openDrift(instanceId),
      deps.related.supervision(instanceId),
    ]);
    const body: OrderStory<D, S> = { instance, timeline: { transitions, marketplaceCalls }, workflow, drift, supervision };
    res.json(body);
  });

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
