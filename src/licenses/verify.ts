import { Buffer } from 'node:buffer';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose';

// Offline verification of a license (issue #13): the compact JWS's signature against a JWKS (the service publishes
// its own at GET /koogallery/license/jwks.json), then its time window. Depends on nothing but `jose`, so a
// customer's Node software can take this file as it is; other languages do the same with any JOSE library
// (EdDSA/Ed25519, kid from the header, then nbf/exp).

/** Why a license did not verify. */
export type LicenseRejection =
  /** Not three base64url segments, not canonical base64url, or header/payload not JSON. */
  | 'malformed'
  /** The header's alg is not EdDSA. */
  | 'algorithm not allowed'
  /** No key in the JWKS has the header's kid (unknown, or removed from the JWKS). */
  | 'unknown key'
  /** The signature does not match header and payload under that key. */
  | 'signature invalid'
  /** The payload lacks a claim every license has. */
  | 'claims invalid'
  /** Before `nbf` (the license's effectiveTime). */
  | 'not yet valid'
  /** At or after `exp` (the license's expireTime). */
  | 'expired';

/** The outcome of verifyLicense. */
export type LicenseVerification =
  | { readonly ok: true; readonly kid: string; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: LicenseRejection; readonly detail?: string };

/** Options of verifyLicense. */
export interface VerifyLicenseOptions {
  /** The time to check nbf/exp against (default now); `false` checks the signature only. */
  readonly at?: Date | false;
  /** Clock skew allowed on nbf/exp, in seconds (default 60). */
  readonly clockToleranceSec?: number;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const REQUIRED_CLAIMS = ['licenseId', 'instanceId', 'eventId', 'effectiveTime', 'quota', 'iat'] as const;

/** True when every segment is base64url in its one canonical spelling (no second token with the same bytes). */
function canonical(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((p) => SEGMENT.test(p) && Buffer.from(p, 'base64url').toString('base64url') === p);
}

/** A JSON Web Key Set (RFC 7517 §5), as served at /koogallery/license/jwks.json. */
export interface Jwks {
  readonly keys: readonly JWK[];
}

/** Verifies a license against a JWKS. Never throws for a bad token; the reason says what is wrong. */
export async function verifyLicense(token: string, jwks: Jwks, options: VerifyLicenseOptions = {}): Promise<LicenseVerification> {
  const text = token.trim();
  // base64url leaves spare bits in a segment's last character: without this check, changing them would give a
  // different string that still verifies, and "one changed byte fails" must hold for every byte.
  if (!canonical(text)) return { ok: false, reason: 'malformed' };
  let payload: Uint8Array;
  let kid: string;
  try {
    const verified = await compactVerify(text, createLocalJWKSet(jwks as JSONWebKeySet), { algorithms: ['EdDSA', 'Ed25519'] });
    payload = verified.payload;
    kid = String(verified.protectedHeader.kid ?? '');
  } catch (err) {
    return { ok: false, ...rejection(err) };
  }
  let claims: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, reason: 'claims invalid', detail: 'payload is not a JSON object' };
    claims = parsed as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'malformed', detail: 'payload is not JSON' };
  }
  const missing = REQUIRED_CLAIMS.filter((c) => claims[c] === undefined);
  if (missing.length > 0) return { ok: false, reason: 'claims invalid', detail: `missing ${missing.join(', ')}` };
  if (options.at !== false) {
    const now = Math.floor((options.at ?? new Date()).getTime() / 1000);
    const skew = options.clockToleranceSec ?? 60;
    if (typeof claims.nbf === 'number' && now + skew < claims.nbf) return { ok: false, reason: 'not yet valid', detail: `valid from ${String(claims.effectiveTime)}` };
    if (typeof claims.exp === 'number' && now - skew >= claims.exp) return { ok: false, reason: 'expired', detail: `expired at ${String(claims.expireTime)}` };
  }
  return { ok: true, kid, claims };
}

function rejection(err: unknown): { reason: LicenseRejection; detail?: string } {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return { reason: 'unknown key', detail: 'no key in the JWKS has this kid' };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { reason: 'signature invalid' };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return { reason: 'algorithm not allowed' };
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { reason: 'unknown key', detail: 'several keys in the JWKS have this kid' };
    default:
      return { reason: 'malformed', ...(err instanceof Error ? { detail: err.message.slice(0, 200) } : {}) };
  }
}
