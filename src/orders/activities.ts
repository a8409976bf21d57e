import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { recordTransition } from './store.js';
import { parseCompactUtc } from '../koogallery/time.js';
import { MarketplaceApiError, MarketplaceErrorCode, type MarketplaceOrder } from '../marketplace-api/query-order-client.js';
import type { SealedBox } from '../platform/sealed-box.js';
import type { SupervisionCatalogue } from '../supervision/catalogue.js';
import { OrderFailureType, type ChargingMode, type OrderDetails, type ProvisionedAccess, type TransitionRecord } from './contract.js';
import { isProvisionerError, type Provisioner, type TenantSpec } from './provisioning/provisioner.js';

// The order workflow's side effects. Built once per worker by `createOrderActivities(deps)` with its dependencies
// injected; every activity is idempotent (keyed by instanceId or by the workflow's transition seq), because
// Temporal may run an activity again after a crash or a timeout.

/** What the order activities need. */
export interface OrderActivityDeps {
  readonly pool: Pool;
  readonly provisioner: Provisioner;
  readonly sealedBox: SealedBox;
  readonly queryOrder: (orderId: string, orderLineId?: string) => Promise<MarketplaceOrder>;
  /** Which products are supervised (§9); absent: none. */
  readonly supervisionTermsFor?: SupervisionCatalogue;
}

/** Input of activities that act on one tenant. */
export interface TenantRef {
  readonly instanceId: string;
}

/** The order activities. */
export function createOrderActivities(deps: OrderActivityDeps) {
  const { pool, provisioner, sealedBox } = deps;

  return {
    /** Pulls a V2 order line with Query Order (§4.1). */
    async fetchOrderDetails(input: { orderId: string; orderLineId?: string }): Promise<{ details: OrderDetails; orderType: string }> {
      try {
        const order = await deps.queryOrder(input.orderId, input.orderLineId);
        const details = orderDetailsFromMarketplace(order);
        // Renewal orders of a supervised product do not go through supervision (§9 [S73]).
        const terms = order.orderType === 'RENEW' ? undefined : deps.supervisionTermsFor?.(details.productId);
        return { details: terms ? { ...details, supervision: terms } : details, orderType: order.orderType };
      } catch (err) {
        if (err instanceof MarketplaceApiError && err.code === MarketplaceErrorCode.OrderNotFound) {
          throw ApplicationFailure.create({ type: OrderFailureType.OrderNotFound, message: err.message, nonRetryable: true });
        }
        if (err instanceof MarketplaceApiError) {
          throw ApplicationFailure.create({ type: err.code, message: err.message });
        }
        throw err;
      }
    },

    /** Claims the customer's one free trial of a product; the first claim wins (§11). */
    async claimTrialBenefit(input: { customerId: string; productId: string; instanceId: string }): Promise<{ granted: boolean; holderInstanceId: string }> {
      await pool.query(
        `INSERT INTO trial_benefits (customer_id, product_id, instance_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [input.customerId, input.productId, input.instanceId],
      );
      const r = await pool.query<{ instance_id: string }>(`SELECT instance_id FROM trial_benefits WHERE customer_id = $1 AND product_id = $2`, [
        input.customerId,
        input.productId,
      ]);
      const holder = r.rows[0]?.instance_id ?? input.instanceId;
      return { granted: holder === input.instanceId, holderInstanceId: holder };
    },

    /** Compensation of claimTrialBenefit: frees the claim only if this instance holds it. */
    async releaseTrialBenefit(input: { customerId: string; productId: string; instanceId: string }): Promise<void> {
      await pool.query(`DELETE FROM trial_benefits WHERE customer_id = $1 AND product_id = $2 AND instance_id = $3`, [
        input.customerId,
        input.productId,
        input.instanceId,
      ]);
    },

    /** Creates the tenant (or finds the one created before) and seals its credentials for the read model. */
    async provisionTenant(input: { instanceId: string; details: OrderDetails; testOrder: boolean }): Promise<ProvisionedAccess> {
      const tenant = await withProvisionerFailures(() => provisioner.create(input.instanceId, tenantSpec(input.details, input.testOrder)));
      return {
        frontEndUrl: tenant.frontEndUrl,
        ...(tenant.adminUrl ? { adminUrl: tenant.adminUrl } : {}),
        ...(tenant.memo ? { memo: tenant.memo } : {}),
        credentialsSealed: sealedBox.sealJson({ userName: tenant.userName, password: tenant.password }),
      };
    },

    /** Applies a new spec to the tenant. */
    async changeTenantSpec(input: { instanceId: string; details: OrderDetails; testOrder: boolean }): Promise<void> {
      await withProvisionerFailures(() => provisioner.changeSpec(input.instanceId, tenantSpec(input.details, input.testOrder)));
    },

    /** Freezes the tenant (data kept). */
    async freezeTenant(input: TenantRef): Promise<void> {
      await withProvisionerFailures(() => provisioner.freeze(input.instanceId));
    },

    /** Resumes a frozen tenant. */
    async resumeTenant(input: TenantRef): Promise<void> {
      await withProvisionerFailures(() => provisioner.resume(input.instanceId));
    },

    /** Removes the tenant; removing one that is gone succeeds. */
    async removeTenant(input: TenantRef): Promise<void> {
      await withProvisionerFailures(() => provisioner.remove(input.instanceId));
    },

    /** Writes a transition to the read model (idempotent on the transition's seq). */
    async recordTransition(input: TransitionRecord): Promise<void> {
      await recordTransition(pool, input);
    },
  };
}

/** The activities' type, for `proxyActivities<OrderActivities>()` in workflow code. */
export type OrderActivities = ReturnType<typeof createOrderActivities>;

async function withProvisionerFailures<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isProvisionerError(err, 'PROVISIONING_REJECTED')) {
      throw ApplicationFailure.create({ type: OrderFailureType.ProvisioningRejected, message: err.message, nonRetryable: true });
    }
    if (isProvisionerError(err)) throw ApplicationFailure.create({ type: err.code, message: err.message });
    throw err;
  }
}

function tenantSpec(d: OrderDetails, testOrder: boolean): TenantSpec {
  return {
    ...(d.productId ? { productId: d.productId } : {}),
    ...(d.skuCode ? { skuCode: d.skuCode } : {}),
    ...(d.chargingMode ? { chargingMode: d.chargingMode } : {}),
    spec: d.spec,
    trial: d.trial,
    ...(d.expireTime ? { expireTime: d.expireTime } : {}),
    ...(d.customerId ? { customerId: d.customerId } : {}),
    ...(d.customerName ? { customerName: d.customerName } : {}),
    testOrder,
  };
}

/** Maps a Query Order answer onto the order's commercial facts. */
export function orderDetailsFromMarketplace(order: MarketplaceOrder): OrderDetails {
  const line = order.line;
  const product = line.productInfo[0];
  const expire = line.expireTime ? parseCompactUtc(line.expireTime) : undefined;
  const spec: Record<string, string | number> = {};
  if (product?.linearValue !== undefined) spec.linearValue = product.linearValue;
  return {
    ...(order.buyerInfo?.customerId ? { customerId: order.buyerInfo.customerId } : {}),
    ...(order.buyerInfo?.customerName ? { customerName: order.buyerInfo.customerName } : {}),
    ...(product?.productId ? { productId: product.productId } : {}),
    ...(product?.skuCode ? { skuCode: product.skuCode } : {}),
    chargingMode: line.chargingMode as ChargingMode,
    ...(line.periodType ? { periodType: line.periodType } : {}),
    ...(line.periodNumber !== undefined ? { periodNumber: line.periodNumber } : {}),
    ...(expire ? { expireTime: expire.toISOString() } : {}),
    trial: order.orderType === 'TRIAL',
    spec,
    ...(line.orderAmount !== undefined ? { orderAmount: line.orderAmount } : {}),
  };
}
