import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { NonceStore } from './nonce-store.js';
import { verifyWithAnyKey, type AdmissionKeys } from './admission-keys.js';
import { ResultCode, extractV2Credentials, verifyV2Signature } from '../koogallery/index.js';

// Admission of a V2-signed marketplace call (spec §2.2), the same for the production interface and the order
// notification: credentials present, signature over the exact bytes and inside the clock window, nonce never seen
// (claimed only once the signature is good, so nobody can burn nonces with forged requests), body JSON. The caller
// answers a refusal in its own way; this only decides.

/**
 * What admission decided. `accessKey` is the key the signature verified with: the call is answered with it, refusals
 * after the signature check included (a replayed nonce, a body that is not JSON), so the marketplace can check them.
 */
export type V2Admission =
  | { readonly ok: true; readonly json: unknown; readonly accessKey: string }
  | { readonly ok: false; readonly code: typeof ResultCode.AuthFailed | typeof ResultCode.InvalidParameter; readonly reason: string; readonly accessKey?: string }
  /** The nonce store could not be reached: a retryable internal error, not a refusal. */
  | { readonly ok: false; readonly code: typeof ResultCode.InternalError; readonly reason: string; readonly err: string; readonly accessKey?: string };

/** What admission needs. */
export interface V2AdmissionDeps extends AdmissionKeys {
  readonly nonces: NonceStore;
  readonly v2ToleranceMs: number;
}

/**
 * Decides whether a V2 call is authentic, fresh and JSON. `onVerified` learns the key as soon as the signature
 * verifies, before the nonce claim: if the claim is slow and the call's backstop answers meanwhile, that answer is
 * Body-Signed with the key the marketplace signed with (during a key rotation, not the primary one).
 */
export async function admitV2Call(deps: V2AdmissionDeps, req: Request, body: Buffer, nowMs: number, onVerified?: (accessKey: string) => void): Promise<V2Admission> {
  const creds = extractV2Credentials(req.query, req.headers);
  if (!creds) return { ok: false, code: ResultCode.AuthFailed, reason: 'signature missing' };
  const { result: verified, accessKey } = verifyWithAnyKey(deps, (key) => verifyV2Signature(key, creds, body, { nowMs, toleranceMs: deps.v2ToleranceMs }));
  if (!verified.ok) return { ok: false, code: ResultCode.AuthFailed, reason: `signature ${verified.reason}` };
  onVerified?.(accessKey);
  let fresh: boolean;
  try {
    fresh = await deps.nonces.claim(creds.nonce, deps.v2ToleranceMs);
  } catch (err) {
    return { ok: false, code: ResultCode.InternalError, reason: 'nonce store unavailable', err: (err as Error).message, accessKey };
  }
  if (!fresh) return { ok: false, code: ResultCode.AuthFailed, reason: 'nonce replayed', accessKey };
  try {
    return { ok: true, json: JSON.parse(body.toString('utf8')), accessKey };
  } catch {
    return { ok: false, code: ResultCode.InvalidParameter, reason: 'body is not JSON', accessKey };
  }
}

/** Hex SHA-256 of a request body, the inbox's record of what was received. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
