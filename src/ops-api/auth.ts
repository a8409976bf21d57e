import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { OpsError, OpsErrorCode } from './errors.js';

// Bearer-token authentication of the ops API. The comparison runs over SHA-256 digests, so it takes the same time
// whatever the length or content of the presented token; the token itself is never logged or echoed.

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** True when `presented` equals `expected`, in constant time. */
export function tokenMatches(expected: string, presented: string): boolean {
  return timingSafeEqual(digest(expected), digest(presented)) && expected.length > 0;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Refuses every request without the ops token (401, through the ops error handler). */
export function requireOpsToken(expected: string): RequestHandler {
  return (req, _res, next) => {
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined || !tokenMatches(expected, presented)) {
      next(new OpsError(OpsErrorCode.Unauthorized, 'a valid bearer token is required'));
      return;
    }
    next();
  };
}
