import { randomUUID } from 'node:crypto';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import type { MarketplaceOrder, MarketplaceOrderLine } from '../../src/marketplace-api/order-schema.js';
import { orderWorkflowId, type OrderDetails, type OrderKey, type OrderWorkflowInput } from '../../src/orders/contract.js';
import type { TenantSpec } from '../../src/orders/provisioning/provisioner.js';
import type { SupervisionInput, SupervisionTerms } from '../../src/supervision/contract.js';
import type { CreateOrderInput, SimOrderInfo } from '../../tools/simulator/order-book.js';
import { uniqueId } from '../../tools/testing/ids.js';

// Test data factories: one builder per kind of order fixture, with the defaults most tests want, so a test writes
// down only what it is about (`aSimOrder({ orderType: 'RENEW', customerId })`). A PERIOD order is yearly unless told
// otherwise; any other charging mode gets no period at all, as the marketplace sends it.

// ---------------------------------------------------------------- the marketplace's side: the simulator, V2 calls

/** An order line as V2 calls name it. */
export interface OrderLineRef {
  readonly orderId: string;
  readonly orderLineId: string;
}

/** An order for the simulator's order book: a new yearly purchase by a fresh customer unless overridden. */
export function aSimOrder(overrides: Partial<CreateOrderInput> = {}): CreateOrderInput {
  const period = (overrides.chargingMode ?? 'PERIOD') === 'PERIOD' ? { periodType: 'year' as const, periodNumber: 1 } : {};
  return { orderType: 'NEW', chargingMode: 'PERIOD', ...period, productId: 'prod-test', skuCode: 'sku-basic', customerId: uniqueId('cust'), ...overrides };
}

/** The first line of a simulator order. */
export function lineOf(order: SimOrderInfo): OrderLineRef {
  const line = order.orderLine[0];
  if (!line) throw new Error(`order ${order.orderId} has no order line`);
  return { orderId: order.orderId, orderLineId: line.orderLineId };
}

/** A V2 newInstance body (extra fields, such as testFlag, as given). */
export interface V2PurchaseBody extends OrderLineRef {
  readonly activity: 'newInstance';
  readonly businessId: string;
  readonly [field: string]: unknown;
}

/** A V2 newInstance body for an order line, with a fresh businessId unless overridden. */
export function aV2PurchaseBody(line: OrderLineRef, overrides: { businessId?: string; testFlag?: string } & Record<string, unknown> = {}): V2PurchaseBody {
  return { activity: 'newInstance', orderId: line.orderId, orderLineId: line.orderLineId, businessId: randomUUID(), ...overrides };
}

/** A V2 refreshInstance RENEWAL body for the renewal order `line` of an instance: two years out unless overridden. */
export function aV2RenewalBody(line: OrderLineRef, instanceId: string, overrides: Record<string, unknown> = {}): { readonly activity: string; readonly [field: string]: unknown } {
  return { activity: 'refreshInstance', scene: 'RENEWAL', orderId: line.orderId, orderLineId: line.orderLineId, instanceId, expireTime: inDays(730), ...overrides };
}

/** V1 newInstance parameters (spec §3.1), details inline: a yearly period purchase by a fresh customer unless overridden. */
export function aV1PurchaseParams(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    businessId: randomUUID(),
    orderId: uniqueId('CSV1'),
    customerId: uniqueId('cust'),
    productId: 'prod-test-v1',
    skuCode: 'sku-v1',
    chargingMode: '1',
    periodType: 'year',
    periodNumber: '1',
    expireTime: inDays(365),
    ...overrides,
  };
}

/** A marketplace time (`yyyyMMddHHmmss`, UTC) `days` from now. */
export function inDays(days: number): string {
  return formatCompactUtc(new Date(Date.now() + days * 86_400_000));
}

// ---------------------------------------------------------------- Query Order, as our client returns it

/**
 * A Query Order result (MarketplaceOrder): a new one-time order of one line (`lineIds` for more), each line as
 * `line` says, the first one the order's `line`.
 */
export function aQueryOrderResult(
  o: Partial<Omit<MarketplaceOrder, 'line' | 'lines'>> & { lineIds?: readonly string[]; line?: Partial<MarketplaceOrderLine> } = {},
): MarketplaceOrder {
  const { lineIds, line: lineOverrides, ...order } = o;
  const orderId = order.orderId ?? 'CSTEST0000000001';
  const lines = (lineIds ?? [`${orderId}-000001`]).map(
    (orderLineId): MarketplaceOrderLine => ({ chargingMode: 'ONE_TIME', productInfo: [{ skuCode: 's', productId: 'p' }], ...lineOverrides, orderLineId }),
  );
  return { orderType: 'NEW', buyerInfo: { customerId: 'cust-1' }, extendParams: [], ...order, orderId, line: lines[0]!, lines };
}

// ---------------------------------------------------------------- the order workflow's inputs

/** An order's details as the workflow holds them: a monthly period order far from expiry unless overridden. */
export function anOrderDetails(overrides: Partial<OrderDetails> = {}): OrderDetails {
  const period = (overrides.chargingMode ?? 'PERIOD') === 'PERIOD' ? { periodType: 'month', periodNumber: 1, expireTime: '2099-01-01T00:00:00.000Z' } : {};
  return {
    customerId: 'cust-1',
    customerName: 'ACME',
    productId: 'OFFI-MONTH',
    skuCode: 'sku-basic',
    chargingMode: 'PERIOD',
    ...period,
    trial: false,
    spec: { amount: 5 },
    ...overrides,
  };
}

/** A V1 order's workflow input: its details inline, as V1 sends them. */
export function aV1OrderInput(orderId: string, overrides: Partial<OrderWorkflowInput> = {}): OrderWorkflowInput {
  return { key: { kind: 'v1-order', orderId }, interfaceVersion: 'V1', instanceId: `i-${orderId}`, testOrder: false, details: anOrderDetails(), ...overrides };
}

/** A V2 order line's workflow input: no details, the workflow reads them with Query Order. */
export function aV2OrderInput(orderId: string, overrides: Partial<OrderWorkflowInput> = {}): OrderWorkflowInput {
  return { key: { kind: 'v2-line', orderId, orderLineId: `${orderId}-000001` }, interfaceVersion: 'V2', instanceId: `i-${orderId}`, testOrder: false, ...overrides };
}

/** What a provisioner is asked to create: a period tenant unless overridden. */
export function aTenantSpec(overrides: Partial<TenantSpec> = {}): TenantSpec {
  return {
    productId: 'OFFI-1',
    skuCode: 'sku-basic',
    chargingMode: 'PERIOD',
    spec: { amount: 3 },
    trial: false,
    expireTime: '2031-01-01T00:00:00.000Z',
    customerId: 'cust-1',
    testOrder: false,
    ...overrides,
  };
}

// ---------------------------------------------------------------- supervision

/** Supervision terms as configured by default (the 2024-03-05 notice: reminders from day 180, every 30 days). */
export function aSupervisionTerms(kind: SupervisionTerms['kind'] = 'GENERAL', overrides: Partial<Omit<SupervisionTerms, 'kind'>> = {}): SupervisionTerms {
  return { kind, reminderAfterDays: 180, reminderIntervalDays: 30, autoAcceptDays: 10, ...overrides };
}

/** The supervision of the order `key` names (workflow and instance ids derived from it): general terms unless overridden. */
export function aSupervisionInput(key: OrderKey, overrides: Partial<SupervisionInput> = {}): SupervisionInput {
  return { orderWorkflowId: orderWorkflowId(key), instanceId: `i-${key.orderId}`, key, terms: aSupervisionTerms(), testOrder: false, ...overrides };
}
