import type { Request } from 'express';
import { ResultCode, parseRawQuery, verifyV1AuthToken } from '../koogallery/index.js';
import { verifyWithAnyKey, type AdmissionKeys } from './admission-keys.js';

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

/** Decides whether a V1 call is well-formed and authentic. */
export function admitV1Call(deps: AdmissionKeys & { readonly v1ToleranceMs: number }, rawQuery: string, nowMs: number): V1Admission {
  const parsed = parseRawQuery(rawQuery);
  if (parsed === undefined) return { ok: false, code: ResultCode.InvalidParameter, reason: 'malformed query string' };
  const named = parsed.params['activity'];
  const activity = named ? { activity: named.slice(0, 32) } : {};
  const [duplicate] = parsed.duplicates;
  if (duplicate !== undefined) return { ok: false, code: ResultCode.InvalidParameter, reason: `duplicated parameter ${duplicate}`, ...activity };
  const { result: auth, accessKey } = verifyWithAnyKey(deps, (key) => verifyV1AuthToken(key, parsed, { nowMs, toleranceMs: deps.v1ToleranceMs }));
  return auth.ok ? { ok: true, params: auth.params, accessKey, ...activity } : { ok: false, code: ResultCode.AuthFailed, reason: `authToken ${auth.reason}`, ...activity };
}
