import { addCalendarPeriod } from '../../src/kernel/period.js';
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import {
  MARKETPLACE_CHARGING_MODES,
  MARKETPLACE_ORDER_TYPES,
  type MarketplaceChargingMode,
  type MarketplaceOrderType,
} from '../../src/marketplace-api/index.js';

// The simulator's in-memory orders, served by the Query Order endpoint in the marketplace's wire shape (spec §4.1).
// Seeded with the documented debug orders; tests add their own with createOrder.

/** One product on a simulated order line (wire shape). */
export interface SimProductInfo {
  skuCode: string;
  productId: string;
  linearValue?: number;
  productName?: string;
}

/** One simulated order line (wire shape). */
export interface SimOrderLine {
  orderLineId: string;
  chargingMode: MarketplaceChargingMode;
  expireTime?: string;
  periodType?: string;
  periodNumber?: number;
  /** Decimal string; negative for refunds. */
  orderAmount?: string;
  productInfo: SimProductInfo[];
}

/**
 * One supervision event as the simulated Query Order serves it: our assumed wire shape (UNCONFIRMED, see
 * src/marketplace/order-schema.ts), not a documented one.
 */
export interface SimSupervisionEvent {
  eventId?: string;
  /** e.g. `REQUIREMENT_SUBMITTED`, `ACCEPTED`, `ACCEPTANCE_REJECTED`, `SIGNED_FOR`, `LICENSE_ACTIVATED`, `APPEAL_OPENED`, `APPEAL_DECIDED`. */
  eventType: string;
  /** As given (any format our parser reads); `yyyyMMddHHmmss` of the time it was added when not given. */
  eventTime: string;
  orderLineId?: string;
  attachments?: string[];
  note?: string;
  reason?: string;
  consigneePhone?: string;
  openedBy?: string;
  decision?: string;
}

/** The supervision block of a simulated order (`orderInfo.serviceSupervision`, our assumed shape). */
export interface SimSupervision {
  node?: string;
  events: SimSupervisionEvent[];
}

/** A simulated order exactly as Query Order's `orderInfo` serves it. */
export interface SimOrderInfo {
  orderId: string;
  orderType: MarketplaceOrderType;
  createTime: string;
  orderLine: SimOrderLine[];
  buyerInfo: { customerId: string; customerName?: string; mobilePhone?: string; email?: string };
  extendParams?: Array<{ name: string; value: string }>;
  /** Present once supervision events were added (addSupervisionEvents). */
  serviceSupervision?: SimSupervision;
}

const text = (max: number) => z.string().trim().min(1).max(max);
const decimal = z.preprocess(
  (v) => (typeof v === 'number' ? String(v) : v),
  z.string().regex(/^-?\d+(\.\d{1,3})?$/, { error: 'must be a decimal with at most 3 places' }),
);

/** Zod schema of createOrder's input (also the body of the simulator's `POST /_sim/orders`). */
export const createOrderInputSchema = z.object({
  orderType: z.enum(MARKETPLACE_ORDER_TYPES),
  chargingMode: z.enum(MARKETPLACE_CHARGING_MODES),
  periodType: z.enum(['year', 'month', 'day', 'hour']).optional(),
  periodNumber: z.coerce.number().int().min(1).max(99).optional(),
  /** yyyyMMddHHmmss; for PERIOD orders without one it is derived from periodType/periodNumber. */
  expireTime: z.string().regex(/^\d{14}$/, { error: 'must be yyyyMMddHHmmss' }).optional(),
  productId: text(64),
  skuCode: text(64),
  productName: text(128).optional(),
  customerId: text(100),
  customerName: text(64).optional(),
  /** buyerInfo.mobilePhone, served as given (whether the real Query Order encrypts it is UNCONFIRMED). */
  mobilePhone: text(32).optional(),
  /** buyerInfo.email, served as given (like mobilePhone). */
  email: text(254).optional(),
  linearValue: z.coerce.number().positive().optional(),
  orderAmount: decimal.optional(),
  /** A fixed id instead of a generated `CS…` one (must be unused). */
  orderId: z.string().regex(/^[A-Za-z0-9_-]{1,58}$/).optional(),
  extendParams: z.array(z.object({ name: text(64), value: z.string() })).optional(),
});
/** Input of OrderBook.createOrder. */
export type CreateOrderInput = z.input<typeof createOrderInputSchema>;

/** Zod schema of one supervision event to add (free-form type and time, so tests can send odd ones). */
export const supervisionEventInputSchema = z.object({
  eventId: text(128).optional(),
  eventType: text(64),
  /** Sent as given; defaults to the time it is added, `yyyyMMddHHmmss`. */
  eventTime: z.union([text(40), z.number().int().positive()]).optional(),
  /** Must name a line of the order; absent for an order-level event. */
  orderLineId: text(64).optional(),
  attachments: z.array(text(512)).max(50).optional(),
  note: text(1024).optional(),
  reason: text(1024).optional(),
  consigneePhone: text(32).optional(),
  openedBy: text(32).optional(),
  decision: text(32).optional(),
});
/** One supervision event to add. */
export type SimSupervisionEventInput = z.input<typeof supervisionEventInputSchema>;

/** Zod schema of addSupervisionEvents' input (also the body of `POST /_sim/orders/:orderId/supervision-events`). */
export const addSupervisionEventsInputSchema = z.object({
  /** Sets the block's node. */
  node: text(64).optional(),
  events: z.array(supervisionEventInputSchema).max(100).default([]),
});
/** Input of OrderBook.addSupervisionEvents. */
export type AddSupervisionEventsInput = z.input<typeof addSupervisionEventsInputSchema>;

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A fresh order id like the marketplace's: `CS` + 13 random upper-case alphanumerics. */
export function generateOrderId(): string {
  let id = 'CS';
  for (let i = 0; i < 13; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** The line id of the only line of a simulated order. */
export const firstLineId = (orderId: string): string => `${orderId}-000001`;

/** Adds whole periods in UTC (months clamp to the month's last day, e.g. Jan 31 + 1 month = Feb 28/29). */
export function addPeriod(from: Date, periodType: 'year' | 'month' | 'day' | 'hour', periodNumber: number): Date {
  return addCalendarPeriod(from, periodType, periodNumber)!;
}

// Plausible-looking fixed identities for the seeded debug orders.
const MOCK_CUSTOMER = { customerId: '68cbc86abc2018ab880d92f36422fa0e', customerName: 'mock_buyer_01' };
const MOCK_PRODUCT_ID = 'OFFI000000000000000001';
const MOCK_SKU_BASIC = '7f141bf1aec848598323fb3a8ad50721';
const MOCK_SKU_PRO = 'a13c54d2be8c4e5bb5e0d9f1c6a7b802';

/** The documented debug orders (spec §4.1), each with line `<id>-000001`. */
export const MOCK_ORDER_IDS = [
  'MOCKPERIODYEARNEW',
  'MOCKONETIMENEW',
  'MOCKONDEMAND',
  'MOCKONDEMANDPKG',
  'MOCKPERIODDAYTRIAL',
  'MOCKMONTYTRIALTOFORMAL',
  'MOCKMONTYUNSUBSCRIBE',
  'MOCKMONTYRENEW',
  'MOCKMONTYCHANGE',
] as const;

function mockOrderInputs(): Array<CreateOrderInput & { orderId: (typeof MOCK_ORDER_IDS)[number] }> {
  const common = { productId: MOCK_PRODUCT_ID, skuCode: MOCK_SKU_BASIC, productName: 'Mock SaaS Basic', ...MOCK_CUSTOMER };
  return [
    { orderId: 'MOCKPERIODYEARNEW', orderType: 'NEW', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, orderAmount: '1200.000', ...common },
    { orderId: 'MOCKONETIMENEW', orderType: 'NEW', chargingMode: 'ONE_TIME', orderAmount: '300.000', ...common },
    { orderId: 'MOCKONDEMAND', orderType: 'NEW', chargingMode: 'ON_DEMAND', ...common },
    { orderId: 'MOCKONDEMANDPKG', orderType: 'NEW', chargingMode: 'ON_DEMAND_PKG', periodType: 'month', periodNumber: 1, orderAmount: '50.000', linearValue: 1000, ...common },
    { orderId: 'MOCKPERIODDAYTRIAL', orderType: 'TRIAL', chargingMode: 'PERIOD', periodType: 'day', periodNumber: 7, orderAmount: '0', ...common },
    { orderId: 'MOCKMONTYTRIALTOFORMAL', orderType: 'TRIAL_TO_FORMAL', chargingMode: 'PERIOD', periodType: 'month', periodNumber: 1, orderAmount: '100.000', ...common },
    { orderId: 'MOCKMONTYUNSUBSCRIBE', orderType: 'UNSUBSCRIBE', chargingMode: 'PERIOD', periodType: 'month', periodNumber: 1, orderAmount: '-100.000', ...common },
    { orderId: 'MOCKMONTYRENEW', orderType: 'RENEW', chargingMode: 'PERIOD', periodType: 'month', periodNumber: 2, orderAmount: '200.000', ...common },
    { orderId: 'MOCKMONTYCHANGE', orderType: 'CHANGE', chargingMode: 'PERIOD', periodType: 'month', periodNumber: 1, orderAmount: '150.000', ...common, skuCode: MOCK_SKU_PRO, productName: 'Mock SaaS Pro' },
  ];
}

/** Options of OrderBook. */
export interface OrderBookOptions {
  /** Seed the spec's MOCK* debug orders (default true). */
  seedMockOrders?: boolean;
  now?: () => Date;
}

/** Thrown by createOrder for invalid input or a duplicate orderId. */
export class OrderBookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrderBookError';
  }
}

/** In-memory orders keyed by orderId; every read returns a copy. */
export class OrderBook {
  readonly #orders = new Map<string, SimOrderInfo>();
  readonly #now: () => Date;

  constructor(options: OrderBookOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    if (options.seedMockOrders ?? true) for (const input of mockOrderInputs()) this.createOrder(input);
  }

  /** Adds an order with one line `<orderId>-000001` and returns it; throws OrderBookError on bad input. */
  createOrder(input: CreateOrderInput): SimOrderInfo {
    const parsed = createOrderInputSchema.safeParse(input);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new OrderBookError(`invalid order input: ${issues}`);
    }
    const o = parsed.data;
    if (o.orderId !== undefined && this.#orders.has(o.orderId)) throw new OrderBookError(`order ${o.orderId} already exists`);
    let orderId = o.orderId ?? generateOrderId();
    while (this.#orders.has(orderId)) orderId = generateOrderId();

    const now = this.#now();
    const expireTime =
      o.expireTime ??
      (o.periodType !== undefined && o.chargingMode !== 'ONE_TIME' && o.chargingMode !== 'ON_DEMAND'
        ? formatCompactUtc(addPeriod(now, o.periodType, o.periodNumber ?? 1))
        : undefined);
    const product: SimProductInfo = { skuCode: o.skuCode, productId: o.productId };
    if (o.linearValue !== undefined) product.linearValue = o.linearValue;
    if (o.productName !== undefined) product.productName = o.productName;
    const line: SimOrderLine = { orderLineId: firstLineId(orderId), chargingMode: o.chargingMode, productInfo: [product] };
    if (expireTime !== undefined) line.expireTime = expireTime;
    if (o.periodType !== undefined) line.periodType = o.periodType;
    if (o.periodType !== undefined || o.periodNumber !== undefined) line.periodNumber = o.periodNumber ?? 1;
    if (o.orderAmount !== undefined) line.orderAmount = o.orderAmount;

    const order: SimOrderInfo = {
      orderId,
      orderType: o.orderType,
      createTime: formatCompactUtc(now),
      orderLine: [line],
      buyerInfo: {
        customerId: o.customerId,
        ...(o.customerName !== undefined ? { customerName: o.customerName } : {}),
        ...(o.mobilePhone !== undefined ? { mobilePhone: o.mobilePhone } : {}),
        ...(o.email !== undefined ? { email: o.email } : {}),
      },
      ...(o.extendParams !== undefined ? { extendParams: o.extendParams } : {}),
    };
    this.#orders.set(orderId, order);
    return structuredClone(order);
  }

  /**
   * Appends supervision events to an order (served by Query Order as `orderInfo.serviceSupervision`); returns the
   * order, undefined when there is no such order; throws OrderBookError on bad input or an unknown order line.
   */
  addSupervisionEvents(orderId: string, input: AddSupervisionEventsInput): SimOrderInfo | undefined {
    const order = this.#orders.get(orderId);
    if (!order) return undefined;
    const parsed = addSupervisionEventsInputSchema.safeParse(input);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new OrderBookError(`invalid supervision events: ${issues}`);
    }
    const lineIds = new Set(order.orderLine.map((l) => l.orderLineId));
    const unknownLine = parsed.data.events.find((e) => e.orderLineId !== undefined && !lineIds.has(e.orderLineId));
    if (unknownLine) throw new OrderBookError(`order ${orderId} has no order line ${unknownLine.orderLineId ?? ''}`);
    const now = formatCompactUtc(this.#now());
    const block: SimSupervision = order.serviceSupervision ?? { events: [] };
    if (parsed.data.node !== undefined) block.node = parsed.data.node;
    for (const e of parsed.data.events) {
      // Zod leaves absent optional fields out, so the spread adds no undefined-valued keys.
      block.events.push({ ...e, eventTime: e.eventTime === undefined ? now : String(e.eventTime) });
    }
    order.serviceSupervision = block;
    return structuredClone(order);
  }

  /** The order, or undefined. */
  get(orderId: string): SimOrderInfo | undefined {
    const order = this.#orders.get(orderId);
    return order ? structuredClone(order) : undefined;
  }

  /** The order restricted to one line, or undefined when the order or the line does not exist. */
  getWithLine(orderId: string, orderLineId?: string): SimOrderInfo | undefined {
    const order = this.get(orderId);
    if (!order || orderLineId === undefined) return order;
    const lines = order.orderLine.filter((l) => l.orderLineId === orderLineId);
    if (lines.length === 0) return undefined;
    // Asked for one line: its supervision events and the order-level ones.
    const supervision = order.serviceSupervision
      ? { ...order.serviceSupervision, events: order.serviceSupervision.events.filter((e) => e.orderLineId === undefined || e.orderLineId === orderLineId) }
      : undefined;
    return { ...order, orderLine: lines, ...(supervision ? { serviceSupervision: supervision } : {}) };
  }

  /** Every order, oldest first. */
  list(): SimOrderInfo[] {
    return [...this.#orders.values()].map((o) => structuredClone(o));
  }

  /** Number of orders. */
  get size(): number {
    return this.#orders.size;
  }
}
