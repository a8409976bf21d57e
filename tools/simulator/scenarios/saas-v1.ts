// The V1 SaaS lifecycles (spec §3): every order detail inline in the signed call, no Query Order.
import { generateOrderId } from '../order-book.js';
import { PRODUCT_ID, SKU_BASIC, SKU_PRO } from './products.js';
import { fromNow, newCustomer, scenario, shift, type NamedScenario } from './scenario-run.js';

/** Inline V1 newInstance parameters for a yearly period purchase (spec §3.1). */
function v1PurchaseParams(buyer: { customerId: string; customerName: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...buyer,
    orderId: generateOrderId(),
    productId: PRODUCT_ID,
    skuCode: SKU_BASIC,
    chargingMode: '1',
    periodType: 'year',
    periodNumber: '1',
    expireTime: fromNow('year', 1),
    ...extra,
  };
}

/** The V1 SaaS scenarios, in `npm run sim -- list` order. */
export const SAAS_V1_SCENARIOS: readonly NamedScenario[] = [
  scenario('v1-yearly-lifecycle', 'V1 yearly newInstance → refreshInstance → expireInstance → releaseInstance twice', async (run) => {
    const params = v1PurchaseParams(newCustomer());
    const instanceId = await run.newInstanceV1(params);
    await run.v1('V1 refreshInstance', 'refreshInstance', {
      orderId: generateOrderId(),
      instanceId,
      expireTime: shift(params['expireTime']!, 'year', 1),
      periodType: 'year',
      periodNumber: '1',
      orderAmount: '1200.000',
    });
    // expireInstance and releaseInstance carry the original purchase order (spec §3.3, §3.4).
    await run.v1('V1 expireInstance', 'expireInstance', { instanceId, orderId: params['orderId']! });
    await run.v1('V1 releaseInstance', 'releaseInstance', { instanceId, orderId: params['orderId']! });
    await run.v1('V1 releaseInstance (again)', 'releaseInstance', { instanceId, orderId: params['orderId']! });
  }),

  scenario('v1-upgrade', 'V1 monthly newInstance → upgrade to another SKU', async (run) => {
    const params = v1PurchaseParams(newCustomer(), { periodType: 'month', expireTime: fromNow('month', 1) });
    const instanceId = await run.newInstanceV1(params);
    await run.v1('V1 upgrade', 'upgrade', {
      instanceId,
      orderId: generateOrderId(),
      productId: PRODUCT_ID,
      skuCode: SKU_PRO,
      amount: '10',
    });
  }),

  scenario('v1-trial-to-formal', 'V1 newInstance with trialFlag=1 → refreshInstance trialToFormal=1', async (run) => {
    const buyer = newCustomer();
    // Trials are period specs with a trial expiry; V1 periodType only knows year/month, so none is sent (spec §11).
    const { periodType: _p, periodNumber: _n, ...trial } = v1PurchaseParams(buyer, { trialFlag: '1', expireTime: fromNow('day', 7) });
    const instanceId = await run.newInstanceV1(trial);
    await run.v1('V1 refreshInstance trialToFormal', 'refreshInstance', {
      orderId: generateOrderId(),
      instanceId,
      expireTime: fromNow('month', 1),
      trialToFormal: '1',
      productId: PRODUCT_ID,
      periodType: 'month',
      periodNumber: '1',
      orderAmount: '100.000',
    });
  }),

  scenario('v1-renewal-refund', 'V1 yearly newInstance → renewal → renewal refund with a negative orderAmount', async (run) => {
    const params = v1PurchaseParams(newCustomer());
    const instanceId = await run.newInstanceV1(params);
    const originalExpireTime = params['expireTime']!;
    await run.v1('V1 refreshInstance (renewal)', 'refreshInstance', {
      orderId: generateOrderId(),
      instanceId,
      expireTime: shift(originalExpireTime, 'year', 1),
      periodType: 'year',
      periodNumber: '1',
      orderAmount: '1200.000',
    });
    // 退续费: negative amount, expiry back to the original one (spec §3.2).
    await run.v1('V1 refreshInstance (renewal refund)', 'refreshInstance', {
      orderId: generateOrderId(),
      instanceId,
      expireTime: originalExpireTime,
      periodType: 'year',
      periodNumber: '1',
      orderAmount: '-1200.000',
    });
  }),
];
