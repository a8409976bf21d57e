import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { InboxEntry } from '../production-interface/inbox-store.js';
import type { NonceStore } from '../production-interface/nonce-store.js';
import {
  ResultCode,
  commandIds,
  parseV1Request,
  parseV2Request,
  simpleResponse,
  v1Command,
  v2Command,
  V1_ACTIVITIES,
  V2_ACTIVITIES,
  type ProductionCommand,
} from '../koogallery/index.js';
import type { InterfaceVersion } from './contract.js';
import type { ApiMetrics } from '../platform/http/metrics.js';
import { armAnswerBackstop, createSignedAnswerSender } from '../production-interface/signed-answer.js';
import { admitV1Call, rawQueryOf } from '../production-interface/v1-admission.js';
import { admitV2Call, sha256Hex } from '../production-interface/v2-admission.js';
import { answerFor, answerForFailure } from './answers.js';
import type { OrderService } from './service.js';

// The marketplace's production interface: GET (V1, query string, authToken) and POST (V2, JSON, signature) on one
// URL. Every answer, refusals included, is HTTP 200 JSON with a Body-Sign over the exact bytes sent (§2.3, §6:
// "Response codes are returned with HTTP 200 JSON"; other statuses are UNCONFIRMED, so we never rely on them).
// Thin on purpose: admit the call → parse it into a command (src/koogallery/commands.ts) → run it (service.ts) →
// put the outcome into the marketplace's words (answers.ts) → send it signed.

/** What the production interface needs. */
export interface ProductionInterfaceDeps {
  readonly accessKey: string;
  /** Further keys calls may be signed with (KOOGALLERY_OTHER_ACCESS_KEYS); a call is answered with its own. */
  readonly otherAccessKeys?: readonly string[];
  readonly maxBodyBytes: number;
  readonly v1ToleranceMs: number;
  readonly v2ToleranceMs: number;
  readonly orders: OrderService;
  readonly nonces: NonceStore;
  readonly metrics: ApiMetrics;
  readonly logger: Logger;
  readonly recordInbox: (entry: InboxEntry) => Promise<void>;
  readonly now?: () => number;
}

interface CallContext {
  readonly version: InterfaceVersion;
  readonly started: number;
  readonly bodySha256: string;
  activity?: string;
  ids: { businessId?: string; orderId?: string; orderLineId?: string; instanceId?: string; testFlag?: boolean };
  /** The key the call verified with: it signs the answer and encrypts its fields. */
  accessKey?: string;
}

const KNOWN_ACTIVITIES = new Set<string>([...V1_ACTIVITIES, ...V2_ACTIVITIES]);

/** The production-interface router. */
export function productionInterfaceRouter(deps: ProductionInterfaceDeps): Router {
  const now = deps.now ?? Date.now;
  const router = express.Router();

  const sendSignedAnswer = createSignedAnswerSender({ ...deps, now });

  function send(res: Response, ctx: CallContext, body: Record<string, unknown>, refusal?: string): void {
    // Only known activity names become metric labels: a caller must not be able to mint time series.
    const metricActivity = ctx.activity && KNOWN_ACTIVITIES.has(ctx.activity) ? ctx.activity : 'unknown';
    sendSignedAnswer(res, { ...ctx, ...(ctx.activity ? { activity: ctx.activity } : {}), metricActivity }, body, refusal);
  }

  function refuse(res: Response, ctx: CallContext, code: ResultCode, reason: string): void {
    if (code === ResultCode.AuthFailed) deps.metrics.signatureFailures.inc({ interface: ctx.version, reason });
    deps.logger.warn({ interface: ctx.version, activity: ctx.activity, reason, code }, 'production-interface call refused');
    send(res, ctx, simpleResponse(code, code === ResultCode.AuthFailed ? 'authentication failed.' : `invalid request: ${reason}`), reason);
  }

  /** A retryable 000005 if the call is still unanswered at its backstop (whatever it waits for), its result dropped. */
  function guard(res: Response, ctx: CallContext): void {
    armAnswerBackstop(res, ctx.started, now, () => {
      deps.logger.warn({ interface: ctx.version, activity: ctx.activity, ...ctx.ids }, 'production-interface call answered by its backstop');
      send(res, ctx, simpleResponse(ResultCode.InternalError, 'still processing; please retry.'));
    });
  }

  async function runCall(res: Response, ctx: CallContext, command: ProductionCommand): Promise<void> {
    // Ids only: a command may carry the buyer's contacts, which never go into a log line or the inbox.
    ctx.ids = commandIds(command);
    try {
      const answer = answerFor(command, await deps.orders.execute(command, { receivedAt: ctx.started, ...(ctx.accessKey ? { accessKey: ctx.accessKey } : {}) }));
      // Answered by the backstop meanwhile: the sender logs this late answer and drops it; nothing else counts it.
      if (res.headersSent) return send(res, ctx, answer.body);
      if (answer.code === ResultCode.Processing && command.kind === 'purchase') deps.metrics.asyncAnswers.inc();
      // Every line about an order names its purchase order, instance and workflow; an operation's own order id
      // (a renewal's, an upgrade's) is kept beside it.
      const orderId = answer.ids?.orderId;
      const operationOrderId = orderId && ctx.ids.orderId && ctx.ids.orderId !== orderId ? ctx.ids.orderId : undefined;
      deps.logger.info(
        {
          interface: ctx.version,
          activity: ctx.activity,
          ...ctx.ids,
          orderId: orderId ?? ctx.ids.orderId,
          ...(operationOrderId ? { operationOrderId } : {}),
          instanceId: answer.ids?.instanceId ?? ctx.ids.instanceId,
          workflowId: answer.ids?.workflowId,
          code: answer.code,
        },
        'production-interface call answered',
      );
      send(res, ctx, answer.body);
    } catch (err) {
      // Temporal or PostgreSQL unreachable, or a bug: a retryable internal error, never a stack trace.
      const answer = answerForFailure(err);
      deps.logger.error(
        { interface: ctx.version, activity: ctx.activity, ...ctx.ids, err: (err as Error).message, ...(answer.temporalUnavailable ? { temporalUnavailable: true } : {}) },
        'production-interface call failed',
      );
      send(res, ctx, answer.body);
    }
  }

  // ---- V1: GET with every parameter in the query string ------------------------------------------------------
  router.get('/', (req: Request, res: Response) => {
    const rawQuery = rawQueryOf(req);
    const ctx: CallContext = { version: 'V1', started: now(), bodySha256: sha256Hex(rawQuery), ids: {} };
    guard(res, ctx);
    const admitted = admitV1Call(deps, rawQuery, ctx.started);
    if (admitted.activity !== undefined) ctx.activity = admitted.activity;
    if (!admitted.ok) return refuse(res, ctx, admitted.code, admitted.reason);
    ctx.accessKey = admitted.accessKey;
    const request = parseV1Request(admitted.params);
    if (!request.ok) return refuse(res, ctx, ResultCode.InvalidParameter, `${request.field} ${request.reason}`);
    const command = v1Command(request.request, { accessKey: admitted.accessKey });
    if (!command.ok) return refuse(res, ctx, command.code, `${command.field} ${command.reason}`);
    void runCall(res, ctx, command.command);
  });

  // ---- V2: POST with a JSON body, signature in the query (or x-sign headers) ---------------------------------
  router.post('/', express.raw({ type: () => true, limit: deps.maxBodyBytes }), (req: Request, res: Response) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const ctx: CallContext = { version: 'V2', started: now(), bodySha256: sha256Hex(body), ids: {} };
    guard(res, ctx);
    void (async () => {
      // The key is the call's as soon as the signature verifies: a backstop answer during the nonce claim uses it.
      const admitted = await admitV2Call(deps, req, body, ctx.started, (key) => {
        ctx.accessKey = key;
      });
      if (!admitted.ok && admitted.code === ResultCode.InternalError) {
        deps.logger.error({ err: admitted.err }, admitted.reason);
        return send(res, ctx, simpleResponse(ResultCode.InternalError, 'internal error; please retry.'));
      }
      if (!admitted.ok) return refuse(res, ctx, admitted.code, admitted.reason);
      const json = admitted.json;
      ctx.activity = clipActivity((json as { activity?: unknown } | null)?.activity);
      const request = parseV2Request(json);
      if (!request.ok) return refuse(res, ctx, ResultCode.InvalidParameter, `${request.field} ${request.reason}`);
      await runCall(res, ctx, v2Command(request.request));
    })().catch((err: unknown) => {
      // A bug outside runCall (admission, parsing): still a signed, retryable answer, never a crash or a stack trace.
      deps.logger.error({ interface: ctx.version, activity: ctx.activity, err: (err as Error).message }, 'production-interface call failed');
      if (!res.headersSent) send(res, ctx, simpleResponse(ResultCode.InternalError, 'internal error; please retry.'));
    });
  });

  // The marketplace only GETs (V1) and POSTs (V2); any other method is bad input and is answered like it.
  router.all('/', (req: Request, res: Response) => {
    const ctx: CallContext = { version: 'V2', started: now(), bodySha256: sha256Hex(''), ids: {} };
    refuse(res, ctx, ResultCode.InvalidParameter, `method ${req.method.slice(0, 16)} not supported`);
  });

  // Body too large, aborted upload, bad encoding: still a marketplace answer, signed, with no stack trace.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const ctx: CallContext = { version: req.method === 'GET' ? 'V1' : 'V2', started: now(), bodySha256: sha256Hex(''), ids: {} };
    const type = (err as { type?: string }).type;
    refuse(res, ctx, ResultCode.InvalidParameter, type === 'entity.too.large' ? 'body too large' : 'unreadable body');
  });

  return router;
}

function clipActivity(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, 32) : undefined;
}
