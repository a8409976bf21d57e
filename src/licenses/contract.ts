// The licenses context's contract (issue #13): the claims every license carries, the workflow ids and inputs of
// license instances and activated license codes, and every message they accept. Shared by the API and the
// workflows; bundle-safe (no Node modules). Message and type names are wire contracts: never rename them while runs
// are open.

/** Which product family issued a license. */
export type LicenseFamily = 'ONLINE_LICENSE' | 'LICENSE_V1';

/**
 * The claims of a license (the JWT payload; `iss`, `sub` = instanceId and `jti` = licenseId are added at signing).
 * Times: ISO-8601 UTC strings for people and software that read them, `nbf`/`exp`/`iat` in epoch seconds for JOSE
 * libraries, which check them.
 */
export interface LicenseClaims {
  readonly licenseId: string;
  readonly family: LicenseFamily;
  readonly instanceId: string;
  /** Absent when the order did not say (e.g. a V1 order without productId). */
  readonly productId?: string;
  readonly skuCode?: string;
  readonly customerId?: string;
  readonly effectiveTime: string;
  /** Absent for a license without end (one-time purchases). */
  readonly expireTime?: string;
  readonly eventId: string;
  readonly deviceFingerprint?: string;
  /** How many licenses the instance may issue in all (the sum of linearValue over its effective orders). */
  readonly quota: number;
  /** Set for the marketplace's debug orders (testFlag=1): such a license licenses nothing real. */
  readonly testOrder?: true;
  readonly iat: number;
  readonly nbf: number;
  readonly exp?: number;
}
