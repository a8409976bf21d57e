import type { OrderDetails } from '../orders/contract.js';
import type { LicenseLedger } from './contract.js';

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
