import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';

// The ops API's failures carry a string code; one handler turns them into HTTP statuses and JSON bodies.

/** Error codes of the ops API (the `error` field of every error body). */
export const OpsErrorCode = {
  Unauthorized: 'UNAUTHORIZED',
  InvalidRequest: 'INVALID_REQUEST',
  NotFound: 'NOT_FOUND',
  /** The action is not allowed in the current state (e.g. a supervision node that does not take it). */
  Conflict: 'CONFLICT',
  /** A dependency (Temporal) did not answer in time; retry. */
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
} as const;

/** One of the OpsErrorCode values. */
export type OpsErrorCode = (typeof OpsErrorCode)[keyof typeof OpsErrorCode];

const STATUS: Readonly<Record<OpsErrorCode, number>> = { UNAUTHORIZED: 401, INVALID_REQUEST: 400, NOT_FOUND: 404, CONFLICT: 409, UNAVAILABLE: 503, INTERNAL: 500 };

/** A failure the ops API answers with a status and a message meant for the caller. */
export class OpsError extends Error {
  constructor(
    readonly code: OpsErrorCode,
    message: string,
    /** Extra fields of the error body (e.g. the unchanged supervision node of a refused action). */
    readonly extra?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

/** The code of an ops error body. */
export const opsErrorCodeSchema = z.enum(Object.values(OpsErrorCode) as [OpsErrorCode, ...OpsErrorCode[]]);

/** The plain ops error body (no extra fields); contexts extend it for their own (e.g. a refused action's node). */
export const opsErrorSchema = z.object({ error: opsErrorCodeSchema, message: z.string() });

/** The body of every ops error answer. */
export interface OpsErrorBody {
  error: OpsErrorCode;
  message: string;
  [extra: string]: unknown;
}

/** The one place an ops failure becomes an HTTP answer; unexpected errors are logged (message only) and hidden. */
export function opsErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const known = err instanceof OpsError ? err : undefined;
    // A body-parser or routing error from Express carries its own 4xx status.
    const expressStatus = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : undefined;
    let body: OpsErrorBody;
    if (known) body = { ...(known.extra ?? {}), error: known.code, message: known.message };
    else if (expressStatus !== undefined && expressStatus >= 400 && expressStatus < 500) body = { error: OpsErrorCode.InvalidRequest, message: 'bad request' };
    else {
      logger.error({ err: err instanceof Error ? err.message : String(err), path: req.path }, 'ops request failed');
      body = { error: OpsErrorCode.Internal, message: 'internal error' };
    }
    if (res.headersSent) return;
    if (body.error === OpsErrorCode.Unauthorized) res.setHeader('WWW-Authenticate', 'Bearer realm="ops"');
    res.status(STATUS[body.error]).json(body);
  };
}
