import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { MarketplaceApiError, MarketplaceErrorCode } from '../marketplace-api/open-api-call.js';
import type { LicenseCodeClient, MarketplaceLicense } from '../marketplace-api/license-code-client.js';
import { createSupervisionService } from '../supervision/service.js';
import { recordLicenseCode } from './code-store.js';
import { LicenseCodeFailureType, type LicenseCodeFacts, type LicenseCodeState } from './contract.js';
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
  /** license/activate and license/heartbeat (License 授权码 2.0). */
  readonly licenseCodes: LicenseCodeClient;
  /** The Temporal client (for the supervision port); by default the activity context's. */
  readonly client?: () => Client;
}

/** A code refused by the marketplace fails for good; everything else (outages) is retried by Temporal. */
async function withCodeFailures<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MarketplaceApiError && err.code === MarketplaceErrorCode.LicenseCodeRefused) {
      throw ApplicationFailure.create({ type: LicenseCodeFailureType.Refused, message: err.message, nonRetryable: true });
    }
    if (err instanceof MarketplaceApiError) throw ApplicationFailure.create({ type: err.code, message: err.message });
    throw err;
  }
}

const factsOf = (l: MarketplaceLicense): LicenseCodeFacts => {
  const { license: _code, status: _status, ...facts } = l;
  return facts;
};

/** The license activities. */
export function createLicenseActivities(deps: LicenseActivityDeps) {
  const { pool, signer, licenseCodes } = deps;
  const client = deps.client ?? (() => Context.current().client);
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

    /** Activates a code with the marketplace (license/activate); what the marketplace says about it. */
    async activateLicenseCode(input: { code: string; deviceFingerprint?: string }): Promise<LicenseCodeFacts> {
      return factsOf(await withCodeFailures(() => licenseCodes.activate(input.code, input.deviceFingerprint)));
    },

    /** Reports a code alive (license/heartbeat); a refusal is a result here (recorded), not a failure. */
    async heartbeatLicenseCode(input: { code: string; deviceFingerprint?: string }): Promise<{ result: string; facts?: LicenseCodeFacts }> {
      try {
        return { result: 'OK', facts: factsOf(await withCodeFailures(() => licenseCodes.heartbeat(input.code, input.deviceFingerprint))) };
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === LicenseCodeFailureType.Refused) return { result: `REFUSED: ${err.message.slice(0, 200)}` };
        throw err;
      }
    },

    /**
     * The supervision seam (§7.2, §9): activating a supervised order's code passes its supervision ("implement"
     * done, validity from the activation). Answers the supervision's outcome (`no-supervision` for most codes).
     */
    async passLicenseSupervision(input: { orderId: string; orderLineId?: string; code: string; at: string }): Promise<string> {
      const supervision = createSupervisionService({ client: client(), pool });
      const ref = { orderId: input.orderId, ...(input.orderLineId ? { orderLineId: input.orderLineId } : {}) };
      const r = await supervision.act(ref, { type: 'ACTIVATE_LICENSE', source: 'MARKETPLACE', eventId: `license-code-activated:${input.code}`, at: input.at });
      return r.outcome;
    },

    /** Writes a code's state to the read model (idempotent on its seq). */
    async recordLicenseCode(input: { workflowId: string; state: LicenseCodeState }): Promise<void> {
      await recordLicenseCode(pool, input.workflowId, input.state);
    },

    /** Marks the licenses of a released instance released. */
    async releaseInstanceLicenses(input: { instanceId: string }): Promise<void> {
      await releaseLicenses(pool, input.instanceId);
    },
  };
}

/** The activities' type, for `proxyLocalActivities<LicenseActivities>()` in workflow code. */
export type LicenseActivities = ReturnType<typeof createLicenseActivities>;
