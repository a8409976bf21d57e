import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { withDeadline } from '../platform/deadline.js';
import type { ApiMetrics } from '../platform/http/metrics.js';
import { openApiJson } from './openapi.js';
import { opsRouter, type OpsDeps } from '../ops-api/router.js';
import { ORDER_NOTIFICATION_PATH, orderNotificationRouter, type OrderNotificationDeps } from '../supervision/notification-routes.js';
import { productionInterfaceRouter, type ProductionInterfaceDeps } from '../orders/routes.js';

/** A named readiness check (Temporal reachable, PostgreSQL reachable, migrations applied). */
export type ReadinessCheck = () => Promise<{ name: string; ok: boolean; detail?: string }>;

/** Everything the HTTP app needs, built by the server's composition root (or a test). */
export interface AppDeps extends ProductionInterfaceDeps {
  readonly readinessChecks: readonly ReadinessCheck[];
  readonly metrics: ApiMetrics;
  readonly logger: Logger;
  /** The merchant operations API (/ops). */
  readonly ops: OpsDeps;
  /** The marketplace's order notification (user-side supervision events). */
  readonly orderNotification: OrderNotificationDeps;
}

/** The production-interface path the marketplace is configured with. */
export const SAAS_PATH = '/koogallery/saas';

/** Builds the Express app. It never listens: `server.ts` does, and tests use port 0. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all(
      deps.readinessChecks.map((check) => withTimeout(check(), 2000).catch((err: unknown) => ({ name: 'check', ok: false, detail: (err as Error).message }))),
    );
    const ok = checks.every((c) => c.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.registry.contentType);
    res.end(await deps.metrics.registry.metrics());
  });

  app.use(SAAS_PATH, productionInterfaceRouter(deps));
  app.use(ORDER_NOTIFICATION_PATH, orderNotificationRouter(deps.orderNotification));

  // Operations: the OpenAPI document of every endpoint, and the bearer-protected ops API.
  app.get('/openapi.json', (_req, res) => {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(openApiJson());
  });
  app.use('/ops', opsRouter(deps.ops));

  app.use((req, res) => {
    res.status(404).json({ error: 'not found', path: req.path });
  });
  // The one place an unexpected error becomes an HTTP answer: a status and a short text, never a stack trace.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status >= 500) deps.logger.error({ err: (err as Error).message }, 'unhandled error');
    if (!res.headersSent) res.status(status).json({ error: status >= 500 ? 'internal error' : 'bad request' });
  });
  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return withDeadline(p, ms, () => new Error(`timed out after ${ms} ms`));
}
