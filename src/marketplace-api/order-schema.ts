import { z } from 'zod';
import { parseCompactUtc, parseUnixTimestamp } from '../koogallery/index.js';

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

/**
 * One service-supervision event as Query Order reports it (spec §4.8, §9). The whole shape is OUR ASSUMPTION
 * (UNCONFIRMED, see `readSupervisionBlock`); values are normalised so the object is JSON-safe for workflows.
 */
export interface MarketplaceSupervisionEvent {
  /** The marketplace's id of the event, when it sends one (the dedupe key); otherwise one is derived from type and time. */
  eventId?: string;
  /** Upper-cased, with `-` and spaces turned into `_` (e.g. `SIGNED_FOR`); not restricted to the known types. */
  eventType: string;
  /** When it happened at its source, ISO-8601 UTC (read from `yyyyMMddHHmmss[SSS]`, ISO or Unix ms/s). */
  eventTime: string;
  /** The order line it concerns; absent for an order-level event (events read from an order line carry that line). */
  orderLineId?: string;
  /** Attachment references (URLs or file names) of a requirement or an appeal's evidence. */
  attachments?: string[];
  note?: string;
  /** Why acceptance was rejected, or why an appeal was opened. */
  reason?: string;
  /** Consignee phone from the courier's logistics data (sign-for). */
  consigneePhone?: string;
  /** Who opened an appeal, upper-cased as received (`USER`, `MERCHANT`, or an alias the mapping understands). */
  openedBy?: string;
  /** An appeal's decision, upper-cased as received (`RESUME`, `ACCEPT`, `CLOSE`, or an alias). */
  decision?: string;
}

/** The supervision data of an order (our assumed shape, UNCONFIRMED). */
export interface MarketplaceSupervision {
  /** The supervision node as the marketplace names it, informational only (its values are UNCONFIRMED). */
  node?: string;
  /** Every well-formed event, in the order received (order-level first, then each line's). */
  events: MarketplaceSupervisionEvent[];
  /** How many events were dropped as malformed (no type, no or unreadable time, not an object). */
  droppedEvents?: number;
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
  /** Service supervision data (spec §9), when Query Order carries any; see `readSupervisionBlock`. */
  supervision?: MarketplaceSupervision;
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
  z.preprocess((v: unknown): unknown[] => (absent(v) ? [] : Array.isArray(v) ? (v as unknown[]) : [v]), z.array(item));

// ---- Service supervision (spec §4.8, §9) ---------------------------------------------------------------------
//
// UNCONFIRMED: no source says where (or whether) Query Order carries supervision data; the order notification
// only tells us that something changed. OUR ASSUMPTION, read as tolerantly as is cheap:
//
//   orderInfo.serviceSupervision = {
//     node?: string,
//     events?: [{ eventId?, eventType, eventTime, orderLineId?, attachments?, note?, reason?,
//                 consigneePhone?, openedBy?, decision? }]
//   }
//
// - The block may also be named `supervision` or `supervisionInfo`, sit on an order line (its events then concern
//   that line), be the event list itself, or arrive as JSON text; a plain string is read as the node.
// - The list may be named `events`, `eventList` or `supervisionEvents`; a single object is a one-item list.
// - Field aliases: eventId|id, eventType|type|event|action, eventTime|time|occurTime|occurredAt|timestamp,
//   note|remark|comment, reason|rejectReason|appealReason, consigneePhone|receiverPhone|consigneeMobile|receiverMobile,
//   openedBy|initiator|appellant, decision|result|appealResult, attachments|attachment|files|evidence (strings or
//   objects with url/fileUrl/name/fileName).
// - eventTime: `yyyyMMddHHmmss[SSS]` (UTC, like every marketplace time), ISO-8601 (zone-less read as UTC), or a
//   Unix timestamp in ms or s.
// - An event without a type or a readable time is dropped (and counted); a malformed block counts as absent. The
//   order parse never fails because of supervision data.

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The first non-absent value among `keys`. */
function firstPresent(o: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const k of keys) if (!absent(o[k])) return o[k];
  return undefined;
}

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Reads a supervision event time (compact UTC, ISO-8601, Unix ms or s) as an ISO-8601 UTC string; undefined when unreadable. */
export function parseSupervisionTime(value: unknown): string | undefined {
  const v = typeof value === 'number' && Number.isInteger(value) && value > 0 ? String(value) : value;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^\d{14}(\d{3})?$/.test(s)) return parseCompactUtc(s)?.toISOString();
  if (/^\d{9,13}$/.test(s)) {
    const ms = parseUnixTimestamp(s);
    return ms === undefined ? undefined : new Date(ms).toISOString();
  }
  const m = ISO_DATE_TIME.exec(s);
  if (!m) return undefined;
  // Date.parse rolls 2024-02-30 over to March: an impossible date is unreadable, not another day.
  if (parseCompactUtc(`${m[1]}${m[2]}${m[3]}000000`) === undefined) return undefined;
  const ms = Date.parse(s.replace(' ', 'T') + (m[7] ? '' : 'Z'));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const EVENT_FIELD_ALIASES: Readonly<Record<string, readonly string[]>> = {
  eventId: ['eventId', 'id'],
  eventType: ['eventType', 'type', 'event', 'action'],
  eventTime: ['eventTime', 'time', 'occurTime', 'occurredAt', 'timestamp'],
  orderLineId: ['orderLineId'],
  attachments: ['attachments', 'attachment', 'files', 'evidence'],
  note: ['note', 'remark', 'comment'],
  reason: ['reason', 'rejectReason', 'appealReason'],
  consigneePhone: ['consigneePhone', 'receiverPhone', 'consigneeMobile', 'receiverMobile'],
  openedBy: ['openedBy', 'initiator', 'appellant'],
  decision: ['decision', 'result', 'appealResult'],
};
const BLOCK_KEYS = ['serviceSupervision', 'supervision', 'supervisionInfo'] as const;
const EVENT_LIST_KEYS = ['events', 'eventList', 'supervisionEvents'] as const;
const NODE_KEYS = ['node', 'currentNode', 'supervisionNode'] as const;

const trimmedText = z.preprocess((v) => {
  const s = numberToString(v);
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
}, z.string().optional());
/** `signed-for` / `Signed For` → `SIGNED_FOR`. */
const token = (v: unknown): unknown => (typeof v === 'string' ? v.trim().toUpperCase().replace(/[\s-]+/g, '_') : v);
const optionalToken = z.preprocess((v) => (absent(v) ? undefined : token(v)), z.string().min(1).max(64).optional());

function readAttachments(v: unknown): string[] | undefined {
  if (absent(v)) return undefined;
  const out: string[] = [];
  for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) {
    const ref = isRecord(item) ? firstPresent(item, ['url', 'fileUrl', 'link', 'name', 'fileName', 'id']) : item;
    const text = numberToString(ref);
    if (typeof text === 'string' && text.trim() !== '') out.push(text.trim());
  }
  return out.length > 0 ? out : undefined;
}

const supervisionEventSchema = z.object({
  eventId: trimmedText,
  eventType: z.preprocess(token, z.string().min(1).max(64)),
  // undefined (unreadable) fails the event, which is then dropped.
  eventTime: z.preprocess(parseSupervisionTime, z.string()),
  orderLineId: trimmedText,
  attachments: z.preprocess(readAttachments, z.array(z.string()).optional()),
  note: trimmedText,
  reason: trimmedText,
  consigneePhone: trimmedText,
  openedBy: optionalToken,
  decision: optionalToken,
});

/** Reads one supervision block (see the assumption above); undefined when there is none or it is unreadable. */
export function readSupervisionBlock(value: unknown): MarketplaceSupervision | undefined {
  let v = value;
  if (typeof v === 'string') {
    const text = v.trim();
    if (text === '') return undefined;
    try {
      v = JSON.parse(text) as unknown;
    } catch {
      return { node: text.slice(0, 64), events: [] };
    }
  }
  const block = Array.isArray(v) ? { events: v } : isRecord(v) ? v : undefined;
  if (!block) return undefined;
  const rawEvents = firstPresent(block, EVENT_LIST_KEYS);
  const list = absent(rawEvents) ? [] : Array.isArray(rawEvents) ? rawEvents : [rawEvents];
  const events: MarketplaceSupervisionEvent[] = [];
  let dropped = 0;
  for (const raw of list) {
    if (!isRecord(raw)) {
      dropped++;
      continue;
    }
    const lifted = Object.fromEntries(Object.entries(EVENT_FIELD_ALIASES).map(([field, keys]) => [field, firstPresent(raw, keys)]));
    const parsed = supervisionEventSchema.safeParse(lifted);
    if (parsed.success) events.push(compact<MarketplaceSupervisionEvent>(parsed.data));
    else dropped++;
  }
  const node = numberToString(firstPresent(block, NODE_KEYS));
  return compact({
    node: typeof node === 'string' ? node.trim().slice(0, 64) : undefined,
    events,
    droppedEvents: dropped > 0 ? dropped : undefined,
  });
}

/** Never fails: a supervision block that cannot be read is absent. */
const supervisionBlock = z.unknown().transform(readSupervisionBlock).optional();
const supervisionFields = { serviceSupervision: supervisionBlock, supervision: supervisionBlock, supervisionInfo: supervisionBlock };

/** The first supervision block present among the aliases. */
function blockOf(o: Partial<Record<(typeof BLOCK_KEYS)[number], MarketplaceSupervision | undefined>>): MarketplaceSupervision | undefined {
  for (const k of BLOCK_KEYS) if (o[k] !== undefined) return o[k];
  return undefined;
}

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
  ...supervisionFields,
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
  value: z.preprocess((v) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean | bigint)), z.string()),
});

/** Zod schema of `orderInfo`. */
export const orderInfoSchema = z.object({
  orderId: requiredText,
  orderType: upperEnum(MARKETPLACE_ORDER_TYPES),
  createTime: compactTime,
  orderLine: listOf(orderLineSchema),
  buyerInfo: z.preprocess((v) => (absent(v) ? undefined : v), buyerSchema.optional()),
  extendParams: listOf(extendParamSchema),
  ...supervisionFields,
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
    supervision: supervisionOf(info, line.orderLineId),
  });
}

/**
 * Folds the order-level block and every line's block into one: a line's events are stamped with that line's id;
 * the node is the order-level one, else the picked line's. Undefined when no block was present anywhere.
 */
function supervisionOf(info: ParsedOrderInfo, pickedLineId: string): MarketplaceSupervision | undefined {
  const orderBlock = blockOf(info);
  const lineBlocks = info.orderLine.flatMap((l) => {
    const block = blockOf(l);
    return block ? [{ orderLineId: l.orderLineId, block }] : [];
  });
  if (!orderBlock && lineBlocks.length === 0) return undefined;
  const events = [
    ...(orderBlock?.events ?? []),
    ...lineBlocks.flatMap(({ orderLineId, block }) => block.events.map((e) => ({ ...e, orderLineId: e.orderLineId ?? orderLineId }))),
  ];
  const dropped = (orderBlock?.droppedEvents ?? 0) + lineBlocks.reduce((n, { block }) => n + (block.droppedEvents ?? 0), 0);
  return compact({
    node: orderBlock?.node ?? lineBlocks.find((b) => b.orderLineId === pickedLineId)?.block.node,
    events,
    droppedEvents: dropped > 0 ? dropped : undefined,
  });
}
