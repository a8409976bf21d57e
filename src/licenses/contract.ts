import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { OrderWorkflowInput } from '../orders/contract.js';
import type { MarketplaceLicense } from '../marketplace-api/license-code-client.js';

// The licenses context's contract (issue #13): the claims every license carries, the workflow ids and inputs of
// license instances and activated license codes, and every message they accept. Shared by the API and the
// workflows; bundle-safe (no Node modules). Message and type names are wire contracts: never rename them while runs
// are open.

/** Which product family issued a license. */
export type LicenseFamily = 'ONLINE_LICENSE' | 'LICENSE_V1' | 'LICENSE_CODE';

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

// ---- License instances (Online License and V1 License): order workflows that also issue licenses --------------

/** The workflow type of a license instance: the order lifecycle plus the license ledger. */
export const LICENSE_INSTANCE_WORKFLOW_TYPE = 'licenseInstanceWorkflow';

/** Workflow id of a license instance: its order workflow id, prefixed (readable in the Temporal UI). */
export function licenseInstanceWorkflowId(orderWorkflowId: string): string {
  return `license-${orderWorkflowId}`;
}

/** The ledger of a license instance: what its quota is made of and how much of it is used. Carried across runs. */
export interface LicenseLedger {
  readonly family: LicenseFamily;
  /**
   * linearValue per effective order (purchase, upgrades, renewals with change) that said one; the quota is their
   * sum, or 1 when none did (§7.1: UNCONFIRMED; see quotaOf).
   */
  readonly quotaByOrder: Readonly<Record<string, number>>;
  /** Licenses issued and not released (the read model's count, as the last issue saw it). */
  readonly issued: number;
  /** The latest licensed fingerprints (as in the LicenseFingerprints search attribute), newest first. */
  readonly fingerprints: readonly string[];
}

/** A license request: Online License getLicenseAsync, or the one license of a V1 order (eventId = its orderId). */
export interface LicenseRequest {
  readonly eventId: string;
  readonly deviceFingerprint?: string;
  /** ISO-8601. */
  readonly effectiveTime: string;
  /** ISO-8601; absent: the instance's expiry, if it has one. */
  readonly expireTime?: string;
  readonly testOrder: boolean;
}

/** The result codes a license request ends with (the API maps them onto the wire). */
export type LicenseResultCode = '000000' | '000003' | '000900' | '000901';

/** The answer to a license request. */
export interface LicenseAnswer {
  readonly code: LicenseResultCode;
  readonly instanceId: string;
  /** The compact JWS, for 000000. */
  readonly license?: string;
  readonly licenseId?: string;
  /** True when this request issued it (false: the same request was answered before). */
  readonly issuedNow?: boolean;
  readonly message?: string;
}

/** Issue (or return again) the license for one request; runs after every operation that arrived before it. */
export const issueLicenseUpdate = defineUpdate<LicenseAnswer, [LicenseRequest]>('issueLicense');
/** The instance's ledger. */
export const getLicenseLedgerQuery = defineQuery<LicenseLedger>('getLicenseLedger');

/**
 * The input of a license instance: an order's (started by the order service's purchase, like any order), plus its
 * ledger when continuing as new. The family follows from the interface: V2 is Online License, V1 the old License.
 */
export interface LicenseInstanceInput extends OrderWorkflowInput {
  readonly ledger?: LicenseLedger;
}

/** The license family of an order interface version. */
export function licenseFamilyOf(interfaceVersion: OrderWorkflowInput['interfaceVersion']): LicenseFamily {
  return interfaceVersion === 'V1' ? 'LICENSE_V1' : 'ONLINE_LICENSE';
}

const LICENSE_INSTANCE_PREFIX = licenseInstanceWorkflowId('');

/** True for the workflow id of a license instance (the read model holds orders and license instances alike). */
export function isLicenseInstanceWorkflowId(workflowId: string): boolean {
  return workflowId.startsWith(LICENSE_INSTANCE_PREFIX);
}

// ---- Activated license codes (License 授权码 2.0) ----------------------------------------------------------------

/** The workflow type of an activated license code. */
export const LICENSE_CODE_WORKFLOW_TYPE = 'licenseCodeWorkflow';

/** Workflow id of a license code (readable in the Temporal UI; the code is the marketplace's id of it). */
export function licenseCodeWorkflowId(code: string): string {
  return `license-code-${code}`;
}

/** A code's phase: activated and usable, frozen by the marketplace, or released. */
export type LicenseCodePhase = 'ACTIVE' | 'FROZEN' | 'RELEASED';

/** What the marketplace said about the code at activation (license/activate), updated by refreshes. */
export type LicenseCodeFacts = Omit<MarketplaceLicense, 'license' | 'status'>;

/** The state of an activated code: small, typed, carried across continue-as-new. */
export interface LicenseCodeState {
  readonly code: string;
  readonly phase: LicenseCodePhase;
  readonly facts: LicenseCodeFacts;
  readonly deviceFingerprint?: string;
  readonly testOrder: boolean;
  readonly activatedAt: string;
  /** The license of the code's current term (reissued when its expiry changes), and how many terms there were. */
  readonly license?: { readonly licenseId: string; readonly token: string; readonly expireTime?: string };
  readonly terms: number;
  /** Order ids of refreshes already applied (bounded): repeats are no-ops. */
  readonly appliedOrderIds: readonly string[];
  readonly lastHeartbeat?: { readonly at: string; readonly result: string };
  /** What the order's supervision said to the activation (§9: activation passes a supervised order's supervision). */
  readonly supervision?: string;
  /** Monotonic transition counter; the read model ignores writes with an older seq. */
  readonly seq: number;
}

/** What a license code workflow is started with (by the first activation, with update-with-start). */
export interface LicenseCodeInput {
  readonly code: string;
  readonly testOrder: boolean;
  /** Set when continuing as new. */
  readonly carried?: LicenseCodeState;
  /** Continue as new once history reaches this many events (tests). */
  readonly historyEventLimit?: number;
}

/** The merchant's client software activating the code, or reporting it alive. */
export interface CodeClientRequest {
  readonly deviceFingerprint?: string;
}

/** What the client software is told. */
export interface CodeClientAnswer {
  /** ACTIVE: here is the license. REFUSED: the marketplace refused the code. OTHER_DEVICE: active on another device. */
  readonly outcome: 'ACTIVE' | 'REFUSED' | 'OTHER_DEVICE' | LicenseCodePhase;
  readonly license?: string;
  readonly expireTime?: string;
  readonly message?: string;
}

/** refreshLicenseCode (§7.2): renewal or renewal refund of the code's order. */
export interface RefreshCodeRequest {
  readonly scene: 'RENEWAL' | 'UNSUBSCRIBE_RENEWAL_PERIOD';
  readonly orderId: string;
  readonly orderLineId: string;
  /** ISO-8601. */
  readonly expireTime: string;
  readonly productId?: string;
  readonly testOrder: boolean;
}

/** updateLicenseCodeStatus (§7.2). */
export interface CodeStatusRequest {
  readonly status: 'FREEZE' | 'UNFREEZE';
  readonly testOrder: boolean;
}

/** releaseLicenseCode (§7.2). */
export interface ReleaseCodeRequest {
  readonly orderId?: string;
  readonly testOrder: boolean;
}

/** The answer to a marketplace operation on a code. */
export interface CodeOperationResult {
  readonly code: '000000' | '000003';
  readonly phase: LicenseCodePhase;
  readonly message?: string;
}

/** Activate the code (first time: through license/activate), or return what the device was given. */
export const activateCodeUpdate = defineUpdate<CodeClientAnswer, [CodeClientRequest]>('activateCode');
/** The client software reports the code alive (license/heartbeat); answered with the current license. */
export const heartbeatCodeUpdate = defineUpdate<CodeClientAnswer, [CodeClientRequest]>('heartbeatCode');
/** Apply a renewal or renewal refund. */
export const refreshCodeUpdate = defineUpdate<CodeOperationResult, [RefreshCodeRequest]>('refreshCode');
/** Freeze or unfreeze. */
export const setCodeStatusUpdate = defineUpdate<CodeOperationResult, [CodeStatusRequest]>('setCodeStatus');
/** Release the code and end its workflow. */
export const releaseCodeUpdate = defineUpdate<CodeOperationResult, [ReleaseCodeRequest]>('releaseCode');
/** The code's state (undefined before its activation finished). */
export const getLicenseCodeQuery = defineQuery<LicenseCodeState | undefined>('getLicenseCode');

/** Failure types of the license-code activities, matched by the workflow. */
export const LicenseCodeFailureType = {
  /** license/activate or license/heartbeat refused the code: retrying will not help. */
  Refused: 'MARKETPLACE_LICENSE_CODE_REFUSED',
} as const;
