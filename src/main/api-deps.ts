import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../platform/config.js';
import { pendingMigrations } from '../platform/db/migrate.js';
import { pingDatabase } from '../platform/db/pool.js';
import { createApp } from '../platform/http/app.js';
import { batchWaitingGauge, createApiMetrics, type ApiMetrics } from '../platform/http/metrics.js';
import { createOperatorDirectory } from '../platform/http/ops/auth.js';
import { OPS_PATH, createOpsRouter } from '../platform/http/ops/router.js';
import { createReadiness, type Readiness } from '../platform/http/readiness.js';
import { sealedBoxOf } from '../platform/sealed-box.js';
import { createQueryOrderClient } from '../marketplace-api/query-order-client.js';
import { listInboxCalls, type InboxWriter } from '../production-interface/inbox-store.js';
import { createMeasuredInboxWriter } from '../production-interface/inbox-metrics.js';
import { createNonceStore, type NonceStore } from '../production-interface/nonce-store.js';
import { SAAS_PATH } from '../production-interface/paths.js';
import { orderOpsRoutes } from '../orders/ops-routes.js';
import { answerFor } from '../orders/answers.js';
import { productionInterfaceRouter } from '../orders/routes.js';
import { createOrderService, type OrderServiceDeps } from '../orders/service.js';
import { registerDriftGauges } from '../reconciliation/gauges.js';
import { driftOpsRoutes, openDriftOf } from '../reconciliation/ops-routes.js';
import { registerSupervisionGauges } from '../supervision/gauges.js';
import { registerNotificationGauges } from '../notifications/gauges.js';
import { ORDER_NOTIFICATION_PATH, orderNotificationRouter } from '../supervision/notification-routes.js';
import { supervisionOpsRoutes, supervisionSummaryOf } from '../supervision/ops-routes.js';
import { createSupervisionService } from '../supervision/service.js';
import { publicJwk } from '../licenses/key-settings.js';
import { LICENSE_CODE_PATH, licenseCodeRouter } from '../licenses/code-routes.js';
import { createLicenseCodeService } from '../licenses/code-service.js';
import { LICENSE_PATH, licenseRouter } from '../licenses/routes.js';
import { LICENSE_INSTANCE_WORKFLOW, createLicenseService } from '../licenses/service.js';
import { settlementOpsRoutes } from '../settlement/ops-routes.js';
import { registerSettlementGauges } from '../settlement/gauges.js';
import { createSettlementService } from '../settlement/service.js';
import { METERING_PATH, meteringIntakeRouter } from '../metering/routes.js';
import { registerMeteringGauges } from '../metering/gauges.js';
import { meteringOpsRoutes } from '../metering/ops-routes.js';
import { API_CROSSING_REDELIVERY, createMeteringService, packageSignaller, type MeteringService } from '../metering/service.js';
import { openApiJson } from './openapi.js';

// The API process's composition root: every dependency wired once, and the two HTTP apps built from them. The
// public app serves only what the marketplace calls (/koogallery/*); the internal app serves health, readiness,
// metrics, the OpenAPI document and the ops API. Each context brings its own routes; the platform builds the apps.

/** The API's two apps and what the server needs to run and drain them. */
export interface ApiSurfaces {
  /** PORT: the production interface and the order notification, nothing else. */
  readonly public: Express;
  /** INTERNAL_PORT: /healthz, /readyz, /metrics, /openapi.json, /ops, /metering (usage intake). */
  readonly internal: Express;
  readonly readiness: Readiness;
  readonly metrics: ApiMetrics;
  readonly nonces: NonceStore;
  /** The marketplace-call audit rows not yet written: flush before the pool ends. */
  readonly inbox: InboxWriter;
  /** Usage intake; its retry of undelivered package crossings stops before the pool ends. */
  readonly metering: MeteringService;
}

/** Wires the API from configuration, the one pool and the one Temporal client. */
export function composeApi(config: AppConfig, pool: Pool, client: Client, logger: Logger): ApiSurfaces {
  const metering = createMeteringService({
    pool,
    packages: config.metering.packages,
    futureToleranceMs: config.metering.futureToleranceMs,
    // Package workflows hear only thresholds crossed and quotas used up, never single records.
    onPackageCrossings: packageSignaller({
      client,
      taskQueue: config.temporal.taskQueue,
      repurchaseWindowMs: config.metering.repurchaseWindowMs,
      pollIntervalMs: config.metering.repurchasePollMs,
      onError: (err, c) => logger.error({ err: (err as Error).message, instanceId: c.instanceId, crossing: c.kind }, 'package workflow not told of a crossing'),
    }),
    // Told again from here, soon, rather than only by the next hourly push run.
    redelivery: API_CROSSING_REDELIVERY,
  });
  const metrics = createApiMetrics();
  // The backlogs of the batched statements below (nonce claims, instance version reads), as a gauge.
  const batchers = batchWaitingGauge(metrics.registry);
  const orderServiceDeps: OrderServiceDeps = {
    client,
    pool,
    taskQueue: config.temporal.taskQueue,
    settlement: config.settlement.orderLines,
    accessKey: config.koogallery.accessKey,
    sealedBox: sealedBoxOf(config),
    budgetMs: config.koogallery.provisionBudgetMs,
    // queryInstance's usage of on-demand and package instances comes from the metering context.
    usageOf: (ids, o) => metering.usageOf(ids, o),
    batchers,
  };
  const orders = createOrderService(orderServiceDeps);
  // License products: the same order service, its purchases starting license instances (runOrderLifecycle + ledger).
  const licenseOrders = createOrderService({ ...orderServiceDeps, instanceWorkflow: LICENSE_INSTANCE_WORKFLOW });
  const licenses = createLicenseService({
    client,
    pool,
    runCommand: async (c, call) => answerFor(c, await licenseOrders.execute(c, call)),
    budgetMs: config.koogallery.provisionBudgetMs,
  });
  const supervision = createSupervisionService({ client, pool });
  const settlement = createSettlementService({ client, pool, taskQueue: config.temporal.taskQueue, holidays: config.settlement.holidays });
  // Query Order for order notifications: short, because the marketplace waits 5 s for the whole answer.
  const queryOrderClient = createQueryOrderClient({
    apiBase: config.koogallery.apiBase,
    ...(config.koogallery.apiFallbackBase ? { fallbackBase: config.koogallery.apiFallbackBase } : {}),
    ak: config.koogallery.huaweiAk,
    sk: config.koogallery.huaweiSk,
    timeoutMs: 1500,
  });
  // Group commit: under load one nonce INSERT per batch of calls, not per call (bench B3).
  const nonces = createNonceStore(pool, { groupCommit: true, watch: batchers });
  registerDriftGauges(metrics.registry, pool);
  registerSupervisionGauges(metrics.registry, pool, { reminderAfterDays: config.supervision.reminderAfterDays });
  registerNotificationGauges(metrics.registry, client);
  registerMeteringGauges(metrics.registry, pool);
  registerSettlementGauges(metrics.registry, pool);
  const inbox = createMeasuredInboxWriter(pool, metrics.registry, config.http);
  const recordInbox = (entry: Parameters<InboxWriter['record']>[0]) => inbox.record(entry);

  const readiness = createReadiness([
    {
      name: 'postgres',
      probe: async () => {
        await pingDatabase(pool);
        return { ok: true };
      },
    },
    {
      name: 'migrations',
      probe: async () => {
        const pending = await pendingMigrations(pool);
        return { ok: pending.length === 0, ...(pending.length ? { detail: `pending: ${pending.join(', ')}` } : {}) };
      },
    },
    {
      name: 'temporal',
      probe: async () => {
        await client.workflowService.getSystemInfo({});
        return { ok: true };
      },
    },
  ]);

  const productionInterface = {
    accessKey: config.koogallery.accessKey,
    otherAccessKeys: config.koogallery.otherAccessKeys,
    maxBodyBytes: config.http.maxBodyBytes,
    v1ToleranceMs: config.koogallery.v1TimestampToleranceMs,
    v2ToleranceMs: config.koogallery.v2TimestampToleranceMs,
    nonces,
    metrics,
    logger,
    recordInbox,
  };
  const publicApp = createApp({
    logger,
    draining: () => readiness.draining,
    mounts: [
      { path: SAAS_PATH, handler: productionInterfaceRouter({ ...productionInterface, orders }) },
      {
        path: LICENSE_PATH,
        handler: licenseRouter({
          ...productionInterface,
          licenses,
          // The API publishes the keys' public parts only; licenses are signed in the worker.
          jwks: { keys: config.licenses.keys.map(publicJwk) },
          saasInterface: productionInterfaceRouter({ ...productionInterface, orders: licenseOrders }),
        }),
      },
      {
        path: LICENSE_CODE_PATH,
        handler: licenseCodeRouter({
          ...productionInterface,
          codes: createLicenseCodeService({ client, pool, taskQueue: config.temporal.taskQueue, budgetMs: config.koogallery.provisionBudgetMs }),
        }),
      },
      {
        path: ORDER_NOTIFICATION_PATH,
        handler: orderNotificationRouter({
          accessKey: config.koogallery.accessKey,
          otherAccessKeys: config.koogallery.otherAccessKeys,
          maxBodyBytes: config.http.maxBodyBytes,
          v2ToleranceMs: config.koogallery.v2TimestampToleranceMs,
          nonces,
          queryOrder: (orderId, orderLineId) => queryOrderClient.queryOrder(orderId, orderLineId),
          supervision,
          budgetMs: config.koogallery.provisionBudgetMs,
          logger,
          metrics,
          recordInbox,
        }),
      },
    ],
  });

  const ops = createOpsRouter({
    operators: createOperatorDirectory(config.ops),
    logger,
    routes: [
      {
        path: '/orders',
        handler: orderOpsRoutes({
          pool,
          client,
          // What the other contexts know about an order, each read through its own context.
          related: {
            marketplaceCalls: (instanceId, orderId) => listInboxCalls(pool, instanceId, orderId),
            openDrift: (instanceId) => openDriftOf(pool, instanceId),
            supervision: (instanceId) => supervisionSummaryOf(pool, instanceId),
          },
        }),
      },
      { path: '/drift', handler: driftOpsRoutes({ pool }) },
      { path: '/supervision', handler: supervisionOpsRoutes({ pool, supervision, logger }) },
      { path: '/settlement', handler: settlementOpsRoutes({ pool, settlement, logger }) },
      { path: '/metering', handler: meteringOpsRoutes({ pool, client, taskQueue: config.temporal.taskQueue }) },
    ],
  });
  const internalApp = createApp({
    logger,
    health: true,
    readiness,
    metrics: metrics.registry,
    documents: { '/openapi.json': openApiJson },
    mounts: [
      { path: OPS_PATH, handler: ops },
      // Usage intake: called by the merchant's own product from inside its network, never by the marketplace,
      // so it stays off the public listener (which serves only what KooGallery calls).
      {
        path: METERING_PATH,
        handler: meteringIntakeRouter({ service: metering, token: config.metering.apiToken, maxBodyBytes: config.metering.maxBodyBytes, logger }),
      },
    ],
  });

  return { public: publicApp, internal: internalApp, readiness, metrics, nonces, inbox, metering };
}
