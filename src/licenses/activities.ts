import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { LicenseSigner } from './license-token.js';
import { issueOrFindLicense, releaseLicenses, type IssueLicenseInput, type IssueLicenseOutcome } from './store.js';

// The license workflows' side effects. Built once per worker with the pool and the signer injected; idempotent
// (the license of a request is stored once, under its idempotency key), because Temporal may run an activity again
// after a crash or a timeout. The private key never enters workflow code or history: only signed licenses do.

/** Failure types of the license activities. */
export const LicenseActivityFailureType = {
  /** No signing key is configured (LICENSE_SIGNING_KEYS): this deployment does not sell License products. */
  SigningNotConfigured: 'LICENSE_SIGNING_NOT_CONFIGURED',
} as const;

/** What the license activities need. */
export interface LicenseActivityDeps {
  readonly pool: Pool;
  /** Absent when no signing key is configured: issuing then fails for good (a repeat is still answered). */
  readonly signer: LicenseSigner | undefined;
}

/** The license activities. */
export function createLicenseActivities(deps: LicenseActivityDeps) {
  const { pool, signer } = deps;
  return {
    /** Returns the license already issued for the request, or signs and stores a new one within the quota. */
    async issueLicense(input: IssueLicenseInput): Promise<IssueLicenseOutcome> {
      return issueOrFindLicense(pool, input, async (claims) => {
        if (!signer) {
          throw ApplicationFailure.create({ type: LicenseActivityFailureType.SigningNotConfigured, message: 'no license signing key is configured (LICENSE_SIGNING_KEYS)', nonRetryable: true });
        }
        return { token: await signer.sign(claims), kid: signer.kid };
      });
    },

    /** Marks the licenses of a released instance released. */
    async releaseInstanceLicenses(input: { instanceId: string }): Promise<void> {
      await releaseLicenses(pool, input.instanceId);
    },
  };
}

/** The activities' type, for `proxyLocalActivities<LicenseActivities>()` in workflow code. */
export type LicenseActivities = ReturnType<typeof createLicenseActivities>;
