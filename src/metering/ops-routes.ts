import { WorkflowIdConflictPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import express, { type Request, type Response, type Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { PAGE_LIMIT, cursorOf, encodeCursor, limit, parseParams } from '../platform/http/ops/params.js';
import { OpsError, OpsErrorCode } from '../platform/http/ops/errors.js';
import { isTemporalUnavailable } from '../platform/temporal/failures.js';
import { METERING_PUSH_WORKFLOW_TYPE, meteringPushScheduleId, packageWorkflowId, repurchaseFailedSignal, type MeteringPushInput, type MeteringPushResult } from './contract.js';
import { listFlaggedItems, requeueFlaggedItems, type FlaggedItemRow } from './store.js';

// The metering ops API (mounted at /ops/metering): run a push now, list the items the marketplace kept refusing,
// and put them back in the queue once the cause is fixed.

/** Query parameters of GET /ops/metering/flagged. */
export const listFlaggedParams = z.strictObject({ limit: limit.optional(), cursor: cursorOf(z.object({ s: z.string() })).optional() });

/** Body of POST /ops/metering/push. */
export const pushNowBody = z.strictObject({
  closeDelayMs: z.number().int().min(0).max(3600_000).optional().describe('Aggregate hours that ended at least this long ago (default 0: every hour that has ended).'),
});

/** Body of POST /ops/metering/flagged/requeue. */
export const requeueBody = z.strictObject({ meteringSns: z.array(z.string().min(1).max(64)).min(1).max(1000) });

/** A flagged push item. */
export const flaggedItemSchema = z.object({
  meteringSn: z.string(),
  instanceId: z.string(),
  periodStart: z.string(),
  usageValue: z.string(),
  attempts: z.number().int(),
  lastCode: z.string().nullable(),
  lastMessage: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
});
/** One page of flagged items. */
export const flaggedListSchema = z.object({ items: z.array(flaggedItemSchema), nextCursor: z.string().nullable() });
/** What a push run did (POST /ops/metering/push). */
export const pushResultSchema = z.object({
  workflowId: z.string(),
  done: z.boolean().describe('false: the run goes on beyond the wait; its result is in Temporal under workflowId.'),
  result: z
    .object({
      aggregated: z.number().int(),
      calls: z.number().int(),
      accepted: z.number().int(),
      retrying: z.number().int(),
      flagged: z.number().int(),
      unavailable: z.string().optional(),
    })
    .optional(),
});
/** Body of POST /ops/metering/packages/{instanceId}/repurchase-failed. */
export const repurchaseFailedBody = z.strictObject({ reason: z.string().min(1).max(500).describe('What the marketplace reported (e.g. insufficient balance).') });
/** Path parameters of the package routes. */
export const packagePathParams = z.strictObject({ instanceId: z.string().min(1).max(64) });
/** Answer of POST /ops/metering/packages/{instanceId}/repurchase-failed. */
export const repurchaseFailedResultSchema = z.object({ instanceId: z.string(), recorded: z.literal(true) });

/** Requeue answer. */
export const requeueResultSchema = z.object({ requeued: z.number().int() });

const itemBody = (r: FlaggedItemRow): z.output<typeof flaggedItemSchema> => ({
  ...r,
  periodStart: r.periodStart.toISOString(),
  lastAttemptAt: r.lastAttemptAt ? r.lastAttemptAt.toISOString() : null,
});

/** How long POST /ops/metering/push waits for its run before answering with the workflow id only. */
const PUSH_WAIT_MS = 25_000;

/** The metering ops router. */
export function meteringOpsRoutes(deps: { readonly pool: Pool; readonly client: Client; readonly taskQueue: string }): Router {
  const router = express.Router();
  router.post('/push', express.json({ limit: '4kb', type: () => true }), async (req: Request, res: Response) => {
    const p = parseParams(pushNowBody, req.body ?? {}, 'body');
    const input: MeteringPushInput = { closeDelayMs: p.closeDelayMs ?? 0 };
    // One ops push at a time: a second request while one runs joins it.
    const workflowId = `${meteringPushScheduleId(deps.taskQueue)}-ops`;
    let handle;
    try {
      handle = await deps.client.workflow.start(METERING_PUSH_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: deps.taskQueue,
        args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowExecutionTimeout: '1 hour',
      });
    } catch (err) {
      if (isTemporalUnavailable(err)) throw new OpsError(OpsErrorCode.Unavailable, 'Temporal is unavailable; retry');
      throw err;
    }
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      (handle.result() as Promise<MeteringPushResult>).then((result) => ({ result })),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), PUSH_WAIT_MS))),
    ]).finally(() => clearTimeout(timer));
    res.status(waited ? 200 : 202).json({ workflowId, done: Boolean(waited), ...(waited ? { result: waited.result } : {}) });
  });

  router.get('/flagged', async (req: Request, res: Response) => {
    const p = parseParams(listFlaggedParams, req.query);
    const n = p.limit ?? PAGE_LIMIT.default;
    const rows = await listFlaggedItems(deps.pool, { limit: n + 1, ...(p.cursor ? { after: p.cursor.s } : {}) });
    const page = rows.slice(0, n);
    const last = page[page.length - 1];
    res.json({ items: page.map(itemBody), nextCursor: rows.length > n && last ? encodeCursor({ s: last.meteringSn }) : null });
  });

  router.post('/flagged/requeue', express.json({ limit: '128kb', type: () => true }), async (req: Request, res: Response) => {
    const p = parseParams(requeueBody, req.body ?? {}, 'body');
    res.json({ requeued: await requeueFlaggedItems(deps.pool, p.meteringSns) });
  });
  // The marketplace tells the merchant (not through an interface: UNCONFIRMED how) that a buyer's auto-repurchase
  // failed; ops record it here and the package workflow tells the buyer at once instead of at the window's end.
  router.post('/packages/:instanceId/repurchase-failed', express.json({ limit: '4kb', type: () => true }), async (req: Request, res: Response) => {
    const { instanceId } = parseParams(packagePathParams, req.params, 'path');
    const { reason } = parseParams(repurchaseFailedBody, req.body ?? {}, 'body');
    try {
      await deps.client.workflow.getHandle(packageWorkflowId(instanceId)).signal(repurchaseFailedSignal, { reason });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new OpsError(OpsErrorCode.NotFound, `no package workflow for ${instanceId} (its threshold has not been crossed, or it ended)`);
      if (isTemporalUnavailable(err)) throw new OpsError(OpsErrorCode.Unavailable, 'Temporal is unavailable; retry');
      throw err;
    }
    res.json({ instanceId, recorded: true });
  });
  return router;
}
