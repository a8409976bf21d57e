import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { InboxEntry } from '../production-interface/inbox-store.js';
import type { NonceStore } from '../production-interface/nonce-store.js';
import {
  ResultCode,
  defaultResultMessage,
  newInstanceResponse,
  parseCompactUtc,
  parseRawQuery,
  parseV1Request,
  parseV2Request,
  queryInstanceResponse,
  simpleResponse,
  verifyV1AuthToken,
  V1_ACTIVITIES,
  V2_ACTIVITIES,
  type V1Request,
  type V2Request,
} from '../koogallery/index.js';
import type { ChargingMode, InterfaceVersion, OrderDetails, OrderKey } from './contract.js';
import type { SupervisionCatalogue } from '../supervision/catalogue.js';
import type { ApiMetrics } from '../platform/http/metrics.js';
import { createSignedAnswerSender } from '../production-interface/signed-answer.js';
import { admitV2Call, sha256Hex } from '../production-interface/v2-admission.js';
import type { OrderService, ServiceAnswer } from './service.js';

// The marketplace's production interface: GET (V1, query string, authToken) and POST (V2, JSON, signature) on one
// URL. Every answer, refusals included, is HTTP 200 JSON with a Body-Sign over the exact bytes sent (§2.3, §6:
// "Response codes are returned with HTTP 200 JSON"; other statuses are UNCONFIRMED, so we never rely on them).

/** What the production interface needs. */
export interface ProductionInterfaceDeps {
  readonly accessKey: string;
  readonly maxBodyBytes: number;
  readonly v1ToleranceMs: number;
  readonly v2ToleranceMs: number;
  readonly orders: OrderService;
  readonly nonces: NonceStore;
  readonly metrics: ApiMetrics;
  readonly logger: Logger;
  readonly recordInbox: (entry: InboxEntry) => Promise<void>;
  /** Which products are supervised (§9); V1 pushes the order inline, so the API stamps the terms. */
  readonly supervisionTermsFor?: SupervisionCatalogue;
  readonly now?: () => number;
}

interface CallContext {
  readonly version: InterfaceVersion;
  readonly started: number;
  readonly bodySha256: string;
  activity?: string;
  ids: { businessId?: string; orderId?: string; orderLineId?: string; instanceId?: string; testFlag?: boolean };
}

const KNOWN_ACTIVITIES = new Set<string>([...V1_ACTIVITIES, ...V2_ACTIVITIES]);

const V1_CHARGING_MODES: Record<string, ChargingMode> = { '0': 'ON_DEMAND', '1': 'PERIOD', '3': 'ONE_TIME', '5': 'ON_DEMAND_PKG' };

function isoFromCompact(v: string | undefined): string | undefined {
  return v ? parseCompactUtc(v)?.toISOString() : undefined;
}

function numeric(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function specOf(r: { amount?: string; diskSize?: string; bandWidth?: string }): Record<string, number> {
  const spec: Record<string, number> = {};
  for (const k of ['amount', 'diskSize', 'bandWidth'] as const) {
    const n = numeric(r[k]);
    if (n !== undefined) spec[k] = n;
  }
  return spec;
}

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

  function answerBody(activity: string, version: InterfaceVersion, a: ServiceAnswer): Record<string, unknown> {
    const msg = a.message ?? defaultResultMessage(a.code);
    if (activity === 'newInstance') {
      return newInstanceResponse(a.code, msg, {
        ...(a.instanceId ? { instanceId: a.instanceId } : {}),
        ...(version === 'V1' && a.appInfo ? { encryptType: '1' as const, appInfo: a.appInfo } : {}),
      });
    }
    if (activity === 'queryInstance') return queryInstanceResponse(a.code, msg, a.info ?? [], '1');
    return simpleResponse(a.code, msg);
  }

  async function runCall(res: Response, ctx: CallContext, fn: () => Promise<ServiceAnswer>): Promise<void> {
    try {
      const answer = await fn();
      if (answer.code === ResultCode.Processing && ctx.activity === 'newInstance') deps.metrics.asyncAnswers.inc();
      // Every line about an order names its purchase order, instance and workflow; an operation's own order id
      // (a renewal's, an upgrade's) is kept beside it.
      const operationOrderId = answer.orderId && ctx.ids.orderId && ctx.ids.orderId !== answer.orderId ? ctx.ids.orderId : undefined;
      deps.logger.info(
        {
          interface: ctx.version,
          activity: ctx.activity,
          ...ctx.ids,
          orderId: answer.orderId ?? ctx.ids.orderId,
          ...(operationOrderId ? { operationOrderId } : {}),
          instanceId: answer.instanceId ?? ctx.ids.instanceId,
          workflowId: answer.workflowId,
          code: answer.code,
        },
        'production-interface call answered',
      );
      send(res, ctx, answerBody(ctx.activity ?? '', ctx.version, answer));
    } catch (err) {
      // Temporal or PostgreSQL unreachable, or a bug: a retryable internal error, never a stack trace.
      deps.logger.error({ interface: ctx.version, activity: ctx.activity, ...ctx.ids, err: (err as Error).message }, 'production-interface call failed');
      send(res, ctx, simpleResponse(ResultCode.InternalError, 'internal error; please retry.'));
    }
  }

  // ---- V1: GET with every parameter in the query string ------------------------------------------------------
  router.get('/', (req: Request, res: Response) => {
    const rawQuery = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
    const ctx: CallContext = { version: 'V1', started: now(), bodySha256: sha256Hex(rawQuery), ids: {} };
    const parsed = parseRawQuery(rawQuery);
    if (!parsed) return refuse(res, ctx, ResultCode.InvalidParameter, 'malformed query string');
    ctx.activity = clipActivity(parsed.params.activity);
    if (parsed.duplicates.length > 0) return refuse(res, ctx, ResultCode.InvalidParameter, `duplicated parameter ${parsed.duplicates[0]}`);
    const auth = verifyV1AuthToken(deps.accessKey, parsed, { nowMs: now(), toleranceMs: deps.v1ToleranceMs });
    if (!auth.ok) return refuse(res, ctx, ResultCode.AuthFailed, `authToken ${auth.reason}`);
    const request = parseV1Request(auth.params);
    if (!request.ok) return refuse(res, ctx, ResultCode.InvalidParameter, `${request.field} ${request.reason}`);
    void runCall(res, ctx, () => dispatchV1(request.request, ctx));
  });

  // ---- V2: POST with a JSON body, signature in the query (or x-sign headers) ---------------------------------
  router.post('/', express.raw({ type: () => true, limit: deps.maxBodyBytes }), (req: Request, res: Response) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const ctx: CallContext = { version: 'V2', started: now(), bodySha256: sha256Hex(body), ids: {} };
    void (async () => {
      const admitted = await admitV2Call(deps, req, body, ctx.started);
      if (!admitted.ok && admitted.code === ResultCode.InternalError) {
        deps.logger.error({ err: admitted.err }, admitted.reason);
        return send(res, ctx, simpleResponse(ResultCode.InternalError, 'internal error; please retry.'));
      }
      if (!admitted.ok) return refuse(res, ctx, admitted.code, admitted.reason);
      const json = admitted.json;
      ctx.activity = clipActivity((json as { activity?: unknown } | null)?.activity);
      const request = parseV2Request(json);
      if (!request.ok) return refuse(res, ctx, ResultCode.InvalidParameter, `${request.field} ${request.reason}`);
      await runCall(res, ctx, () => dispatchV2(request.request, ctx));
    })();
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

  async function dispatchV1(r: V1Request, ctx: CallContext): Promise<ServiceAnswer> {
    const testOrder = r.testFlag === '1';
    ctx.ids = { testFlag: testOrder, orderId: 'orderId' in r ? r.orderId : undefined, ...singleInstanceId(r) };
    switch (r.activity) {
      case 'newInstance': {
        ctx.ids.businessId = r.businessId;
        const chargingMode = r.chargingMode ? V1_CHARGING_MODES[r.chargingMode] : undefined;
        // On-demand: one order with several billing items yields one instance per (orderId, productId) (§3.1).
        const key: OrderKey =
          chargingMode === 'ON_DEMAND' && r.productId ? { kind: 'v1-on-demand', orderId: r.orderId, productId: r.productId } : { kind: 'v1-order', orderId: r.orderId };
        const expireTime = isoFromCompact(r.expireTime);
        const periodNumber = numeric(r.periodNumber);
        let details: OrderDetails = {
          customerId: r.customerId,
          ...(r.customerName ? { customerName: r.customerName } : {}),
          ...(r.productId ? { productId: r.productId } : {}),
          ...(r.skuCode ? { skuCode: r.skuCode } : {}),
          ...(chargingMode ? { chargingMode } : {}),
          ...(r.periodType ? { periodType: r.periodType } : {}),
          ...(periodNumber !== undefined ? { periodNumber } : {}),
          ...(expireTime ? { expireTime } : {}),
          trial: r.trialFlag === '1',
          spec: specOf(r),
          ...(r.orderAmount ? { orderAmount: r.orderAmount } : {}),
        };
        const terms = deps.supervisionTermsFor?.(r.productId);
        if (terms) details = { ...details, supervision: terms };
        const a = await deps.orders.purchase({ key, interfaceVersion: 'V1', businessId: r.businessId, testOrder, details });
        // V1 has no asynchronous answer: "still provisioning" is a retryable failure; the retry finds the instance.
        if (a.code === ResultCode.Processing) return { ...a, code: ResultCode.InternalError, message: 'provisioning in progress; please retry.' };
        if (a.code === ResultCode.Success && a.instanceId) {
          const appInfo = await deps.orders.appInfoFor(a.instanceId);
          return { ...a, ...(appInfo ? { appInfo } : {}) };
        }
        return a;
      }
      case 'refreshInstance': {
        const amount = numeric(r.orderAmount);
        const scene = r.trialToFormal === '1' ? 'TRIAL_TO_FORMAL' : amount !== undefined && amount < 0 ? 'UNSUBSCRIBE_RENEWAL_PERIOD' : 'RENEWAL';
        const periodNumber = numeric(r.periodNumber);
        return deps.orders.refresh(r.instanceId, {
          orderId: r.orderId,
          scene,
          expireTime: isoFromCompact(r.expireTime)!,
          ...(r.productId ? { productId: r.productId } : {}),
          ...(r.periodType ? { periodType: r.periodType } : {}),
          ...(periodNumber !== undefined ? { periodNumber } : {}),
          ...(r.orderAmount ? { orderAmount: r.orderAmount } : {}),
          testOrder,
        });
      }
      case 'expireInstance':
        return deps.orders.setStatus(r.instanceId, { action: 'FREEZE', reason: 'EXPIRED', testOrder });
      case 'instanceStatus':
        return deps.orders.setStatus(r.instanceId, { action: r.instanceStatus === 'FREEZE' ? 'FREEZE' : 'UNFREEZE', reason: 'MARKETPLACE', testOrder });
      case 'upgrade':
        return deps.orders.upgrade(r.instanceId, {
          orderId: r.orderId,
          ...(r.skuCode ? { skuCode: r.skuCode } : {}),
          ...(r.productId ? { productId: r.productId } : {}),
          spec: specOf(r),
          testOrder,
        });
      case 'releaseInstance':
        return deps.orders.release(r.instanceId, { orderId: r.orderId, testOrder });
      case 'queryInstance':
        return deps.orders.queryInstances(r.instanceIds);
    }
  }

  async function dispatchV2(r: V2Request, ctx: CallContext): Promise<ServiceAnswer> {
    const testOrder = r.testFlag === '1';
    ctx.ids = {
      testFlag: testOrder,
      ...('orderId' in r && r.orderId ? { orderId: r.orderId } : {}),
      ...('orderLineId' in r && r.orderLineId ? { orderLineId: r.orderLineId } : {}),
      ...singleInstanceId(r),
    };
    switch (r.activity) {
      case 'newInstance':
        ctx.ids.businessId = r.businessId;
        return deps.orders.purchase({
          key: { kind: 'v2-line', orderId: r.orderId, orderLineId: r.orderLineId },
          interfaceVersion: 'V2',
          businessId: r.businessId,
          testOrder,
        });
      case 'queryInstance':
        return deps.orders.queryInstances(r.instanceIds);
      case 'refreshInstance':
        return deps.orders.refresh(r.instanceId, {
          orderId: r.orderId,
          orderLineId: r.orderLineId,
          // `scene` is marked "M?" (§4.3); a missing one is read as a plain renewal.
          scene: r.scene ?? 'RENEWAL',
          expireTime: isoFromCompact(r.expireTime)!,
          ...(r.productId ? { productId: r.productId } : {}),
          testOrder,
        });
      case 'updateInstanceStatus':
        return deps.orders.setStatus(r.instanceId, { action: r.status, reason: 'MARKETPLACE', testOrder });
      case 'releaseInstance':
        return deps.orders.release(r.instanceId, { ...(r.orderId ? { orderId: r.orderId } : {}), testOrder });
      case 'upgradeInstance':
        return deps.orders.upgrade(r.instanceId, { orderId: r.orderId, orderLineId: r.orderLineId, testOrder });
      case 'changeInstanceCheck':
        return deps.orders.checkChange(r.instanceId);
    }
  }

  return router;
}

/**
 * The instance a call is about, for logs and the inbox. A queryInstance may name up to 100 ids: those are not one
 * instance (and a 6,400-character list would not fit the inbox's index), so only a single id is recorded.
 */
function singleInstanceId(r: V1Request | V2Request): { instanceId?: string } {
  if (!('instanceId' in r)) return {};
  if ('instanceIds' in r) return r.instanceIds.length === 1 ? { instanceId: r.instanceIds[0]! } : {};
  return { instanceId: r.instanceId };
}


function clipActivity(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, 32) : undefined;
}
