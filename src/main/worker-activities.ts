import { Context, getClient } from '@temporalio/activity';
import { Runtime } from '@temporalio/worker';
import type { Pool } from 'pg';
import type { AppConfig } from '../platform/config.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { createQueryOrderClient } from '../marketplace-api/query-order-client.js';
import { createReconciliationActivities, type ReconciliationActivityImpl, type ReconciliationLogger } from '../reconciliation/activities.js';
import { sealedBoxOf } from '../platform/sealed-box.js';
import { createNotificationActivities, type NotificationActivities } from '../notifications/activities.js';
import type { NotificationRetryPolicy } from '../notifications/contract.js';
import { channelsFromConfig } from '../notifications/from-config.js';
import { createNotificationMetrics, type NotificationMetrics } from '../notifications/metrics.js';
import { createNotificationEnqueuer } from '../notifications/service.js';
import { createSupervisionCatalogue } from '../supervision/catalogue.js';
import { createOrderActivities, type OrderActivities } from '../orders/activities.js';
import { createSupervisionActivities, type SupervisionActivities } from '../supervision/activities.js';
import { createProvisioner } from '../orders/provisioning/index.js';
import { clientOrderSignaller, createSettlementActivities, type SettlementActivities } from '../settlement/activities.js';
import { createMeteringActivities } from '../metering/activities.js';
import type { MeteringPushActivities, PackageActivities } from '../metering/contract.js';
import { createPackageActivities } from '../metering/package-activities.js';
import { catchUpPackageCrossings, packageSignaller } from '../metering/service.js';
import { createOrderService } from '../orders/service.js';
import { createUsageDataClient, type UsageDataClient } from '../marketplace-api/usage-data-client.js';
import type { Provisioner } from '../orders/provisioning/provisioner.js';
import { createLicenseActivities, type LicenseActivities } from '../licenses/activities.js';
import { createLicenseKeyRing } from '../licenses/key-settings.js';
import { createLicenseSigner } from '../licenses/license-token.js';
import { createLicenseCodeClient } from '../marketplace-api/license-code-client.js';

/** What tests (and worker.ts) may replace in the notification wiring. */
export interface NotificationOverrides {
  /** The log channel's and the delivery activity's logger; default: a JSON logger at the configured level. */
  readonly logger?: Logger;
  /** Default: counters on the Temporal runtime's meter (the worker's Prometheus endpoint). */
  readonly metrics?: NotificationMetrics;
  /** Put in every notification started; default DEFAULT_NOTIFICATION_RETRY (tests shorten it). */
  readonly retry?: NotificationRetryPolicy;
}

/**
 * Counters on the runtime's meter, created at first use: by then a Worker exists, so Runtime.instance() is the
 * runtime the process installed (worker.ts, with its Prometheus exporter), not a default one made too early.
 */
function runtimeNotificationMetrics(): NotificationMetrics {
  let metrics: NotificationMetrics | undefined;
  const get = () => (metrics ??= createNotificationMetrics(Runtime.instance().metricMeter));
  return { delivered: (channel) => get().delivered(channel), failed: (channel, final) => get().failed(channel, final) };
}

/** Builds every activity the worker registers, from configuration and the process's one pool. */
export function createActivities(
  config: AppConfig,
  pool: Pool,
  overrides: {
    provisioner?: Provisioner;
    logger?: ReconciliationLogger;
    notifications?: NotificationOverrides;
    usageData?: Pick<UsageDataClient, 'push'>;
    /** The push run's catch-up of undelivered package crossings (default: delivered through the worker's client). */
    catchUpCrossings?: () => Promise<unknown>;
  } = {},
): OrderActivities & SupervisionActivities & ReconciliationActivityImpl & NotificationActivities & LicenseActivities & SettlementActivities & MeteringPushActivities & PackageActivities {
  const sealedBox = sealedBoxOf(config);
  // The marketplace's open API, APIG-signed: Query Order, and license/activate and license/heartbeat.
  const openApi = {
    apiBase: config.koogallery.apiBase,
    ...(config.koogallery.apiFallbackBase ? { fallbackBase: config.koogallery.apiFallbackBase } : {}),
    ak: config.koogallery.huaweiAk,
    sk: config.koogallery.huaweiSk,
  };
  const queryOrderClient = createQueryOrderClient(openApi);
  const orderActivities = createOrderActivities({
    pool,
    sealedBox,
    provisioner: overrides.provisioner ?? createProvisioner(config.provisioner, { pool, sealedBox }),
    queryOrder: (orderId, orderLineId) => queryOrderClient.queryOrder(orderId, orderLineId),
    accessKey: config.koogallery.accessKey,
    otherAccessKeys: config.koogallery.otherAccessKeys,
    supervisionTermsFor: createSupervisionCatalogue(config.supervision),
  });
  // Notifications: the supervision's activity starts a notificationWorkflow per message and channel (through the
  // worker's own client, on the task queue of the workflow asking); deliverNotification sends it.
  const notifying = overrides.notifications ?? {};
  const notificationLogger = notifying.logger ?? createLogger({ level: config.logLevel, name: 'koogallery-worker' });
  const supervisionActivities = createSupervisionActivities({
    pool,
    enqueueNotifications: createNotificationEnqueuer({ routing: config.notifications.routing, ...(notifying.retry ? { retry: notifying.retry } : {}) }),
  });
  const notificationActivities = createNotificationActivities({
    channels: channelsFromConfig(config.notifications, notificationLogger),
    logger: notificationLogger,
    metrics: notifying.metrics ?? runtimeNotificationMetrics(),
  });
  // Reconciliation (ops): asks order workflows through the worker's own client (the activity context's).
  const reconciliationActivities = createReconciliationActivities({
    pool,
    queryOrder: (orderId, orderLineId) => queryOrderClient.queryOrder(orderId, orderLineId),
    ...(overrides.logger ? { logger: overrides.logger } : {}),
  });
  // Licenses are signed here, in the worker, with the active key; without a configured key issuing fails for good.
  const { keys, activeKid, issuer } = config.licenses;
  const licenseActivities = createLicenseActivities({
    pool,
    signer: activeKid === undefined ? undefined : createLicenseSigner(createLicenseKeyRing(keys, activeKid), { issuer }),
    licenseCodes: createLicenseCodeClient(openApi),
  });
  // Settlement (§10): statements tell order workflows through the worker's own client; the invoice notice goes
  // to the merchant's contacts through the notification routing.
  const settlementActivities = createSettlementActivities({
    pool,
    settings: config.settlement,
    enqueueNotifications: createNotificationEnqueuer({ routing: config.notifications.routing, ...(notifying.retry ? { retry: notifying.retry } : {}) }),
    signalOrder: clientOrderSignaller(getClient),
    logger: notificationLogger,
  });
  // Metering: the usage push, signed with the merchant's docking key (spec §2.5).
  const meteringActivities = createMeteringActivities({
    pool,
    usageData:
      overrides.usageData ??
      createUsageDataClient({ apiBase: config.metering.usageApiBase, key: config.koogallery.accessKey, timeoutMs: config.metering.pushTimeoutMs }),
    closeDelayMs: config.metering.pushCloseDelayMs,
    maxAttempts: config.metering.pushMaxAttempts,
    // Crossings the API stored but could not tell (and releases of packages still waiting), through the
    // activity's own client.
    catchUpCrossings:
      overrides.catchUpCrossings ??
      (() =>
        catchUpPackageCrossings({
          pool,
          signal: packageSignaller({
            client: getClient(),
            taskQueue: config.temporal.taskQueue,
            repurchaseWindowMs: config.metering.repurchaseWindowMs,
            pollIntervalMs: config.metering.repurchasePollMs,
            onError: (err, c) => notificationLogger.warn({ err: (err as Error).message, instanceId: c.instanceId, crossing: c.kind }, 'package crossing still undelivered'),
          }),
        })),
    onCatchUpError: (err) => notificationLogger.error({ err: (err as Error).message }, 'package crossing catch-up failed'),
    heartbeat: () => Context.current().heartbeat(),
  });
  // Packages: the buyer is told through the notification context; a used-up package is frozen through the orders
  // context's service, by the same update the marketplace's FREEZE runs (its workflow stays the one writer).
  const packageActivities = createPackageActivities({
    pool,
    packages: config.metering.packages,
    enqueueNotifications: createNotificationEnqueuer({ routing: config.notifications.routing, ...(notifying.retry ? { retry: notifying.retry } : {}) }),
    freeze: async (instanceId) => {
      const orders = createOrderService({
        client: getClient(),
        pool,
        taskQueue: config.temporal.taskQueue,
        accessKey: config.koogallery.accessKey,
        sealedBox,
        budgetMs: 30_000,
      });
      const outcome = await orders.execute({ kind: 'freeze', instanceId, interfaceVersion: 'V2', testOrder: false });
      // Frozen (or already), or gone (released: nothing to stop). Anything else is retried by the activity.
      if (outcome.kind === 'instance-not-found' || (outcome.kind === 'answered' && outcome.code === '000000')) return;
      throw new Error(`freezing ${instanceId} answered ${outcome.kind}${'code' in outcome ? ` ${outcome.code}` : ''}`);
    },
  });
  return { ...orderActivities, ...supervisionActivities, ...reconciliationActivities, ...notificationActivities, ...licenseActivities, ...settlementActivities, ...meteringActivities, ...packageActivities };
}

export { createOrderActivities, type OrderActivities } from '../orders/activities.js';
