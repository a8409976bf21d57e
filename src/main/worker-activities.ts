import type { Pool } from 'pg';
import type { AppConfig } from '../platform/config.js';
import { createQueryOrderClient } from '../marketplace-api/query-order-client.js';
import { createReconciliationActivities, type ReconciliationActivityImpl, type ReconciliationLogger } from '../reconciliation/activities.js';
import { createSealedBox } from '../platform/sealed-box.js';
import { enqueueNotifications } from '../notifications/outbox.js';
import { createSupervisionCatalogue } from '../supervision/catalogue.js';
import { createOrderActivities, type OrderActivities } from '../orders/activities.js';
import { createSupervisionActivities, type SupervisionActivities } from '../supervision/activities.js';
import { createProvisioner } from '../orders/provisioning/index.js';
import type { Provisioner } from '../orders/provisioning/provisioner.js';

/** Builds every activity the worker registers, from configuration and the process's one pool. */
export function createActivities(
  config: AppConfig,
  pool: Pool,
  overrides: { provisioner?: Provisioner; logger?: ReconciliationLogger } = {},
): OrderActivities & SupervisionActivities & ReconciliationActivityImpl {
  const sealedBox = createSealedBox(config.dataEncryptionKey);
  const queryOrderClient = createQueryOrderClient({
    apiBase: config.koogallery.apiBase,
    ...(config.koogallery.apiFallbackBase ? { fallbackBase: config.koogallery.apiFallbackBase } : {}),
    ak: config.koogallery.huaweiAk,
    sk: config.koogallery.huaweiSk,
  });
  const orderActivities = createOrderActivities({
    pool,
    sealedBox,
    provisioner: overrides.provisioner ?? createProvisioner(config.provisioner, { pool, sealedBox }),
    queryOrder: (orderId, orderLineId) => queryOrderClient.queryOrder(orderId, orderLineId),
    accessKey: config.koogallery.accessKey,
    supervisionTermsFor: createSupervisionCatalogue(config.supervision),
  });
  const supervisionActivities = createSupervisionActivities({
    pool,
    enqueueNotifications: (requests) => enqueueNotifications(pool, requests, config.notifications.routing),
  });
  // Reconciliation (ops): asks order workflows through the worker's own client (the activity context's).
  const reconciliationActivities = createReconciliationActivities({
    pool,
    queryOrder: (orderId, orderLineId) => queryOrderClient.queryOrder(orderId, orderLineId),
    ...(overrides.logger ? { logger: overrides.logger } : {}),
  });
  return { ...orderActivities, ...supervisionActivities, ...reconciliationActivities };
}

export { createOrderActivities, type OrderActivities } from '../orders/activities.js';
