import { z } from 'zod';
import { GOODS_TYPES, type CatalogueProduct, type PlatformFeeTier, type SettlementSettings } from './contract.js';

// The settlement catalogue's parser (SETTLEMENT_CATALOGUE, JSON), called once by config.ts so that start-up lists
// every problem at once. Decimal text ("0.06", "100000.00") is converted to integers exactly, by its digits, never
// through floating point: 0.07 * 1e6 in floating point is 70000.00000000001.

/**
 * Defaults so that `npm start` works with no configuration: every product general goods at 6 % VAT, and platform-fee
 * tiers by monthly GMV. The marketplace's tier table is UNCONFIRMED (spec §10, [S82]): these are placeholders to be
 * replaced with the merchant's contract figures.
 */
export const DEFAULT_PLATFORM_FEE_TIERS: readonly PlatformFeeTier[] = [
  { upToMinor: 10_000_000, ratePpm: 50_000 }, // up to ¥100,000 a month: 5 %
  { upToMinor: 100_000_000, ratePpm: 30_000 }, // up to ¥1,000,000: 3 %
  { ratePpm: 10_000 }, // above: 1 %
];
export const DEFAULT_TAX_RATE_PPM = 60_000;

/** Parses a non-negative decimal with at most `scale` fraction digits into an integer scaled by 10^scale. */
export function decimalToScaled(text: string, scale: number): number | undefined {
  const m = /^(\d{1,12})(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const frac = m[2] ?? '';
  if (frac.length > scale) return undefined;
  return Number(m[1]) * 10 ** scale + Number(frac.padEnd(scale, '0') || '0');
}

const decimal = z.union([z.string(), z.number().transform((n) => String(n))]);

const Rate = decimal.transform((v, ctx) => {
  const ppm = decimalToScaled(v, 6);
  if (ppm === undefined || ppm > 1_000_000) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a rate between 0 and 1 with at most 6 decimals (6 % is "0.06")` });
    return z.NEVER;
  }
  return ppm;
});

const Amount = decimal.transform((v, ctx) => {
  const minor = decimalToScaled(v, 2);
  if (minor === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not an amount in yuan with at most 2 decimals` });
    return z.NEVER;
  }
  return minor;
});

const CatalogueSchema = z
  .object({
    invoicingEntity: z.string().trim().min(1).default('Development Merchant Co., Ltd.'),
    defaultTaxRate: Rate.optional(),
    products: z
      .record(
        z.string().min(1),
        z
          .object({
            goods: z.enum(GOODS_TYPES as [string, ...string[]]),
            taxRate: Rate,
            marketplaceShare: Rate.optional(),
            apiProduct: z.boolean().default(false),
          })
          .strict(),
      )
      .default({}),
    jointOperationCertifications: z
      .array(
        z
          .object({
            id: z.string().min(1),
            status: z.enum(['PASSED', 'PENDING', 'REJECTED']),
            companyEntity: z.string().trim().min(1),
            productIds: z.array(z.string().min(1)).min(1),
          })
          .strict(),
      )
      .default([]),
    platformFeeTiers: z.array(z.object({ upToMonthlyGmv: Amount.optional(), rate: Rate }).strict()).min(1).optional(),
    invoiceTemplate: z
      .object({
        kind: z.enum(['DIGITAL_SPECIAL', 'DIGITAL_ORDINARY']),
        title: z.string().trim().min(1),
        taxpayerId: z.string().trim().regex(/^[0-9A-Z]{15,20}$/, 'a unified social credit code (15–20 digits or capitals)'),
        email: z.email(),
        address: z.string().optional(),
        bank: z.string().optional(),
      })
      .strict()
      .optional(),
    holidays: z.array(z.iso.date()).default([]),
  })
  .strict();

/** Parses the catalogue JSON (empty: the defaults); every problem is listed, prefixed with where it is. */
export function parseSettlementCatalogue(text: string): { settings: SettlementSettings; problems: string[] } {
  let raw: unknown = {};
  if (text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return { settings: defaultSettings(), problems: [`not JSON (${(err as Error).message})`] };
    }
  }
  const parsed = CatalogueSchema.safeParse(raw);
  if (!parsed.success) {
    return { settings: defaultSettings(), problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  }
  const c = parsed.data;
  const problems: string[] = [];
  const products: Record<string, CatalogueProduct> = {};
  for (const [productId, p] of Object.entries(c.products)) {
    const goods = p.goods as CatalogueProduct['goods'];
    if (goods !== 'GENERAL' && p.marketplaceShare === undefined) {
      problems.push(`products.${productId}: ${goods} goods are revenue-split: marketplaceShare is required`);
    }
    if (goods === 'JOINT_OPERATION') {
      // 联营商品发布: only a passed certification allows a joint-operation product, and its company entity must be
      // the one that publishes (and invoices).
      const certs = c.jointOperationCertifications.filter((x) => x.productIds.includes(productId));
      const passed = certs.filter((x) => x.status === 'PASSED');
      if (certs.length === 0) {
        problems.push(`products.${productId}: joint-operation product without a recorded joint-operation certification (联营认证)`);
      } else if (passed.length === 0) {
        problems.push(`products.${productId}: joint-operation certification ${certs.map((x) => `${x.id} is ${x.status}`).join(', ')}; only a PASSED certification allows joint-operation goods`);
      } else if (!passed.some((x) => x.companyEntity === c.invoicingEntity)) {
        problems.push(
          `products.${productId}: joint-operation certification ${passed.map((x) => x.id).join(', ')} names company entity "${passed[0]!.companyEntity}", not the invoicing entity "${c.invoicingEntity}"`,
        );
      }
    }
    products[productId] = { goods, taxRatePpm: p.taxRate, marketplaceSharePpm: p.marketplaceShare ?? 0, apiProduct: p.apiProduct };
  }
  const tiers: PlatformFeeTier[] = c.platformFeeTiers
    ? c.platformFeeTiers.map((t) => ({ ...(t.upToMonthlyGmv !== undefined ? { upToMinor: t.upToMonthlyGmv } : {}), ratePpm: t.rate }))
    : [...DEFAULT_PLATFORM_FEE_TIERS];
  tiers.forEach((t, i) => {
    const last = i === tiers.length - 1;
    if (last && t.upToMinor !== undefined) problems.push(`platformFeeTiers.${i}: the last tier must have no upToMonthlyGmv (it covers every GMV above)`);
    if (!last && t.upToMinor === undefined) problems.push(`platformFeeTiers.${i}: only the last tier may omit upToMonthlyGmv`);
    const prev = tiers[i - 1]?.upToMinor;
    if (t.upToMinor !== undefined && prev !== undefined && t.upToMinor <= prev) problems.push(`platformFeeTiers.${i}: upToMonthlyGmv must ascend`);
  });
  const settings: SettlementSettings = {
    invoicingEntity: c.invoicingEntity,
    products,
    defaultTaxRatePpm: c.defaultTaxRate ?? DEFAULT_TAX_RATE_PPM,
    certifications: c.jointOperationCertifications.map((x) => ({ ...x, productIds: [...x.productIds] })),
    platformFeeTiers: tiers,
    ...(c.invoiceTemplate
      ? {
          invoiceTemplate: {
            kind: c.invoiceTemplate.kind,
            title: c.invoiceTemplate.title,
            taxpayerId: c.invoiceTemplate.taxpayerId,
            email: c.invoiceTemplate.email,
            ...(c.invoiceTemplate.address !== undefined ? { address: c.invoiceTemplate.address } : {}),
            ...(c.invoiceTemplate.bank !== undefined ? { bank: c.invoiceTemplate.bank } : {}),
          },
        }
      : {}),
    holidays: [...c.holidays].sort(),
  };
  return { settings, problems };
}

function defaultSettings(): SettlementSettings {
  return parseSettlementCatalogue('').settings;
}
