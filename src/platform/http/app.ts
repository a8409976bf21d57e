import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

// The one way this service builds an HTTP app: the platform endpoints it is asked for (liveness, readiness,
// metrics, static documents), the routers the composition root mounts, a JSON 404, and the one place an
// unexpected error becomes an answer. It knows no context: every route comes in as a mount.

/** A router (or any handler) mounted at a path. */
export interface HttpMount {
  readonly path: string;
  readonly handler: RequestHandler;
}

/** What an app serves; everything but `mounts` and `logger` is optional, so each listener gets only its own. */
export interface HttpAppOptions {
  readonly logger: Logger;
  readonly mounts: readonly HttpMount[];
  /** GET /healthz: the process answers (liveness; never reflects dependencies or the drain). */
  readonly health?: boolean;
  /** GET /readyz: 200 ready, 503 not ready or draining. */
  readonly readiness?: Readiness;
  /** GET /metrics: Prometheus text of this registry. */
  readonly metrics?: Registry;
  /** Static JSON documents by path (e.g. /openapi.json), serialised by the caller once. */
  readonly documents?: Readonly<Record<string, () => string>>;
  /**
   * While this says true (the process is draining), every answer carries `Connection: close`, so a keep-alive
   * client opens its next connection elsewhere instead of reusing one that is about to close.
   */
  readonly draining?: () => boolean;
}

/** Builds an Express app. It never listens: the composition root does (tests use port 0). */
export function createApp(o: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const { draining } = o;
  if (draining) {
    app.use((_req, res, next) => {
      if (draining()) res.setHeader('Connection', 'close');
      next();
    });
  }

  if (o.health) {
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
  }

  const { readiness } = o;
  if (readiness) {
    app.get('/readyz', async (_req, res) => {
      const report = await readiness.report();
      res.status(report.status === 'ready' ? 200 : 503).json(report);
    });
  }

  const { metrics } = o;
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.setHeader('Content-Type', metrics.contentType);
      res.end(await metrics.metrics());
    });
  }

  for (const [path, body] of Object.entries(o.documents ?? {})) {
    app.get(path, (_req, res) => {
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(body());
    });
  }

  for (const m of o.mounts) app.use(m.path, m.handler);

  app.use((req, res) => {
    res.status(404).json({ error: 'not found', path: req.path });
  });
  // The one place an unexpected error becomes an HTTP answer: a status and a short text, never a stack trace.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status >= 500) o.logger.error({ err: (err as Error).message }, 'unhandled error');
    if (!res.headersSent) res.status(status).json({ error: status >= 500 ? 'internal error' : 'bad request' });
  });
  return app;
}
