import type { Response } from 'express';
import type { Logger } from 'pino';
import type { InboxEntry } from './inbox-store.js';
import { BODY_SIGN_HEADER, bodySignHeaderValue, serializeResponse } from '../koogallery/index.js';
import type { InterfaceVersion } from '../orders/contract.js';
import type { ApiMetrics } from '../platform/http/metrics.js';

// How every answer to the marketplace leaves: HTTP 200 JSON with a Body-Sign over the exact bytes sent (§2.3),
// counted in the request metrics, and recorded in the inbox after it is sent. Shared by the production interface
// and the order notification, so the two cannot drift apart on the parts the marketplace checks.

/**
 * How long after its arrival (its handler's start: the body is read by then) a call is answered whatever still
 * runs: a retryable 000005 (the marketplace waits 5 s, and the network takes some of it). Every path has a budget of
 * its own inside this (PROVISION_BUDGET_MS ≤ 4 s, then look-ups ≤ 0.8 s); the backstop catches the waits none
 * bounds: a pool slot, a statement PostgreSQL is slow to end.
 */
export const ANSWER_BACKSTOP_MS = 4900;

/**
 * Arms a call's backstop: `answer` runs if `res` has not been answered `ANSWER_BACKSTOP_MS` after `started` (epoch
 * ms, by `now`'s clock). Whatever the call still runs finishes unobserved; its answer is dropped by the sender.
 */
export function armAnswerBackstop(res: Response, started: number, now: () => number, answer: () => void): void {
  const timer = setTimeout(() => {
    if (res.headersSent) return;
    try {
      answer();
    } catch (err) {
      // A timer callback's throw would end the process: the caller hangs up after its 5 s instead.
      if (!res.headersSent) res.destroy(err as Error);
    }
  }, Math.max(0, started + ANSWER_BACKSTOP_MS - now()));
  // 'close' follows every answer, and a caller that hung up: either way nothing is left to answer.
  res.once('close', () => clearTimeout(timer));
}

/** One marketplace call being answered. */
export interface AnsweredCall {
  readonly version: InterfaceVersion;
  readonly started: number;
  readonly bodySha256: string;
  /** The activity as received (for the inbox), if any. */
  readonly activity?: string;
  /** The metric label: only known names, so a caller cannot mint time series. */
  readonly metricActivity: string;
  readonly ids: Pick<InboxEntry, 'businessId' | 'orderId' | 'orderLineId' | 'instanceId' | 'testFlag'>;
  /** The key the call was verified with; absent (a refusal before verification): the access key. */
  readonly accessKey?: string;
}

/** What sending needs. */
export interface SignedAnswerDeps {
  readonly accessKey: string;
  /** KOOGALLERY_OTHER_ACCESS_KEYS, to name the key a call used in the metrics by its place, never by its value. */
  readonly otherAccessKeys?: readonly string[];
  readonly metrics?: ApiMetrics;
  readonly logger: Logger;
  readonly recordInbox: (entry: InboxEntry) => Promise<void>;
  readonly now: () => number;
}

function keyLabel(deps: SignedAnswerDeps, key: string): string {
  if (key === deps.accessKey) return 'primary';
  const i = deps.otherAccessKeys?.indexOf(key) ?? -1;
  return i >= 0 ? `other-${i + 1}` : 'other';
}

/** Builds the sender; it returns the call's latency in ms. */
export function createSignedAnswerSender(deps: SignedAnswerDeps) {
  return function sendSignedAnswer(res: Response, call: AnsweredCall, body: Record<string, unknown>, refusal?: string): number {
    const code = String(body.resultCode);
    if (res.headersSent) {
      // Answered already by the backstop (armAnswerBackstop): the marketplace has its retryable answer; this one,
      // late, is only logged. The work behind it is done and idempotent: the retry is answered from it.
      const lateMs = deps.now() - call.started;
      deps.logger.warn({ activity: call.metricActivity, ...call.ids, code, latencyMs: lateMs }, 'late answer dropped: the call was answered by its backstop');
      return lateMs;
    }
    const bytes = serializeResponse(body);
    res.status(200);
    res.setHeader('Content-Type', 'application/json;charset=UTF-8');
    res.setHeader(BODY_SIGN_HEADER, bodySignHeaderValue(call.accessKey ?? deps.accessKey, bytes));
    res.end(bytes);
    const latencyMs = deps.now() - call.started;
    deps.metrics?.requests.inc({ interface: call.version, activity: call.metricActivity, result_code: code });
    deps.metrics?.latency.observe({ interface: call.version, activity: call.metricActivity }, latencyMs / 1000);
    // Which key each authenticated call used: a key rotation is over when the old key's count stops growing.
    if (call.accessKey !== undefined) deps.metrics?.callsByAccessKey.inc({ interface: call.version, key: keyLabel(deps, call.accessKey) });
    const entry: InboxEntry = {
      receivedAt: new Date(call.started),
      interfaceVersion: call.version,
      ...(call.activity ? { activity: call.activity } : {}),
      ...call.ids,
      bodySha256: call.bodySha256,
      resultCode: code,
      httpStatus: 200,
      latencyMs,
      ...(refusal ? { refusal } : {}),
    };
    // After the answer is sent: the audit row must not cost the marketplace latency. A failed write is logged.
    deps.recordInbox(entry).catch((err: unknown) =>
      deps.logger.error({ err: (err as Error).message, activity: call.metricActivity, orderId: call.ids.orderId }, 'inbox write failed'),
    );
    return latencyMs;
  };
}
