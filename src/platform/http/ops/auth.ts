import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { OpsOperators } from '../../config.js';
import { OpsError, OpsErrorCode } from './errors.js';

// Who calls the ops API. Each operator has a named bearer token; configuration holds only the SHA-256 of each
// token (OPS_OPERATORS), so a leaked configuration does not leak a token. A presented token is hashed and compared
// with every configured hash in constant time, and the loop never stops early, so the answer time tells nothing
// about which entry (if any) matched. Revoked names and hashes are refused with a message that says so.

/** SHA-256 of a token, as configuration states it (lower-case hex). */
export const tokenSha256 = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** The outcome of presenting a token. */
export type Authentication =
  | { readonly ok: true; readonly operator: string }
  | { readonly ok: false; readonly reason: 'missing' | 'unknown' }
  | { readonly ok: false; readonly reason: 'revoked'; readonly operator?: string };

/** The operators who may call the ops API. */
export interface OperatorDirectory {
  /** Who presented `token` (an `Authorization` bearer token), or why nobody. */
  authenticate(token: string | undefined): Authentication;
}

/** True when two equal-length digests are equal, in constant time. */
const same = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/** Builds the directory of the configured operators. */
export function createOperatorDirectory(config: OpsOperators): OperatorDirectory {
  const operators = config.operators.map((o) => ({ name: o.name, digest: Buffer.from(o.tokenSha256, 'hex') }));
  const revokedDigests = config.revokedTokenSha256.map((h) => Buffer.from(h, 'hex'));
  const revokedNames = new Set(config.revokedNames);
  return {
    authenticate(token) {
      if (token === undefined || token.length === 0) return { ok: false, reason: 'missing' };
      const presented = createHash('sha256').update(token, 'utf8').digest();
      let operator: string | undefined;
      let revoked = false;
      // Every entry is compared, whatever matched before.
      for (const o of operators) if (same(presented, o.digest)) operator = o.name;
      for (const d of revokedDigests) if (same(presented, d)) revoked = true;
      if (revoked || (operator !== undefined && revokedNames.has(operator))) return { ok: false, reason: 'revoked', ...(operator ? { operator } : {}) };
      return operator === undefined ? { ok: false, reason: 'unknown' } : { ok: true, operator };
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** The message of a refused call: a revoked token is told so; anything else gets the same answer. */
export const UNAUTHORIZED_MESSAGE = 'a valid bearer token is required';
export const REVOKED_MESSAGE = 'this bearer token was revoked; ask for a new one';

/**
 * Refuses every request without a valid operator token (401, through the ops error handler), and records who
 * called in `res.locals` for the routes (see `operatorOf`). Neither token is ever logged; a revoked one is, by name.
 */
export function requireOperator(directory: OperatorDirectory, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const auth = directory.authenticate(bearerToken(req.headers.authorization));
    if (!auth.ok) {
      if (auth.reason === 'revoked') {
        logger.warn({ operator: auth.operator ?? null, method: req.method, path: req.path }, 'ops call with a revoked token refused');
        next(new OpsError(OpsErrorCode.Unauthorized, REVOKED_MESSAGE));
      } else next(new OpsError(OpsErrorCode.Unauthorized, UNAUTHORIZED_MESSAGE));
      return;
    }
    (res.locals as OperatorLocals).operator = auth.operator;
    next();
  };
}

interface OperatorLocals {
  operator?: string;
}

/** The operator the current ops request was authenticated as (set by `requireOperator`). */
export function operatorOf(res: Response): string {
  const operator = (res.locals as OperatorLocals).operator;
  // Routes are only reached through requireOperator; a missing name is a wiring mistake, not a caller's.
  if (operator === undefined) throw new Error('ops route reached without an authenticated operator');
  return operator;
}
