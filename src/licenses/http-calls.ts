import type { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import { ResultCode, simpleResponse } from '../koogallery/index.js';
import type { InboxEntry } from '../production-interface/inbox-store.js';
import { armAnswerBackstop, createSignedAnswerSender, type AnsweredCall } from '../production-interface/signed-answer.js';
import type { ApiMetrics } from '../platform/http/metrics.js';

// How the License interfaces answer a call: through the production interface's signed-answer sender (HTTP 200,
// Body-Sign over the exact bytes, metrics, inbox), with one log line per call. Shared by the Online/V1 License
// router and the License code router.

/** One call being handled; `activity` and `ids` fill in as the call is read. */
export interface LicenseCall {
  readonly version: 'V1' | 'V2';
  readonly started: number;
  readonly bodySha256: string;
  activity?: string;
  ids: AnsweredCall['ids'];
  /** The key the call verified with: it signs the answer. */
  accessKey?: string;
}

/** What answering needs. */
export interface LicenseCallDeps {
  readonly accessKey: string;
  readonly otherAccessKeys?: readonly string[];
  readonly metrics: ApiMetrics;
  readonly logger: Logger;
  readonly recordInbox: (entry: InboxEntry) => Promise<void>;
  readonly now: () => number;
}

/** Builds the answer functions of one router; only `activities` become metric labels. */
export function createLicenseCallAnswers(deps: LicenseCallDeps, activities: readonly string[]) {
  const sendSignedAnswer = createSignedAnswerSender(deps);
  const known = new Set(activities);

  function reply(res: Response, call: LicenseCall, body: Record<string, unknown>, refusal?: string): void {
    const metricActivity = call.activity && known.has(call.activity) ? call.activity : 'unknown';
    // Answered by the backstop meanwhile: the sender logs this late answer and drops it; nothing else counts it.
    const late = res.headersSent;
    const latencyMs = sendSignedAnswer(res, { ...call, metricActivity }, body, refusal);
    if (late) return;
    const fields = { interface: call.version, activity: call.activity, ...call.ids, code: body.resultCode, latencyMs };
    if (refusal) deps.logger.warn({ ...fields, reason: refusal }, 'license call refused');
    else deps.logger.info(fields, 'license call answered');
  }

  /** Refuses a call before it reaches an instance: 000001 (authentication) or 000002 (bad input). */
  function refuse(res: Response, call: LicenseCall, code: typeof ResultCode.AuthFailed | typeof ResultCode.InvalidParameter, reason: string): void {
    if (code === ResultCode.AuthFailed) deps.metrics.signatureFailures.inc({ interface: call.version, reason });
    reply(res, call, simpleResponse(code, code === ResultCode.AuthFailed ? 'authentication failed.' : `invalid request: ${reason}`), reason);
  }

  return {
    reply,
    refuse,
    /** A retryable 000005 if the call is still unanswered at its backstop (whatever it waits for), its result dropped. */
    guard(res: Response, call: LicenseCall): void {
      armAnswerBackstop(res, call.started, deps.now, () => {
        deps.logger.warn({ interface: call.version, activity: call.activity, ...call.ids }, 'license call answered by its backstop');
        reply(res, call, simpleResponse(ResultCode.InternalError, 'still processing; please retry.'));
      });
    },
    /**
     * What every License router ends with: a method the marketplace never uses, and a body too large or unreadable,
     * are bad input, answered (signed, no stack trace) like any other.
     */
    refuseTheRest(router: Router, newCall: (version: 'V1' | 'V2') => LicenseCall): void {
      router.all('/', (req: Request, res: Response) => refuse(res, newCall('V2'), ResultCode.InvalidParameter, `method ${req.method.slice(0, 16)} not supported`));
      router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
        const type = (err as { type?: string }).type;
        refuse(res, newCall(req.method === 'GET' ? 'V1' : 'V2'), ResultCode.InvalidParameter, type === 'entity.too.large' ? 'body too large' : 'unreadable body');
      });
    },
    /** Temporal or PostgreSQL unreachable, or a bug: a retryable 000005, never a stack trace. */
    fail(res: Response, call: LicenseCall, err: unknown): void {
      deps.logger.error({ interface: call.version, activity: call.activity, ...call.ids, err: (err as Error | undefined)?.message }, 'license call failed');
      if (!res.headersSent) reply(res, call, simpleResponse(ResultCode.InternalError, 'internal error; please retry.'));
    },
  };
}
