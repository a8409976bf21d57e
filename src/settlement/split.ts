import type { BillableEvent, CatalogueProduct, Minor, PlatformFeeTier, Ppm, SettlementSettings } from './contract.js';

// The revenue split and §10 eligibility as pure functions (no I/O, no clock): unit-tested, used by the
// activities that record lines and build statements.
//
// Arithmetic: integer minor units (fen) and integer rates (ppm), multiplied in BigInt and rounded once per line,
// half away from zero. Why not a decimal library: every quantity is an integer count of fen, the only operation
// that leaves the integers is "amount × rate", and rounding it once with a stated rule is all the precision a
// statement needs; half away from zero makes split(−x) = −split(x) exactly, so a refund nets its sale to zero.

/** round(a × num / den), half away from zero, for integers. */
export function mulDivRound(a: Minor, num: number, den: number): Minor {
  const n = BigInt(a) * BigInt(num);
  const d = BigInt(den);
  const neg = n < 0n !== d < 0n;
  const absN = n < 0n ? -n : n;
  const absD = d < 0n ? -d : d;
  const q = (absN * 2n + absD) / (absD * 2n);
  return Number(neg ? -q : q);
}

/** One line's split. gross = share + net; tax is the VAT contained in net (what the merchant invoices). */
export interface LineSplit {
  readonly grossMinor: Minor;
  /** The marketplace's share (revenue split) or the platform fee (general goods). */
  readonly shareMinor: Minor;
  readonly netMinor: Minor;
  readonly taxMinor: Minor;
}

/** Splits a (signed) gross amount at a share rate and a VAT rate (prices are tax-inclusive). */
export function splitLine(grossMinor: Minor, sharePpm: Ppm, taxRatePpm: Ppm): LineSplit {
  if (!Number.isSafeInteger(grossMinor)) throw new RangeError(`gross ${grossMinor} is not an integer amount of minor units`);
  const shareMinor = mulDivRound(grossMinor, sharePpm, 1_000_000);
  const netMinor = grossMinor - shareMinor;
  const netExTax = mulDivRound(netMinor, 1_000_000, 1_000_000 + taxRatePpm);
  return { grossMinor, shareMinor, netMinor, taxMinor: netMinor - netExTax };
}

/** The platform-fee rate for a product's monthly GMV: the first tier whose bound it does not exceed. */
export function platformFeeRate(tiers: readonly PlatformFeeTier[], monthlyGmvMinor: Minor): Ppm {
  for (const t of tiers) if (t.upToMinor === undefined || monthlyGmvMinor <= t.upToMinor) return t.ratePpm;
  return tiers[tiers.length - 1]?.ratePpm ?? 0;
}

/** The catalogue entry of a product; unlisted products are general goods at the default tax rate. */
export function productOf(settings: Pick<SettlementSettings, 'products' | 'defaultTaxRatePpm'>, productId: string): CatalogueProduct {
  return settings.products[productId] ?? { goods: 'GENERAL', taxRatePpm: settings.defaultTaxRatePpm, marketplaceSharePpm: 0, apiProduct: false };
}

/** Whether and from when an event may enter a statement (§10). */
export type Eligibility = { readonly eligible: true; readonly at: string } | { readonly eligible: false; readonly reason: string; readonly never?: boolean };

/**
 * §10: paid; effective (renewals: from their effective date); supervision not involved or completed; API products
 * at activation; test orders never. The line enters the statement of the month in which the last condition held.
 */
export function eligibilityOf(e: BillableEvent, product: Pick<CatalogueProduct, 'apiProduct'>): Eligibility {
  if (e.testOrder) return { eligible: false, reason: 'test orders are never settled', never: true };
  if (e.paidAt === undefined) return { eligible: false, reason: 'not paid' };
  // Renewals do not go through supervision (§9, [S73]); refunds and downgrades follow their order.
  if (e.kind === 'PURCHASE' && e.supervision === 'PENDING') return { eligible: false, reason: 'supervision not completed' };
  if (product.apiProduct && e.activatedAt === undefined) return { eligible: false, reason: 'API product not activated' };
  const times = [e.paidAt, e.effectiveAt, ...(e.kind === 'PURCHASE' && e.supervision === 'COMPLETED' && e.supervisionCompletedAt ? [e.supervisionCompletedAt] : []), ...(product.apiProduct && e.activatedAt ? [e.activatedAt] : [])];
  const at = times.reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
  return { eligible: true, at: new Date(at).toISOString() };
}

/** The billing period (YYYY-MM, UTC) an eligibility time falls in. */
export function periodOf(at: string | Date): string {
  const d = typeof at === 'string' ? new Date(at) : at;
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Start of the month after a period (exclusive end of the period), ISO. */
export function periodEnd(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 1)).toISOString();
}

/** Σ of splits, exact. */
export function sumSplits(splits: readonly LineSplit[]): LineSplit {
  return splits.reduce((a, s) => ({ grossMinor: a.grossMinor + s.grossMinor, shareMinor: a.shareMinor + s.shareMinor, netMinor: a.netMinor + s.netMinor, taxMinor: a.taxMinor + s.taxMinor }), {
    grossMinor: 0,
    shareMinor: 0,
    netMinor: 0,
    taxMinor: 0,
  });
}

/** Ledger accounts (debits positive, credits negative). */
export const LedgerAccount = {
  MarketplaceReceivable: 'MARKETPLACE_RECEIVABLE',
  Revenue: 'REVENUE',
  CommissionExpense: 'COMMISSION_EXPENSE',
  VatPayable: 'VAT_PAYABLE',
  Bank: 'BANK',
} as const;

/** A journal kind: with (line, period) the idempotency key of a journal. */
export type JournalKind = 'SALE' | 'MARKETPLACE_SHARE' | 'PLATFORM_FEE' | 'OUTPUT_VAT' | 'PAYOUT' | 'WRITE_OFF';

/** One posting: one leg of a journal. */
export interface Posting {
  readonly lineKey: string;
  readonly period: string;
  readonly kind: JournalKind;
  readonly account: string;
  readonly amountMinor: Minor;
}

/**
 * The journals a line's split posts when its statement is built: the sale (receivable from the marketplace against
 * revenue), the marketplace's share or platform fee (an expense against the receivable) and the VAT in the net
 * (revenue against VAT payable). Each journal sums to zero; zero journals are left out.
 */
export function statementJournals(lineKey: string, period: string, s: LineSplit, shareKind: 'MARKETPLACE_SHARE' | 'PLATFORM_FEE'): Posting[] {
  const out: Posting[] = [];
  const pair = (kind: JournalKind, debit: string, credit: string, amount: Minor) => {
    if (amount === 0) return;
    out.push({ lineKey, period, kind, account: debit, amountMinor: amount }, { lineKey, period, kind, account: credit, amountMinor: -amount });
  };
  pair('SALE', LedgerAccount.MarketplaceReceivable, LedgerAccount.Revenue, s.grossMinor);
  pair(shareKind, LedgerAccount.CommissionExpense, LedgerAccount.MarketplaceReceivable, s.shareMinor);
  pair('OUTPUT_VAT', LedgerAccount.Revenue, LedgerAccount.VatPayable, s.taxMinor);
  return out;
}

/** The payout journal of a line: the marketplace pays the net into the bank account. */
export function payoutJournal(lineKey: string, period: string, netMinor: Minor): Posting[] {
  if (netMinor === 0) return [];
  return [
    { lineKey, period, kind: 'PAYOUT', account: LedgerAccount.Bank, amountMinor: netMinor },
    { lineKey, period, kind: 'PAYOUT', account: LedgerAccount.MarketplaceReceivable, amountMinor: -netMinor },
  ];
}
