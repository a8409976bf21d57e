import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { InboxEntry } from '../production-interface/inbox-store.js';
import type { NonceStore } from '../production-interface/nonce-store.js';
import {
  ResultCode,
  simpleResponse,
} from '../koogallery/index.js';
import { MarketplaceApiError, MarketplaceErrorCode, type MarketplaceOrder } from '../marketplace-api/query-order-client.js';
import { mapSupervisionEvents, type IgnoredSupervisionEvent } from '../marketplace-api/supervision-events.js';
import type { SupervisionAction } from './contract.js';
import type { ApiMetrics } from '../platform/http/metrics.js';
import { withDeadline } from '../platform/deadline.js';
import type { CallDeadline } from './service.js';
import { armAnswerBackstop, createSignedAnswerSender } from '../production-interface/signed-answer.js';
import { admitV2Call, sha256Hex } from '../production-interface/v2-admission.js';

// The marketplace's order notification (spec §4.8): a V2-signed POST naming an order whose data changed. The
// user side of service supervision (§9: requirement submitted, acceptance, rejection, sign-for, license
// activation, appeals) reaches us this way: we read the order with Query Order and hand its supervision events,
// as actions, to the supervision port.
//
// UNCONFIRMED (spec §4.8 only says "the marketplace POSTs the orderId"), so read tolerantly:
// - body: a JSON object with `orderId` (string or number) at the top level, or inside `orderInfo` / `data`;
//   `orderLineId` optional; `testFlag` recorded when present; every other field is ignored;
// - the answer: `{resultCode, resultMsg}` like the production interface, HTTP 200, Body-Sign on every answer
//   (refusals included), result codes from §6;
// - where Query Order carries the supervision data: see order-schema.ts.

/** The activity label of this interface in the inbox, logs and metrics. */
export const ORDER_NOTIFICATION_ACTIVITY = 'orderNotification';
/** Where the marketplace is configured to send order notifications (mounted by the app). */
export const ORDER_NOTIFICATION_PATH = '/koogallery/order-notification';

/** Query Order did not answer within the call's budget (its own timeout and fallback may take longer). */
class QueryOrderDeadline extends Error {
  override readonly name = 'QueryOrderDeadline';
}

/** The outcome of one marketplace action on a supervision. */
export interface SupervisionActionReport {
  type: string;
  eventId?: string;
  outcome: 'applied' | 'duplicate' | 'refused' | 'no-supervision';
  reason?: string;
}

/** Where marketplace supervision actions go (implemented against Temporal by the composition root). */
export interface SupervisionPort {
  /**
   * Applies marketplace actions to the supervision of an order (line) in order; one result per action. Throws when
   * `o.deadline` (epoch ms) leaves no time for the next one.
   */
  applyMarketplaceActions(
    ref: { orderId: string; orderLineId?: string },
    actions: readonly SupervisionAction[],
    o?: CallDeadline,
  ): Promise<Array<{ type: string; eventId?: string; outcome: 'applied' | 'duplicate' | 'refused' | 'no-supervision'; reason?: string }>>;
}

/** What the order-notification endpoint needs. */
export interface OrderNotificationDeps {
  readonly accessKey: string;
  /** Further keys calls may be signed with (KOOGALLERY_OTHER_ACCESS_KEYS); a call is answered with its own. */
  readonly otherAccessKeys?: readonly string[];
  readonly maxBodyBytes: number;
  readonly v2ToleranceMs: number;
  readonly nonces: NonceStore;
  /** Query Order (throws MarketplaceApiError); the order line is picked when `orderLineId` is given. */
  readonly queryOrder: (orderId: string, orderLineId?: string) => Promise<MarketplaceOrder>;
  readonly supervision: SupervisionPort;
  /**
   * How long, counted from the call's arrival, Query Order and the supervision actions together may take before a
   * retryable answer (inside the marketplace's 5 s; PROVISION_BUDGET_MS in the composition root).
   */
  readonly budgetMs: number;
  readonly logger: Logger;
  readonly recordInbox: (entry: InboxEntry) => Promise<void>;
  /** When given, calls are counted in the production-interface series with activity `orderNotification`. */
  readonly metrics?: ApiMetrics;
  readonly now?: () => number;
}

interface CallContext {
  readonly started: number;
  readonly bodySha256: string;
  ids: { orderId?: string; orderLineId?: string; testFlag?: boolean };
  /** The key the call verified with: it signs the answer. */
  accessKey?: string;
}

/** A parsed notification body. */
export interface OrderNotificationBody {
  orderId: string;
  orderLineId?: string;
  testFlag?: boolean;
}

// Marketplace ids are short printable ASCII (orderId max 64, spec §4.1); anything else is bad input, and the
// bound keeps logs and the inbox sane.
const ID = /^[\x21-\x7e]{1,64}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const present = (v: unknown): boolean => v !== undefined && v !== null && v !== '';
const idText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : undefined;

/** Reads a notification body tolerantly (see the header comment); `reason` says what is wrong. */
export function parseOrderNotification(json: unknown): { ok: true; body: OrderNotificationBody } | { ok: false; reason: string } {
  if (!isRecord(json)) return { ok: false, reason: 'body is not a JSON object' };
  const nested = [json['orderInfo'], json['data']].find((v): v is Record<string, unknown> => isRecord(v) && present(v['orderId']));
  const source = present(json['orderId']) || !nested ? json : nested;
  if (!present(source['orderId'])) return { ok: false, reason: 'orderId missing' };
  const orderId = idText(source['orderId']);
  if (orderId === undefined || !ID.test(orderId)) return { ok: false, reason: 'orderId invalid' };
  let orderLineId: string | undefined;
  if (present(source['orderLineId'])) {
    orderLineId = idText(source['orderLineId']);
    if (orderLineId === undefined || !ID.test(orderLineId)) return { ok: false, reason: 'orderLineId invalid' };
  }
  const flag = json['testFlag'] ?? source['testFlag'];
  const testFlag = flag === '1' || flag === 1 ? true : flag === '0' || flag === 0 ? false : undefined;
  return {
    ok: true,
    body: { orderId, ...(orderLineId !== undefined ? { orderLineId } : {}), ...(testFlag !== undefined ? { testFlag } : {}) },
  };
}

/** The order-notification router (mount it at ORDER_NOTIFICATION_PATH). */
export function orderNotificationRouter(deps: OrderNotificationDeps): Router {
  const now = deps.now ?? Date.now;
  const router = express.Router();
  const sendSignedAnswer = createSignedAnswerSender({ ...deps, now });

  /** Sends a signed answer, counts it, logs one line and records it in the inbox. */
  function send(
    res: Response,
    ctx: CallContext,
    code: ResultCode,
    msg: string,
    log: { level: 'info' | 'warn' | 'error'; text: string; fields?: Record<string, unknown>; refusal?: string },
  ): void {
    // Answered by the backstop meanwhile: the sender logs this late answer and drops it; nothing else counts it.
    const late = res.headersSent;
    const latencyMs = sendSignedAnswer(
      res,
      { version: 'V2', started: ctx.started, bodySha256: ctx.bodySha256, activity: ORDER_NOTIFICATION_ACTIVITY, metricActivity: ORDER_NOTIFICATION_ACTIVITY, ids: ctx.ids, ...(ctx.accessKey ? { accessKey: ctx.accessKey } : {}) },
      simpleResponse(code, msg),
      log.refusal,
    );
    if (late) return;
    if (code === ResultCode.AuthFailed && log.refusal) deps.metrics?.signatureFailures.inc({ interface: 'V2', reason: log.refusal });
    deps.logger[log.level](
      { activity: ORDER_NOTIFICATION_ACTIVITY, ...ctx.ids, code, latencyMs, ...(log.refusal ? { reason: log.refusal } : {}), ...log.fields },
      log.text,
    );
  }

  function refuse(res: Response, ctx: CallContext, code: typeof ResultCode.AuthFailed | typeof ResultCode.InvalidParameter, reason: string): void {
    send(res, ctx, code, code === ResultCode.AuthFailed ? 'authentication failed.' : `invalid request: ${reason}`, {
      level: 'warn',
      text: 'order notification refused',
      refusal: reason,
    });
  }

  function fail(res: Response, ctx: CallContext, reason: string, fields: Record<string, unknown> = {}): void {
    // A retryable internal error: the marketplace calls again and every event is then applied or a duplicate.
    send(res, ctx, ResultCode.InternalError, 'internal error; please retry.', { level: 'error', text: 'order notification failed', fields: { reason, ...fields } });
  }

  async function handleNotification(res: Response, ctx: CallContext, n: OrderNotificationBody): Promise<void> {
    const deadline = ctx.started + deps.budgetMs;
    let order: MarketplaceOrder;
    try {
      const left = Math.max(0, deadline - Date.now());
      order = await withDeadline(deps.queryOrder(n.orderId, n.orderLineId), left, () => new QueryOrderDeadline(`no answer within ${left} ms`));
    } catch (err) {
      if (err instanceof MarketplaceApiError && err.code === MarketplaceErrorCode.OrderNotFound) {
        // 000002, not 000003: §6 documents 000003 as "instance not found" for instance (and license-code) calls
        // (result-codes.ts: InstanceNotFound), and a notification names no instance. An orderId (or line) that
        // Query Order does not know is an invalid request parameter; a retry would not change it.
        return refuse(res, ctx, ResultCode.InvalidParameter, n.orderLineId === undefined ? 'order not found' : 'order line not found');
      }
      // Outage (retryable), our AK/SK rejected or an unreadable answer (fixed on our side, after which the
      // marketplace's retry succeeds): all answered as a retryable internal error.
      const code = err instanceof MarketplaceApiError ? err.code : undefined;
      return fail(res, ctx, 'Query Order failed', { marketplaceError: code, err: (err as Error).message });
    }

    // One supervision per order line. A notification without a line concerns the whole order: each line gets the
    // events for it or for no particular line (UNCONFIRMED how multi-line orders are notified).
    const targets = n.orderLineId !== undefined ? [n.orderLineId] : order.lines.map((l) => l.orderLineId);
    const reports: Array<SupervisionActionReport & { orderLineId: string }> = [];
    const ignored: Array<IgnoredSupervisionEvent & { orderLineId: string }> = [];
    let actionCount = 0;
    for (const orderLineId of targets) {
      const mapping = mapSupervisionEvents(order, orderLineId);
      ignored.push(...mapping.ignored.map((i) => ({ ...i, orderLineId })));
      if (mapping.actions.length === 0) continue;
      actionCount += mapping.actions.length;
      try {
        const results = await deps.supervision.applyMarketplaceActions({ orderId: n.orderId, orderLineId }, mapping.actions, { deadline });
        reports.push(...results.map((r) => ({ ...r, orderLineId })));
      } catch (err) {
        return fail(res, ctx, 'supervision port failed', { orderLineId, err: (err as Error).message });
      }
    }

    if (ignored.length > 0) {
      deps.logger.info({ activity: ORDER_NOTIFICATION_ACTIVITY, orderId: n.orderId, ignored: ignored.slice(0, 20) }, 'order notification: supervision events ignored');
    }
    const problems = reports.filter((r) => r.outcome === 'refused' || r.outcome === 'no-supervision');
    if (problems.length > 0) {
      // Answered 000000 all the same: the marketplace informed us, and a retry would be refused again.
      deps.logger.warn(
        {
          activity: ORDER_NOTIFICATION_ACTIVITY,
          orderId: n.orderId,
          actions: problems.slice(0, 20).map((p) => ({ orderLineId: p.orderLineId, type: p.type, eventId: p.eventId, outcome: p.outcome, reason: p.reason })),
        },
        'order notification: supervision actions not applied',
      );
    }
    const count = (o: SupervisionActionReport['outcome']): number => reports.filter((r) => r.outcome === o).length;
    send(res, ctx, ResultCode.Success, 'success.', {
      level: 'info',
      text: 'order notification answered',
      fields: {
        actions: actionCount,
        applied: count('applied'),
        duplicate: count('duplicate'),
        refused: count('refused'),
        noSupervision: count('no-supervision'),
        ignoredEvents: ignored.length,
        ...(order.supervision?.droppedEvents ? { droppedEvents: order.supervision.droppedEvents } : {}),
      },
    });
  }

  router.post('/', express.raw({ type: () => true, limit: deps.maxBodyBytes }), (req: Request, res: Response) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const ctx: CallContext = { started: now(), bodySha256: sha256Hex(body), ids: {} };
    // A retryable 000005 if the call is still unanswered at its backstop (whatever it waits for), its result dropped.
    armAnswerBackstop(res, ctx.started, now, () => fail(res, ctx, 'answered by its backstop'));
    void (async () => {
      // The same V2 admission as the SaaS production interface (spec §2.2, §4.8).
      // The key is the call's as soon as the signature verifies: a backstop answer during the nonce claim uses it.
      const admitted = await admitV2Call(deps, req, body, ctx.started, (key) => {
        ctx.accessKey = key;
      });
      if (!admitted.ok && admitted.code === ResultCode.InternalError) return fail(res, ctx, admitted.reason, { err: admitted.err });
      if (!admitted.ok) return refuse(res, ctx, admitted.code, admitted.reason);
      const parsed = parseOrderNotification(admitted.json);
      if (!parsed.ok) return refuse(res, ctx, ResultCode.InvalidParameter, parsed.reason);
      ctx.ids = { ...parsed.body };
      await handleNotification(res, ctx, parsed.body);
    })().catch((err: unknown) => {
      // A bug: still a signed, retryable answer, never a stack trace.
      if (!res.headersSent) fail(res, ctx, 'unexpected error', { err: (err as Error).message });
    });
  });

  // The marketplace only POSTs; anything else is bad input and is answered like it.
  router.all('/', (req: Request, res: Response) => {
    refuse(res, { started: now(), bodySha256: sha256Hex(''), ids: {} }, ResultCode.InvalidParameter, `method ${req.method.slice(0, 16)} not supported`);
  });

  // Body too large, aborted upload, bad encoding: still a marketplace answer, signed, with no stack trace.
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: string }).type;
    refuse(res, { started: now(), bodySha256: sha256Hex(''), ids: {} }, ResultCode.InvalidParameter, type === 'entity.too.large' ? 'body too large' : 'unreadable body');
  });

  return router;
}
