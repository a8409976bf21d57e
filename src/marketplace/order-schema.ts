import { z } from 'zod';
import { parseCompactUtc } from '../koogallery/index.js';

// The Query Order answer (spec §4.1), parsed tolerantly: unknown fields are dropped, null counts as absent,
// numbers are accepted where strings are documented and the other way round for amounts and period counts.
// Only a few order-line fields are confirmed by the docs; the rest follow the 2022 payload (UNCONFIRMED).

/** Every documented Query Order `orderType`. */
export const MARKETPLACE_ORDER_TYPES = ['NEW', 'TRIAL', 'TRIAL_TO_FORMAL', 'UNSUBSCRIBE', 'RENEW', 'CHANGE'] as const;
/** A Query Order `orderType`. */
export type MarketplaceOrderType = (typeof MARKETPLACE_ORDER_TYPES)[number];

/** Every documented order-line `chargingMode`. */
export const MARKETPLACE_CHARGING_MODES = ['PERIOD', 'ON_DEMAND', 'ONE_TIME', 'ON_DEMAND_PKG'] as const;
/** An order-line `chargingMode`. */
export type MarketplaceChargingMode = (typeof MARKETPLACE_CHARGING_MODES)[number];

/** One product (spec) on an order line. */
export interface MarketplaceProduct {
  skuCode: string;
  productId: string;
  linearValue?: number;
  productName?: string;
}

/** One order line; times stay in the wire format `yyyyMMddHHmmss` so the value is JSON-safe for workflows. */
export interface MarketplaceOrderLine {
  orderLineId: string;
  chargingMode: MarketplaceChargingMode;
  expireTime?: string;
  /** Lower-cased (`year`, `month`, `day`, ...); the wire casing is UNCONFIRMED. */
  periodType?: string;
  periodNumber?: number;
  /** Decimal string (may be negative for refunds), kept as text to avoid float rounding. */
  orderAmount?: string;
  productInfo: MarketplaceProduct[];
}

/** The buyer as Query Order reports it. */
export interface MarketplaceBuyer {
  customerId: string;
  customerName?: string;
  userId?: string;
  userName?: string;
  mobilePhone?: string;
  email?: string;
}

/** A Query Order answer normalised, with the order line we asked for picked out as `line`. */
export interface MarketplaceOrder {
  orderId: string;
  orderType: MarketplaceOrderType;
  /** Order placement time `yyyyMMddHHmmss` (not the effective time); tolerated as absent. */
  createTime?: string;
  line: MarketplaceOrderLine;
  lines: MarketplaceOrderLine[];
  buyerInfo?: MarketplaceBuyer;
  extendParams: Array<{ name: string; value: string }>;
}

const absent = (v: unknown): boolean => v === null || v === undefined || v === '';
const numberToString = (v: unknown): unknown => (typeof v === 'number' && Number.isFinite(v) ? String(v) : v);

const requiredText = z.preprocess(numberToString, z.string().trim().min(1));
const optionalText = z.preprocess((v) => (absent(v) ? undefined : numberToString(v)), z.string().optional());
const upperEnum = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(values));
const compactTime = z.preprocess(
  (v) => (absent(v) ? undefined : numberToString(v)),
  z
    .string()
    .trim()
    // 17-digit values have been seen in examples (spec §4.3); parseCompactUtc accepts both.
    .refine((s) => parseCompactUtc(s) !== undefined, { error: 'must be yyyyMMddHHmmss' })
    .optional(),
);
const optionalInteger = z.preprocess(
  (v) => (absent(v) ? undefined : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
  z.number().int().optional(),
);
const optionalNumber = z.preprocess(
  (v) => (absent(v) ? undefined : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v),
  z.number().optional(),
);
const optionalDecimal = z.preprocess(
  (v) => (absent(v) ? undefined : typeof v === 'string' ? v.trim() : numberToString(v)),
  z
    .string()
    .regex(/^[-+]?\d+(\.\d+)?$/, { error: 'must be a decimal amount' })
    .optional(),
);
/** A single object where a list is documented is read as a one-item list. */
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (absent(v) ? [] : Array.isArray(v) ? v : [v]), z.array(item));

const productSchema = z.object({
  skuCode: requiredText,
  productId: requiredText,
  linearValue: optionalNumber,
  productName: optionalText,
});

const orderLineSchema = z.object({
  orderLineId: requiredText,
  chargingMode: upperEnum(MARKETPLACE_CHARGING_MODES),
  expireTime: compactTime,
  periodType: z.preprocess(
    (v) => (absent(v) ? undefined : typeof v === 'string' ? v.trim().toLowerCase() : v),
    z.string().optional(),
  ),
  periodNumber: optionalInteger,
  orderAmount: optionalDecimal,
  productInfo: listOf(productSchema),
});

const buyerSchema = z.object({
  customerId: requiredText,
  customerName: optionalText,
  userId: optionalText,
  userName: optionalText,
  mobilePhone: optionalText,
  email: optionalText,
});

const extendParamSchema = z.object({
  name: requiredText,
  value: z.preprocess((v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)), z.string()),
});

/** Zod schema of `orderInfo`. */
export const orderInfoSchema = z.object({
  orderId: requiredText,
  orderType: upperEnum(MARKETPLACE_ORDER_TYPES),
  createTime: compactTime,
  orderLine: listOf(orderLineSchema),
  buyerInfo: z.preprocess((v) => (absent(v) ? undefined : v), buyerSchema.optional()),
  extendParams: listOf(extendParamSchema),
});

/** Zod schema of the whole answer; `orderInfo` is checked separately so a failure answer needs none. */
export const queryOrderEnvelopeSchema = z.object({
  resultCode: requiredText,
  resultMsg: optionalText,
  orderInfo: z.unknown().optional(),
});

/** Parsed `orderInfo` before the line is picked. */
export type ParsedOrderInfo = z.infer<typeof orderInfoSchema>;

/** Strips undefined-valued keys so a normalised object round-trips through JSON unchanged. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Builds the normalised order with `line` = the line asked for (or the first one); undefined when that line is missing. */
export function toMarketplaceOrder(info: ParsedOrderInfo, orderLineId?: string): MarketplaceOrder | undefined {
  const lines: MarketplaceOrderLine[] = info.orderLine.map((l) =>
    compact({
      orderLineId: l.orderLineId,
      chargingMode: l.chargingMode,
      expireTime: l.expireTime,
      periodType: l.periodType,
      periodNumber: l.periodNumber,
      orderAmount: l.orderAmount,
      productInfo: l.productInfo.map((p) => compact({ ...p })),
    }),
  );
  const line = orderLineId === undefined ? lines[0] : lines.find((l) => l.orderLineId === orderLineId);
  if (!line) return undefined;
  return compact({
    orderId: info.orderId,
    orderType: info.orderType,
    createTime: info.createTime,
    line,
    lines,
    buyerInfo: info.buyerInfo ? compact({ ...info.buyerInfo }) : undefined,
    extendParams: info.extendParams,
  });
}
