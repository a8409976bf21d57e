import express, { type Request, type Router } from 'express';
import type { Logger } from 'pino';
import type { HttpMount } from '../app.js';
import { requireOperator, type OperatorDirectory } from './auth.js';
import { OpsError, OpsErrorCode, opsErrorHandler } from './errors.js';

// The door of the operations API (mounted at /ops on the internal listener): every request is authenticated as a
// named operator before any context route sees it, no answer is cached, an unknown path is a NOT_FOUND in the ops
// error shape, and every failure of every context's routes goes through the one ops error mapper.

/** The path the ops API is mounted at. */
export const OPS_PATH = '/ops';

/** Builds the ops router from the contexts' routers (each mounted at its own path under /ops). */
export function createOpsRouter(o: { readonly operators: OperatorDirectory; readonly logger: Logger; readonly routes: readonly HttpMount[] }): Router {
  const router = express.Router();
  router.use(requireOperator(o.operators, o.logger));
  router.use((_req, res, next) => {
    // Order data: never cached by a proxy or the browser.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  for (const r of o.routes) router.use(r.path, r.handler);
  router.use((req: Request) => {
    throw new OpsError(OpsErrorCode.NotFound, `no ops endpoint ${req.method} ${req.path}`);
  });
  router.use(opsErrorHandler(o.logger));
  return router;
}
