import type { Request } from 'express';
import { ResultCode, parseRawQuery, verifyV1AuthToken } from '../koogallery/index.js';

// Admission of a V1 (GET, authToken) marketplace call (spec §2.1), shared by the SaaS and the V1 License
// interfaces: the raw query string split without loss, no parameter twice, authToken and timeStamp good. The caller
// answers a refusal in its own way; this only decides.

/**
 * What admission decided; `activity` is the (clipped) activity named, for logs and the inbox, when readable;
 * `accessKey` the key the authToken verified with (the call is answered and its fields decrypted with it).
 */
export type V1Admission =
  | { readonly ok: true; readonly params: Record<string, string>; readonly accessKey: string; readonly activity?: string }
  | {
      readonly ok: false;
      readonly code: typeof ResultCode.AuthFailed | typeof ResultCode.InvalidParameter;
      readonly reason: string;
      readonly activity?: string;
    };

/** The raw query string of a request (no '?'): what the authToken was computed over, before any decoding. */
export function rawQueryOf(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i + 1);
}

/** The keys a call may be signed with: the access key, then the others (KOOGALLERY_OTHER_ACCESS_KEYS). */
export interface AdmissionKeys {
  readonly accessKey: string;
  readonly otherAccessKeys?: readonly string[];
}

/** Decides whether a V1 call is well-formed and authentic. */
export function admitV1Call(deps: AdmissionKeys & { readonly v1ToleranceMs: number }, rawQuery: string, nowMs: number): V1Admission {
  const parsed = parseRawQuery(rawQuery);
  if (parsed === undefined) return { ok: false, code: ResultCode.InvalidParameter, reason: 'malformed query string' };
  const named = parsed.params['activity'];
  const activity = named ? { activity: named.slice(0, 32) } : {};
  const [duplicate] = parsed.duplicates;
  if (duplicate !== undefined) return { ok: false, code: ResultCode.InvalidParameter, reason: `duplicated parameter ${duplicate}`, ...activity };
  const opts = { nowMs, toleranceMs: deps.v1ToleranceMs };
  let auth = verifyV1AuthToken(deps.accessKey, parsed, opts);
  if (auth.ok) return { ok: true, params: auth.params, accessKey: deps.accessKey, ...activity };
  // Only a mismatch can be another key's call (a stale or missing token is one under every key).
  for (const key of auth.reason === 'mismatch' ? (deps.otherAccessKeys ?? []) : []) {
    auth = verifyV1AuthToken(key, parsed, opts);
    if (auth.ok) return { ok: true, params: auth.params, accessKey: key, ...activity };
  }
  return { ok: false, code: ResultCode.AuthFailed, reason: `authToken ${auth.reason}`, ...activity };
}
