// The V2 SaaS lifecycles (spec §4): orders in the order book, read back by the service with Query Order.
import type { CreateOrderInput } from '../order-book.js';
import { PRODUCT_ID, SKU_BASIC, SKU_PRO } from './products.js';
import { fromNow, newCustomer, NOT_FOUND, scenario, shift, type NamedScenario, type ScenarioRun } from './scenario-run.js';

/** A yearly PERIOD purchase in the order book plus its V2 newInstance. */
async function purchaseV2(
  run: ScenarioRun,
  buyer: { customerId: string; customerName: string },
  overrides: Partial<CreateOrderInput> = {},
): Promise<{ instanceId: string; expireTime: string }> {
  const { order, orderLineId, expireTime } = await run.createOrder({
    orderType: 'NEW',
    chargingMode: 'PERIOD',
    periodType: 'year',
    periodNumber: 1,
    orderAmount: '1200.000',
    productId: PRODUCT_ID,
    skuCode: SKU_BASIC,
    productName: 'Simulated SaaS Basic',
    ...buyer,
    ...overrides,
  });
  if (!expireTime) throw new Error(`[${run.name}] purchase order ${order.orderId} has no expireTime`);
  const instanceId = await run.newInstanceV2(order, orderLineId);
  return { instanceId, expireTime };
}

/** Renewal order (RENEW) + refreshInstance scene RENEWAL; returns the new expireTime. */
async function renewV2(run: ScenarioRun, buyer: { customerId: string }, instanceId: string, expireTime: string): Promise<string> {
  const newExpireTime = shift(expireTime, 'year', 1);
  const renewal = await run.createOrder({
    orderType: 'RENEW',
    chargingMode: 'PERIOD',
    periodType: 'year',
    periodNumber: 1,
    orderAmount: '1200.000',
    expireTime: newExpireTime,
    productId: PRODUCT_ID,
    skuCode: SKU_BASIC,
    ...buyer,
  });
  await run.v2('V2 refreshInstance RENEWAL', {
    activity: 'refreshInstance',
    scene: 'RENEWAL',
    orderId: renewal.order.orderId,
    orderLineId: renewal.orderLineId,
    instanceId,
    expireTime: newExpireTime,
  });
  return newExpireTime;
}

/** The V2 SaaS scenarios, in `npm run sim -- list` order. */
export const SAAS_V2_SCENARIOS: readonly NamedScenario[] = [
  scenario('v2-yearly-lifecycle', 'V2 yearly purchase → queryInstance → renewal → freeze/unfreeze → release twice → 000003', async (run) => {
    const buyer = newCustomer();
    const { instanceId, expireTime } = await purchaseV2(run, buyer);
    await run.queryInstanceReady(instanceId);
    await renewV2(run, buyer, instanceId, expireTime);
    await run.v2('V2 updateInstanceStatus FREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' });
    await run.v2('V2 updateInstanceStatus UNFREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' });
    await run.v2('V2 releaseInstance', { activity: 'releaseInstance', instanceId });
    // Repeated releases must still succeed (spec §4.5).
    await run.v2('V2 releaseInstance (again)', { activity: 'releaseInstance', instanceId });
    await run.v2('V2 queryInstance after release', { activity: 'queryInstance', instanceId }, [NOT_FOUND]);
  }),

  scenario('v2-upgrade', 'V2 monthly purchase → CHANGE order with another SKU → upgradeInstance', async (run) => {
    const buyer = newCustomer();
    const { instanceId, expireTime } = await purchaseV2(run, buyer, { periodType: 'month', orderAmount: '100.000' });
    const change = await run.createOrder({
      orderType: 'CHANGE',
      chargingMode: 'PERIOD',
      periodType: 'month',
      periodNumber: 1,
      orderAmount: '50.000',
      expireTime,
      productId: PRODUCT_ID,
      skuCode: SKU_PRO,
      productName: 'Simulated SaaS Pro',
      ...buyer,
    });
    await run.v2('V2 upgradeInstance', {
      activity: 'upgradeInstance',
      instanceId,
      orderId: change.order.orderId,
      orderLineId: change.orderLineId,
    });
    await run.queryInstanceReady(instanceId);
  }),

  scenario('v2-trial-to-formal', 'V2 TRIAL order → newInstance → TRIAL_TO_FORMAL order → refreshInstance', async (run) => {
    const buyer = newCustomer();
    const { instanceId } = await purchaseV2(run, buyer, {
      orderType: 'TRIAL',
      periodType: 'day',
      periodNumber: 7,
      orderAmount: '0',
    });
    const newExpireTime = fromNow('month', 1);
    const formal = await run.createOrder({
      orderType: 'TRIAL_TO_FORMAL',
      chargingMode: 'PERIOD',
      periodType: 'month',
      periodNumber: 1,
      orderAmount: '100.000',
      expireTime: newExpireTime,
      productId: PRODUCT_ID,
      skuCode: SKU_BASIC,
      ...buyer,
    });
    await run.v2('V2 refreshInstance TRIAL_TO_FORMAL', {
      activity: 'refreshInstance',
      scene: 'TRIAL_TO_FORMAL',
      orderId: formal.order.orderId,
      orderLineId: formal.orderLineId,
      instanceId,
      expireTime: newExpireTime,
    });
  }),

  scenario('v2-renewal-refund', 'V2 yearly purchase → renewal → UNSUBSCRIBE_RENEWAL_PERIOD back to the original expiry', async (run) => {
    const buyer = newCustomer();
    const { instanceId, expireTime } = await purchaseV2(run, buyer);
    await renewV2(run, buyer, instanceId, expireTime);
    // 退续费: the renewal is refunded and the expiry goes back to the original one.
    const refund = await run.createOrder({
      orderType: 'UNSUBSCRIBE',
      chargingMode: 'PERIOD',
      periodType: 'year',
      periodNumber: 1,
      orderAmount: '-1200.000',
      expireTime,
      productId: PRODUCT_ID,
      skuCode: SKU_BASIC,
      ...buyer,
    });
    await run.v2('V2 refreshInstance UNSUBSCRIBE_RENEWAL_PERIOD', {
      activity: 'refreshInstance',
      scene: 'UNSUBSCRIBE_RENEWAL_PERIOD',
      orderId: refund.order.orderId,
      orderLineId: refund.orderLineId,
      instanceId,
      expireTime,
    });
  }),
];
