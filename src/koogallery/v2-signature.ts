import { createHmac } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { constantTimeEqual } from './constant-time.js';
import { parseUnixTimestamp } from './time.js';

// SaaS V2 request signature (spec §2.2). The nonce replay check lives with the caller (PostgreSQL).

/** The three V2 signature inputs as received. */
export interface V2Credentials {
  signature: string;
  timestamp: string;
  nonce: string;
}

/** Lower-case hex HMAC-SHA256(accessKey, raw body bytes): the payloadHash of §2.2. */
export function v2PayloadHash(accessKey: string, body: Buffer | string): string {
  return createHmac('sha256', accessKey)
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('hex');
}

/** Upper-case hex HMAC-SHA256(accessKey, accessKey + nonce + timestamp + payloadHash). */
export function computeV2Signature(
  accessKey: string,
  input: { nonce: string; timestamp: string; body: Buffer | string },
): string {
  const canonical = accessKey + input.nonce + input.timestamp + v2PayloadHash(accessKey, input.body);
  return createHmac('sha256', accessKey).update(canonical, 'utf8').digest('hex').toUpperCase();
}

const asSingle = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Picks signature/timestamp/nonce from the query, else from the x-sign/x-timestamp/x-nonce headers (joint-operation variant). */
export function extractV2Credentials(
  query: Record<string, unknown>,
  headers: Record<string, string | string[] | undefined>,
): (V2Credentials & { source: 'query' | 'headers' }) | undefined {
  // A repeated parameter (array) is treated as missing: we cannot know which copy was signed.
  const q = query ?? {};
  const qs = asSingle(q['signature']);
  const qt = asSingle(q['timestamp']);
  const qn = asSingle(q['nonce']);
  if (qs && qt && qn) return { signature: qs, timestamp: qt, nonce: qn, source: 'query' };
  const h = headers ?? {};
  const hs = asSingle(h['x-sign']);
  const ht = asSingle(h['x-timestamp']);
  const hn = asSingle(h['x-nonce']);
  if (hs && ht && hn) return { signature: hs, timestamp: ht, nonce: hn, source: 'headers' };
  return undefined;
}

/** Outcome of verifyV2Signature; timestampMs is the request time in epoch milliseconds. */
export type V2VerifyResult =
  | { ok: true; timestampMs: number }
  | { ok: false; reason: 'missing' | 'bad-timestamp' | 'stale' | 'mismatch' | 'bad-nonce' };

const NONCE = /^[\x20-\x7e]{1,128}$/;

/** Verifies a V2 signature: nonce shape, timestamp within tolerance (default 60 s), constant-time case-insensitive compare. */
export function verifyV2Signature(
  accessKey: string,
  creds: V2Credentials,
  body: Buffer,
  opts: { nowMs: number; toleranceMs?: number },
): V2VerifyResult {
  const { signature, timestamp, nonce } = creds ?? ({} as Partial<V2Credentials>);
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || typeof nonce !== 'string') {
    return { ok: false, reason: 'missing' };
  }
  if (signature === '' || timestamp === '' || nonce === '') return { ok: false, reason: 'missing' };
  if (!NONCE.test(nonce)) return { ok: false, reason: 'bad-nonce' };
  // Docs disagree on seconds vs milliseconds (spec §2.2); parseUnixTimestamp decides by magnitude.
  const timestampMs = parseUnixTimestamp(timestamp);
  if (timestampMs === undefined) return { ok: false, reason: 'bad-timestamp' };
  if (Math.abs(opts.nowMs - timestampMs) > (opts.toleranceMs ?? 60_000)) return { ok: false, reason: 'stale' };
  // The timestamp is signed exactly as received, not normalised.
  const expected = computeV2Signature(accessKey, { nonce, timestamp, body });
  return constantTimeEqual(expected, signature.toUpperCase())
    ? { ok: true, timestampMs }
    : { ok: false, reason: 'mismatch' };
}
