import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import { claimTrialBenefit, recordTransition, releaseTrialBenefit } from './store.js';
import { parseCompactUtc } from '../koogallery/time.js';
import { buyerContactsFromQueryOrder, type BuyerContacts } from '../koogallery/commands.js';
import { appInfoViolations, describeAppInfoViolations } from '../koogallery/app-info-limits.js';
import { MarketplaceApiError, MarketplaceErrorCode, type MarketplaceOrder } from '../marketplace-api/query-order-client.js';
import type { SealedBox } from '../platform/sealed-box.js';
import type { SupervisionCatalogue } from '../supervision/contract.js';
import type { SupervisionTerms } from '../supervision/contract.js';
import { OrderFailureType, type OrderDetails, type ProvisionedAccess, type TransitionRecord } from './contract.js';
import { isProvisionerError, type Provisioner, type ProvisionerErrorCode, type TenantSpec } from './provisioning/provisioner.js';

// The order workflow's side effects. Built once per worker by `createOrderActivities(deps)` with its dependencies
// injected; every activity is idempotent (keyed by instanceId or by the workflow's transition seq), because
// Temporal may run an activity again after a crash or a timeout.

/** What the order activities need. */
export interface OrderActivityDeps {
  readonly pool: Pool;
  readonly provisioner: Provisioner;
  readonly sealedBox: SealedBox;
  readonly queryOrder: (orderId: string, orderLineId?: string) => Promise<MarketplaceOrder>;
  /** The marketplace key: Query Order's buyer contacts may come encrypted with it (UNCONFIRMED, see commands.ts). */
  readonly accessKey: string;
  /** Other keys the marketplace may have encrypted an order's fields with (KOOGALLERY_OTHER_ACCESS_KEYS). */
  readonly otherAccessKeys?: readonly string[];
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

  /**
   * Is this product supervised? The one answer, for V1 and V2 orders alike: the merchant's catalogue says which
   * products are (§9), and renewal orders of a supervised product do not go through supervision (§9 [S73]).
   */
  function supervisionTermsForPurchase(productId: string | undefined, orderType: string): SupervisionTerms | undefined {
    return orderType === 'RENEW' ? undefined : deps.supervisionTermsFor?.(productId);
  }

  const sealContacts = (contacts: BuyerContacts | undefined): { buyerContactsSealed?: string } =>
    contacts ? { buyerContactsSealed: sealedBox.sealJson(contacts) } : {};

  return {
    /** Pulls a V2 order line with Query Order (§4.1); the buyer's contacts come back sealed. */
    async fetchOrderDetails(input: { orderId: string; orderLineId?: string }): Promise<{ details: OrderDetails; orderType: string }> {
      try {
        const order = await deps.queryOrder(input.orderId, input.orderLineId);
        const details = { ...orderDetailsFromMarketplace(order), ...sealContacts(buyerContactsFromQueryOrder([deps.accessKey, ...(deps.otherAccessKeys ?? [])], order.buyerInfo)) };
        const terms = supervisionTermsForPurchase(details.productId, order.orderType);
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

    /** The supervision terms of a V1 purchase (V2's come with fetchOrderDetails); a local activity: config only. */
    async lookUpSupervisionTerms(input: { productId?: string; orderType: string }): Promise<{ terms?: SupervisionTerms }> {
      const terms = supervisionTermsForPurchase(input.productId, input.orderType);
      return terms ? { terms } : {};
    },

    /** Claims the customer's one free trial of a product; the first claim wins (§11). */
    async claimTrialBenefit(input: { customerId: string; productId: string; instanceId: string }): Promise<{ granted: boolean; holderInstanceId: string }> {
      const holder = (await claimTrialBenefit(pool, input)) ?? input.instanceId;
      return { granted: holder === input.instanceId, holderInstanceId: holder };
    },

    /** Compensation of claimTrialBenefit: frees the claim only if this instance holds it. */
    async releaseTrialBenefit(input: { customerId: string; productId: string; instanceId: string }): Promise<void> {
      await releaseTrialBenefit(pool, input);
    },

    /**
     * Creates the tenant (or finds the one created before), with the buyer's contacts for its admin account, and seals
     * its credentials for the read model. Access the marketplace would not accept (appInfo over its limits) fails the
     * purchase for good, and the tenant just created is removed: a retry gets the same access, so retrying cannot help.
     */
    async provisionTenant(input: { instanceId: string; details: OrderDetails; testOrder: boolean }): Promise<ProvisionedAccess> {
      const contacts = input.details.buyerContactsSealed ? sealedBox.openJson<BuyerContacts>(input.details.buyerContactsSealed) : undefined;
      const spec = tenantSpec(input.details, input.testOrder);
      const tenant = await withProvisionerFailures(() => (contacts ? provisioner.create(input.instanceId, spec, { contacts }) : provisioner.create(input.instanceId, spec)));
      const tooLong = appInfoViolations(tenant);
      if (tooLong.length > 0) {
        await withProvisionerFailures(() => provisioner.remove(input.instanceId));
        throw ApplicationFailure.create({ type: OrderFailureType.AppInfoTooLong, message: describeAppInfoViolations(tooLong), nonRetryable: true });
      }
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

/** Provisioner refusals that end the purchase, and the failure type the workflow turns into a result code. */
const FINAL_PROVISIONER_FAILURES: Partial<Record<ProvisionerErrorCode, string>> = {
  PROVISIONING_REJECTED: OrderFailureType.ProvisioningRejected,
  MOBILE_REJECTED: OrderFailureType.MobileRejected,
  EMAIL_REJECTED: OrderFailureType.EmailRejected,
};

async function withProvisionerFailures<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isProvisionerError(err)) throw err;
    const final = FINAL_PROVISIONER_FAILURES[err.code];
    if (final) throw ApplicationFailure.create({ type: final, message: err.message, nonRetryable: true });
    throw ApplicationFailure.create({ type: err.code, message: err.message });
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
    chargingMode: line.chargingMode,
    ...(line.periodType ? { periodType: line.periodType } : {}),
    ...(line.periodNumber !== undefined ? { periodNumber: line.periodNumber } : {}),
    ...(expire ? { expireTime: expire.toISOString() } : {}),
    trial: order.orderType === 'TRIAL',
    spec,
    ...(line.orderAmount !== undefined ? { orderAmount: line.orderAmount } : {}),
  };
}
