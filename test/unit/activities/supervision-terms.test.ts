import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createOrderActivities } from '../../../src/orders/activities.js';
import { loadConfig, parseSupervisedProducts } from '../../../src/platform/config.js';
import type { MarketplaceOrder } from '../../../src/marketplace-api/order-schema.js';
import type { SealedBox } from '../../../src/platform/sealed-box.js';
import { createSupervisionCatalogue } from '../../../src/supervision/catalogue.js';
import type { Provisioner } from '../../../src/orders/provisioning/provisioner.js';
import { aQueryOrderResult } from '../../support/factories.js';

// Which orders carry supervision terms: products the merchant declared supervised, on purchases only (§9 [S73]:
// renewal orders of a supervised product do not go through supervision).

const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used')) });

function order(orderType: MarketplaceOrder['orderType'], productId: string): MarketplaceOrder {
  return aQueryOrderResult({ orderId: 'O1', orderType, lineIds: ['L1'], line: { chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productInfo: [{ productId, skuCode: 'sku' }] } });
}

function activitiesFor(products: string, o: MarketplaceOrder) {
  const config = loadConfig({ SUPERVISED_PRODUCTS: products, SUPERVISION_REMINDER_INTERVAL_DAYS: '14' });
  return createOrderActivities({
    pool: unused as Pool,
    provisioner: unused as Provisioner,
    sealedBox: unused as SealedBox,
    queryOrder: async () => o,
    accessKey: 'unused-access-key',
    supervisionTermsFor: createSupervisionCatalogue(config.supervision),
  });
}

describe('supervision terms on orders', () => {
  it('when a supervised product is bought, then the order carries its terms from configuration', async () => {
    const { details } = await activitiesFor('HW-1=HARDWARE', order('NEW', 'HW-1')).fetchOrderDetails({ orderId: 'O1', orderLineId: 'L1' });
    expect(details.supervision).toEqual({ kind: 'HARDWARE', reminderAfterDays: 180, reminderIntervalDays: 14, autoAcceptDays: 10 });
  });

  it('when it is a renewal order of a supervised product, then it carries none (renewals are not supervised)', async () => {
    const { details } = await activitiesFor('HW-1=HARDWARE', order('RENEW', 'HW-1')).fetchOrderDetails({ orderId: 'O1', orderLineId: 'L1' });
    expect(details.supervision).toBeUndefined();
  });

  it('when the product is not listed as supervised, then the order carries none', async () => {
    const { details } = await activitiesFor('HW-1=HARDWARE', order('NEW', 'SAAS-1')).fetchOrderDetails({ orderId: 'O1', orderLineId: 'L1' });
    expect(details.supervision).toBeUndefined();
  });

  it('when the supervision and notification settings are given, then configuration reads them and names a malformed entry', () => {
    expect(parseSupervisedProducts('A=HARDWARE, B, C=SOFTWARE').problems).toEqual(['SUPERVISED_PRODUCTS: "C=SOFTWARE" is not productId=GENERAL|HARDWARE']);
    expect(parseSupervisedProducts('A=HARDWARE, B').products).toEqual({ A: 'HARDWARE', B: 'GENERAL' });
    expect(() => loadConfig({ SUPERVISED_PRODUCTS: 'X=Y' })).toThrow(/SUPERVISED_PRODUCTS/);
    expect(() => loadConfig({ NOTIFICATION_ROUTING: 'MERCHANT=sms' })).toThrow(/channel "sms" has no NOTIFICATION_WEBHOOKS entry/);
    expect(loadConfig({ NOTIFICATION_ROUTING: 'MERCHANT=log+sms', NOTIFICATION_WEBHOOKS: 'sms=https://gw.example/sms' }).notifications.routing.MERCHANT).toEqual(['log', 'sms']);
    // Retention and the dispatcher went with the outbox (Temporal keeps and delivers notifications): no such keys.
    expect(Object.keys(loadConfig({}).notifications).sort()).toEqual(['routing', 'webhooks']);
  });
});
