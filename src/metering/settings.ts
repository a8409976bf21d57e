// Metering's configuration parsers (read by src/platform/config.ts, which parses every setting once). Pure: no
// imports, no environment.

/** A package's terms where the order does not state them (per SKU, METERING_PACKAGES). */
export interface PackageTerms {
  /** The quota as a decimal string (≤ 4 decimals). */
  readonly quota: string;
  /** Service stops (the instance is frozen) when the quota is used up and no follow-on package is linked. */
  readonly stopWhenUsedUp: boolean;
  /** The repurchase / remainder-alert threshold: a percentage used, or an absolute remainder. */
  readonly threshold?: PackageThreshold;
  /**
   * Whether the buyer's auto-repurchase is expected when the threshold is crossed (default); false (`alert`): the
   * threshold only sends the buyer a remainder alert (余量告警).
   */
  readonly repurchase: boolean;
}

/** When a package counts as "running low". */
export type PackageThreshold = { readonly kind: 'PERCENT'; readonly value: string } | { readonly kind: 'REMAINING'; readonly value: string };

const DECIMAL = /^\d{1,12}(\.\d{1,4})?$/;

/**
 * Parses METERING_PACKAGES: `sku=quota[:stop|:continue][:threshold][:alert]` entries separated by commas, where
 * threshold is `80%` (crossed when 80 % of the quota is used) or a plain number (crossed when that much remains),
 * and `alert` makes the threshold a remainder alert instead of an expected auto-repurchase. Default kind: stop.
 * Example: `API-1K=1000:stop:80%,API-10K=10000:continue:500:alert`.
 */
export function parsePackageTerms(text: string): { packages: Record<string, PackageTerms>; problems: string[] } {
  const packages: Record<string, PackageTerms> = {};
  const problems: string[] = [];
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const bad = () => problems.push(`METERING_PACKAGES: "${item.slice(0, 80)}" is not sku=quota[:stop|:continue][:N%|:N][:alert]`);
    const eq = item.indexOf('=');
    if (eq <= 0) {
      bad();
      continue;
    }
    const sku = item.slice(0, eq).trim();
    const [quota, ...rest] = item.slice(eq + 1).split(':').map((s) => s.trim());
    if (!quota || !DECIMAL.test(quota) || Number(quota) <= 0 || rest.length > 3) {
      bad();
      continue;
    }
    let stopWhenUsedUp = true;
    let threshold: PackageThreshold | undefined;
    let repurchase = true;
    let ok = true;
    for (const part of rest) {
      if (part === 'stop') stopWhenUsedUp = true;
      else if (part === 'alert') repurchase = false;
      else if (part === 'continue') stopWhenUsedUp = false;
      else if (part.endsWith('%') && DECIMAL.test(part.slice(0, -1)) && Number(part.slice(0, -1)) > 0 && Number(part.slice(0, -1)) <= 100) threshold = { kind: 'PERCENT', value: part.slice(0, -1) };
      else if (DECIMAL.test(part)) threshold = { kind: 'REMAINING', value: part };
      else ok = false;
    }
    if (!ok) {
      bad();
      continue;
    }
    if (packages[sku]) problems.push(`METERING_PACKAGES: SKU ${sku} is listed twice`);
    packages[sku] = { quota, stopWhenUsedUp, ...(threshold ? { threshold } : {}), repurchase };
  }
  return { packages, problems };
}
