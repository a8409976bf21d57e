import type { Pool } from 'pg';
import type { NotificationRequest } from '../notifications/contract.js';
import { findInstanceChargingFacts, findLiveInstancesOfCustomerProduct } from '../orders/service.js';
import type { PackageActivities, PackageNotificationKind } from './contract.js';
import { registrationOf } from './service.js';
import type { PackageTerms } from './settings.js';
import { findMeteredInstances, linkPackages, linkedAsFollowOn, registerInstances } from './store.js';

// The package workflow's activities. The follow-on package is found in the orders context's read model (through
// its service): the buyer's auto-repurchase is an ordinary purchase of the same customer and product.

/** What the package activities need. */
export interface PackageActivityDeps {
  readonly pool: Pool;
  readonly packages: Readonly<Record<string, PackageTerms>>;
  /** Starts a notificationWorkflow per request and routed channel (idempotent on dedupeKey). */
  readonly enqueueNotifications: (requests: readonly NotificationRequest[]) => Promise<number>;
  /** Freezes an instance through the orders context (the marketplace's FREEZE path); resolves when it is frozen or gone. */
  readonly freeze: (instanceId: string) => Promise<void>;
}

const MESSAGES: Readonly<Record<PackageNotificationKind, { subject: string; body: string }>> = {
  PACKAGE_REMAINDER_LOW: {
    subject: 'Your package is running low (套餐包余量告警)',
    body: 'The package {instanceId} has reached its remainder threshold: {remaining} of {quota} left.',
  },
  PACKAGE_REPURCHASE_MISSING: {
    subject: 'Automatic repurchase did not happen (自动复购未完成)',
    body: 'The package {instanceId} reached its threshold, but no repurchased package arrived. Buy a new package to keep the service running.',
  },
  PACKAGE_REPURCHASE_FAILED: {
    subject: 'Automatic repurchase failed (自动复购失败)',
    body: 'The automatic repurchase for package {instanceId} failed ({reason}). Buy a new package to keep the service running.',
  },
};

/** Builds the package activities. */
export function createPackageActivities(deps: PackageActivityDeps): PackageActivities {
  const { pool } = deps;
  return {
    async linkFollowOnPackage({ instanceId }) {
      const [row] = await findMeteredInstances(pool, [instanceId]);
      if (!row) return null;
      if (row.nextInstanceId) return row.nextInstanceId;
      const [self] = await findInstanceChargingFacts(pool, [instanceId]);
      if (!self?.customerId || !self.productId) return null;
      const live = await findLiveInstancesOfCustomerProduct(pool, { customerId: self.customerId, productId: self.productId, chargingMode: 'ON_DEMAND_PKG' });
      // Bought after this package, and not already following another one.
      const candidates = live.filter((c) => c.instanceId !== instanceId && c.createdAt >= self.createdAt);
      const taken = await linkedAsFollowOn(pool, candidates.map((c) => c.instanceId));
      for (const c of candidates.filter((x) => !taken.has(x.instanceId))) {
        await registerInstances(pool, [registrationOf(c, deps.packages)]);
        const linked = await linkPackages(pool, instanceId, c.instanceId);
        if (linked) return linked;
      }
      return null;
    },

    async notifyPackageBuyer({ instanceId, kind, reason }) {
      const [facts] = await findInstanceChargingFacts(pool, [instanceId]);
      const [row] = await findMeteredInstances(pool, [instanceId]);
      const quota = row?.quota ?? '?';
      const remaining = row?.quota ? String(Math.max(0, Number(row.quota) - Number(row.used))) : '?';
      const m = MESSAGES[kind];
      const fill = (t: string) => t.replace('{instanceId}', instanceId).replace('{quota}', quota).replace('{remaining}', remaining).replace('{reason}', reason ?? 'no reason given');
      return deps.enqueueNotifications([
        {
          dedupeKey: `package-${instanceId}-${kind}`,
          kind,
          recipient: 'CUSTOMER',
          orderId: facts?.orderId ?? instanceId,
          instanceId,
          subject: m.subject,
          body: fill(m.body),
          data: { instanceId, quota, remaining, ...(facts?.customerId ? { customerId: facts.customerId } : {}), ...(reason !== undefined ? { reason } : {}) },
        },
      ]);
    },

    async freezeUsedUpPackage({ instanceId }) {
      await deps.freeze(instanceId);
    },
  };
}
