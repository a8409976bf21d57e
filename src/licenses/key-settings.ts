import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { z } from 'zod';

// The license signing keys (issue #13): Ed25519 key pairs named by `kid`, as JSON Web Keys (RFC 8037), from
// configuration. Exactly one key signs (the active one); every key in the set, retired ones included, is published
// in the JWKS, so a license signed before a rotation keeps verifying. A retired key may be kept with or without its
// private part `d`: without it, nothing here can sign with it any more.

/** The JWS algorithm of every license (RFC 8037 `EdDSA` with the Ed25519 curve). */
export const LICENSE_JWS_ALGORITHM = 'EdDSA';

/** One configured key: an OKP Ed25519 JWK with a `kid`; `d` (the private key) only where the service holds it. */
export interface LicenseJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly kid: string;
  readonly x: string;
  readonly d?: string;
}

/** A published key: what the JWKS serves for one kid (never `d`). */
export interface PublicLicenseJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly kid: string;
  readonly x: string;
  readonly alg: typeof LICENSE_JWS_ALGORITHM;
  readonly use: 'sig';
}

/** A JSON Web Key Set of license verification keys (RFC 7517 §5). */
export interface LicenseJwks {
  readonly keys: readonly PublicLicenseJwk[];
}

/** The keys a process signs and publishes with. */
export interface LicenseKeyRing {
  readonly activeKid: string;
  readonly signingKey: KeyObject;
  readonly jwks: LicenseJwks;
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, { error: 'must be base64url' });
const jwkSchema = z.object({
  kty: z.literal('OKP', { error: 'kty must be "OKP"' }),
  crv: z.literal('Ed25519', { error: 'crv must be "Ed25519"' }),
  // A kid travels in every license header and in URLs of ops tools: printable ASCII, bounded.
  kid: z.string().regex(/^[\x21-\x7e]{1,64}$/, { error: 'kid must be 1..64 printable ASCII characters' }),
  x: base64url,
  d: base64url.optional(),
});
// Either a JWK set {"keys": [...]} or a bare array of JWKs.
const keySetSchema = z.union([z.object({ keys: z.array(z.unknown()) }).transform((s) => s.keys), z.array(z.unknown())]);

/** Reads a key set (JSON: `{"keys":[JWK...]}` or `[JWK...]`); `problems` lists what is wrong, never key material. */
export function parseLicenseKeySet(text: string): { keys: LicenseJwk[]; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { keys: [], problems: ['is not JSON'] };
  }
  const set = keySetSchema.safeParse(json);
  if (!set.success) return { keys: [], problems: ['must be a JWK set {"keys": [...]} or an array of JWKs'] };
  const keys: LicenseJwk[] = [];
  const problems: string[] = [];
  set.data.forEach((raw, i) => {
    const parsed = jwkSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(`key ${i}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
      return;
    }
    const jwk = parsed.data as LicenseJwk;
    const problem = keyProblem(jwk);
    if (problem) problems.push(`key ${jwk.kid}: ${problem}`);
    else if (keys.some((k) => k.kid === jwk.kid)) problems.push(`key ${jwk.kid}: kid appears twice`);
    else keys.push(jwk);
  });
  if (keys.length === 0 && problems.length === 0) problems.push('holds no key');
  return { keys, problems };
}

/** Why a JWK is unusable (not a valid Ed25519 key, or a private part that does not belong to its public part). */
function keyProblem(jwk: LicenseJwk): string | undefined {
  try {
    const publicKey = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
    if (jwk.d === undefined) return undefined;
    const derived = createPublicKey(createPrivateKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d }, format: 'jwk' }));
    return derived.equals(publicKey) ? undefined : 'd does not belong to x';
  } catch {
    return 'is not a valid Ed25519 key';
  }
}

/** Which kid signs: the one named, or the only key holding a private part. `problem` says why none can. */
export function pickActiveKid(keys: readonly LicenseJwk[], named: string | undefined): { kid?: string; problem?: string } {
  if (named !== undefined) {
    const key = keys.find((k) => k.kid === named);
    if (!key) return { problem: `"${named}" is not in the key set` };
    if (key.d === undefined) return { problem: `"${named}" has no private part (d): a retired key cannot sign` };
    return { kid: named };
  }
  const signing = keys.filter((k) => k.d !== undefined);
  if (signing.length === 1) return { kid: signing[0]!.kid };
  return { problem: signing.length === 0 ? 'no key has a private part (d)' : 'several keys have a private part: name the active one' };
}

/** The published form of a key. */
export function publicJwk(jwk: LicenseJwk): PublicLicenseJwk {
  return { kty: jwk.kty, crv: jwk.crv, kid: jwk.kid, x: jwk.x, alg: LICENSE_JWS_ALGORITHM, use: 'sig' };
}

/** Builds the key ring from validated configuration (parseLicenseKeySet + pickActiveKid). */
export function createLicenseKeyRing(keys: readonly LicenseJwk[], activeKid: string): LicenseKeyRing {
  const active = keys.find((k) => k.kid === activeKid);
  if (!active?.d) throw new Error(`license key ${activeKid} cannot sign`);
  const signingKey = createPrivateKey({ key: { kty: active.kty, crv: active.crv, x: active.x, d: active.d }, format: 'jwk' });
  return { activeKid, signingKey, jwks: { keys: keys.map(publicJwk) } };
}

/** A new Ed25519 key pair as a JWK with the given kid (`npm run license:keygen`). */
export function generateLicenseJwk(kid: string): LicenseJwk {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  return { kty: 'OKP', crv: 'Ed25519', kid, x: jwk.x, d: jwk.d };
}
