import type { OrderDetails } from '../orders/contract.js';
import type { CodeClientAnswer, CodeOperationResult, CodeStatusRequest, LicenseCodeFacts, LicenseCodeState, LicenseLedger, RefreshCodeRequest } from './contract.js';

// The license instance's own state beside its order's: the ledger and its pure rules (no Temporal, no I/O;
// unit-tested directly; the workflow applies them).

/** How many fingerprints the ledger (and the LicenseFingerprints search attribute) keeps. */
export const LEDGER_FINGERPRINTS = 20;

/** The ledger a new license instance starts with. */
export function emptyLedger(family: LicenseLedger['family']): LicenseLedger {
  return { family, quotaByOrder: {}, issued: 0, fingerprints: [] };
}

/** The quota of an instance: the sum of linearValue over its effective orders, 1 when none states one. */
export function quotaOf(ledger: Pick<LicenseLedger, 'quotaByOrder'>): number {
  const values = Object.values(ledger.quotaByOrder);
  // UNCONFIRMED (issue #13, §7.1): "the sum of linearValue over its effective orders (default 1)". A change order
  // (upgrade, renewal with change) is read as adding its linearValue (the tolerant reading: a customer never gets
  // fewer devices than an order of theirs states); a plain renewal adds nothing (it extends time, not devices).
  return values.length === 0 ? 1 : values.reduce((a, b) => a + b, 0);
}

/** The number of licenses an order states (its linearValue, whole licenses only), if any. */
export function linearValueOf(details: OrderDetails | undefined): number | undefined {
  const raw = details?.spec['linearValue'];
  const n = typeof raw === 'string' ? Number(raw) : raw;
  return typeof n === 'number' && Number.isFinite(n) && n >= 1 ? Math.floor(n) : undefined;
}

/** Records an effective order's contribution to the quota (an order that states no linearValue contributes none). */
export function withEffectiveOrder(ledger: LicenseLedger, orderId: string, details: OrderDetails | undefined): LicenseLedger {
  const value = linearValueOf(details);
  if (value === undefined) return ledger;
  return { ...ledger, quotaByOrder: { ...ledger.quotaByOrder, [orderId]: value } };
}

/** Records an issue: the count the read model reported and the licensed device (newest first, bounded). */
export function withIssued(ledger: LicenseLedger, issued: number, fingerprintLabel: string | undefined): LicenseLedger {
  const fingerprints = fingerprintLabel === undefined ? ledger.fingerprints : [fingerprintLabel, ...ledger.fingerprints.filter((f) => f !== fingerprintLabel)].slice(0, LEDGER_FINGERPRINTS);
  return { ...ledger, issued, fingerprints };
}

/** A suffix for the Temporal UI's current details: how much of the quota is used, and the latest devices. */
export function describeLedger(ledger: LicenseLedger): string {
  const latest = ledger.fingerprints.slice(0, 3).map((f) => `\`${f}\``);
  return ` · licenses ${ledger.issued}/${quotaOf(ledger)}${latest.length ? ` · latest devices ${latest.join(', ')}` : ''}`;
}

// ---- Activated license codes: pure transitions (the code workflow applies them and performs what they ask for) --

/** How many applied order ids a code remembers for idempotency (renewals are at most monthly). */
export const CODE_APPLIED_ORDER_MEMORY = 100;

/** The state right after the marketplace accepted the activation. */
export function activatedCodeState(code: string, testOrder: boolean, facts: LicenseCodeFacts, deviceFingerprint: string | undefined, at: string): LicenseCodeState {
  return { code, phase: 'ACTIVE', facts, ...(deviceFingerprint ? { deviceFingerprint } : {}), testOrder, activatedAt: at, terms: 0, appliedOrderIds: [], seq: 0 };
}

/** True when the client must get a new license: none yet, or the code's expiry moved since it was issued. */
export function needsNewLicense(s: LicenseCodeState): boolean {
  return s.phase === 'ACTIVE' && (s.license === undefined || s.license.expireTime !== s.facts.expireTime);
}

/** A code is bound to the device that activated it; a request naming another device is refused. */
export function isOtherDevice(s: LicenseCodeState, deviceFingerprint: string | undefined): boolean {
  return s.deviceFingerprint !== undefined && deviceFingerprint !== undefined && deviceFingerprint !== s.deviceFingerprint;
}

/** What the client software is told in the code's current state (the license only while ACTIVE). */
export function clientAnswer(s: LicenseCodeState): CodeClientAnswer {
  const expiry = s.facts.expireTime ? { expireTime: s.facts.expireTime } : {};
  if (s.phase !== 'ACTIVE' || !s.license) return { outcome: s.phase, ...expiry, message: `license code ${s.phase.toLowerCase()}` };
  return { outcome: 'ACTIVE', license: s.license.token, ...expiry };
}

/** Applies a renewal or renewal refund (a repeat of the same order changes nothing). */
export function applyCodeRefresh(s: LicenseCodeState, req: RefreshCodeRequest): LicenseCodeState {
  if (s.appliedOrderIds.includes(req.orderId)) return s;
  const facts: LicenseCodeFacts = { ...s.facts, expireTime: req.expireTime, ...(req.productId ? { productId: req.productId } : {}) };
  return { ...s, facts, appliedOrderIds: [...s.appliedOrderIds, req.orderId].slice(-CODE_APPLIED_ORDER_MEMORY) };
}

/** Applies a freeze or unfreeze (of a code that is not released). */
export function applyCodeStatus(s: LicenseCodeState, req: CodeStatusRequest): LicenseCodeState {
  return { ...s, phase: req.status === 'FREEZE' ? 'FROZEN' : 'ACTIVE' };
}

/** The answer to a marketplace operation on a released code: debug calls succeed (dial tests replay them). */
export function releasedCodeAnswer(s: LicenseCodeState, testOrder: boolean): CodeOperationResult {
  // As for SaaS instances (orders/state.ts goneAnswer): UNCONFIRMED how dial tests treat a released debug code.
  if (testOrder || s.testOrder) return { code: '000000', phase: s.phase, message: 'test order: no effect' };
  return { code: '000003', phase: s.phase, message: 'license code released' };
}

/** One line for the Temporal UI's current details. */
export function describeCode(s: LicenseCodeState): string {
  const f = s.facts;
  const parts = [
    `**${s.phase}** license code \`${s.code}\``,
    f.orderId ? `order ${f.orderId}${f.orderLineId ? ` line ${f.orderLineId}` : ''}` : undefined,
    f.productId ? `product ${f.productId}` : undefined,
    f.expireTime ? `expires ${f.expireTime}` : undefined,
    s.deviceFingerprint ? `device \`${s.deviceFingerprint.slice(0, 64)}\`` : undefined,
    s.lastHeartbeat ? `last heartbeat ${s.lastHeartbeat.at} (${s.lastHeartbeat.result})` : undefined,
    s.supervision ? `supervision: ${s.supervision}` : undefined,
    s.testOrder ? 'TEST ORDER' : undefined,
  ];
  return parts.filter(Boolean).join(' · ');
}
