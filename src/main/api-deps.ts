import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AppConfig } from '../platform/config.js';
import { recordInboxEntry } from '../production-interface/inbox-store.js';
import { pendingMigrations } from '../platform/db/migrate.js';
import { createNonceStore } from '../production-interface/nonce-store.js';
import { createQueryOrderClient } from '../marketplace-api/query-order-client.js';
import { createSealedBox } from '../platform/sealed-box.js';
import type { AppDeps } from './app.js';
import { createApiMetrics } from '../platform/http/metrics.js';
import { createOrderService } from '../orders/service.js';
import { createSupervisionService } from '../supervision/service.js';
import { registerDriftGauges } from '../reconciliation/gauges.js';
import { registerSupervisionGauges } from '../supervision/gauges.js';

/** Wires the app's dependencies from configuration, the one pool and the one Temporal client. */
export function composeAppDeps(config: AppConfig, pool: Pool, client: Client, logger: Logger): AppDeps {
  const orders = createOrderService({
    client,
    pool,
    taskQueue: config.temporal.taskQueue,
    accessKey: config.koogallery.accessKey,
    sealedBox: createSealedBox(config.dataEncryptionKey),
    budgetMs: config.koogallery.provisionBudgetMs,
  });
  const supervision = createSupervisionService({ client, pool });
  // Query Order for order notifications: short, because the marketplace waits 5 s for the whole answer.
  const queryOrderClient = createQueryOrderClient({
    apiBase: config.koogallery.apiBase,
    ...(config.koogallery.apiFallbackBase ? { fallbackBase: config.koogallery.apiFallbackBase } : {}),
    ak: config.koogallery.huaweiAk,
    sk: config.koogallery.huaweiSk,
    timeoutMs: 1500,
  });
  const nonces = createNonceStore(pool);
  const metrics = createApiMetrics();
  registerDriftGauges(metrics.registry, pool);
  registerSupervisionGauges(metrics.registry, pool, { reminderAfterDays: config.supervision.reminderAfterDays });
  return {
    accessKey: config.koogallery.accessKey,
    maxBodyBytes: config.http.maxBodyBytes,
    v1ToleranceMs: config.koogallery.v1TimestampToleranceMs,
    v2ToleranceMs: config.koogallery.v2TimestampToleranceMs,
    orders,
    nonces,
    metrics,
    logger,
    ops: { token: config.opsApiToken, pool, client, logger, supervision },
    orderNotification: {
      accessKey: config.koogallery.accessKey,
      maxBodyBytes: config.http.maxBodyBytes,
      v2ToleranceMs: config.koogallery.v2TimestampToleranceMs,
      nonces,
      queryOrder: (orderId, orderLineId) => queryOrderClient.queryOrder(orderId, orderLineId),
      supervision,
      logger,
      metrics,
      recordInbox: (e) => recordInboxEntry(pool, e),
    },
    recordInbox: (e) => recordInboxEntry(pool, e),
    readinessChecks: [
      async () => {
        await pool.query('SELECT 1');
        return { name: 'postgres', ok: true };
      },
      async () => {
        const pending = await pendingMigrations(pool);
        return { name: 'migrations', ok: pending.length === 0, ...(pending.length ? { detail: `pending: ${pending.join(', ')}` } : {}) };
      },
      async () => {
        await client.workflowService.getSystemInfo({});
        return { name: 'temporal', ok: true };
      },
    ],
  };
}
