import type { OrderBook } from './order-book.js';
import type { ProductionClient } from './production-client.js';

// The buyer-side auto-repurchase (API套餐包自动复购, spec §8) as the simulator plays it: the marketplace watches a
// package's remaining amount (here: through queryInstance, the usage our service reports) and, when it reaches
// the buyer's threshold, buys the configured package spec — an ordinary new order of the same customer and
// product, sent to the service as newInstance. Or it fails, as a real repurchase can (insufficient balance).

/** One buyer's auto-repurchase policy for one package. */
export interface AutoRepurchasePolicy {
  readonly packageInstanceId: string;
  readonly customerId: string;
  readonly productId: string;
  readonly skuCode: string;
  /** The quota of the package bought (its linearValue). */
  readonly linearValue: number;
  /** Buy when at most this much remains. */
  readonly remainingAtMost: number;
  /** Fail instead of buying. */
  readonly fail?: boolean;
  readonly pollIntervalMs?: number;
  readonly timeoutMs?: number;
}

/** What the simulated repurchase did. */
export type AutoRepurchaseOutcome = { readonly kind: 'bought'; readonly instanceId: string; readonly orderId: string } | { readonly kind: 'failed'; readonly reason: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Watches the package until its threshold, then buys (or fails). Rejects when the threshold is not reached in time. */
export async function runAutoRepurchase(market: ProductionClient, orderBook: OrderBook, p: AutoRepurchasePolicy): Promise<AutoRepurchaseOutcome> {
  const deadline = Date.now() + (p.timeoutMs ?? 60_000);
  for (;;) {
    const answer = await market.v2({ activity: 'queryInstance', instanceId: p.packageInstanceId });
    const info = (answer.body?.info as { instanceId: string; usage?: { remainingAmount?: string | null } }[] | undefined)?.find((i) => i.instanceId === p.packageInstanceId);
    const remaining = info?.usage?.remainingAmount;
    if (remaining !== undefined && remaining !== null && Number(remaining) <= p.remainingAtMost) break;
    if (Date.now() > deadline) throw new Error(`auto-repurchase: ${p.packageInstanceId} did not reach its threshold (remaining ${String(remaining)})`);
    await sleep(p.pollIntervalMs ?? 200);
  }
  if (p.fail) return { kind: 'failed', reason: 'simulated: insufficient balance' };
  const order = orderBook.createOrder({
    orderType: 'NEW',
    chargingMode: 'ON_DEMAND_PKG',
    customerId: p.customerId,
    productId: p.productId,
    skuCode: p.skuCode,
    linearValue: p.linearValue,
  });
  const line = order.orderLine[0]!.orderLineId;
  const { instanceId } = await market.newInstanceV2WithAsync(order.orderId, line);
  return { kind: 'bought', instanceId, orderId: order.orderId };
}
