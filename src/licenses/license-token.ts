import { importJWK, SignJWT, type CryptoKey } from 'jose';
import { LICENSE_JWS_ALGORITHM, type LicenseKeyRing } from './key-settings.js';
import type { LicenseClaims } from './contract.js';

// Signing a license: a compact JWS (RFC 7515) over the license's claims as a JWT payload (RFC 7519), EdDSA with the
// active Ed25519 key, the `kid` in the protected header. Ed25519 signatures are deterministic (RFC 8032), so the same
// claims under the same key give the same bytes; the service still stores each license once and serves the stored
// bytes, because a rotation changes the key.

/** The `typ` header of every license. */
export const LICENSE_TOKEN_TYPE = 'JWT';

/** Signs license claims; one per process, built from the key ring. */
export interface LicenseSigner {
  /** The kid that signs now. */
  readonly kid: string;
  sign(claims: LicenseClaims): Promise<string>;
}

/** Creates the signer for the key ring's active key. */
export function createLicenseSigner(ring: LicenseKeyRing, options: { issuer: string }): LicenseSigner {
  // Imported once: WebCrypto key import is a measurable share of one signature.
  let key: Promise<CryptoKey | Uint8Array> | undefined;
  const signingKey = () => (key ??= importJWK({ ...ring.signingKey.export({ format: 'jwk' }), alg: LICENSE_JWS_ALGORITHM }, LICENSE_JWS_ALGORITHM));
  return {
    kid: ring.activeKid,
    async sign(claims) {
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: LICENSE_JWS_ALGORITHM, kid: ring.activeKid, typ: LICENSE_TOKEN_TYPE })
        .setIssuer(options.issuer)
        .setSubject(claims.instanceId)
        .setJti(claims.licenseId)
        .sign(await signingKey());
    },
  };
}
