import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Readiness } from './readiness.js';

// Listening and draining. A drain has two steps: first the process says it is draining (GET /readyz turns 503)
// while it still accepts and answers every call, for as long as a load balancer needs to notice and stop sending
// it new ones; then the listeners stop accepting, in-flight calls finish, and idle keep-alive connections close.

/**
 * How long the public listener keeps an idle keep-alive connection. Whatever fronts it (deploy/caddy, an nginx
 * ingress, a cloud load balancer: 60 s idle by default) reuses its upstream connections and must be the one to
 * close an idle one: if we close first, a request the proxy sends at that moment is reset, and a proxy does not
 * resend a POST, so the marketplace gets a 502 (seen in the two-API reliability test with our old 6 s against
 * Caddy's 2 minutes). 65 s outlasts the usual 60 s; deploy/caddy sets 30 s. Node bounds a request's headers from
 * its first byte, not from the idle time, so `headersTimeout` needs no matching change.
 */
export const PUBLIC_KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Listens on host:port (0: any free port) and resolves once the socket is bound. */
export function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.once('error', reject);
  });
}

/** The `http://host:port` a listening server is reached at. */
export function originOf(server: Server, host: string): string {
  const { port } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown}:${port}`;
}

/** How a drain goes. */
export interface DrainOptions {
  readonly servers: readonly Server[];
  readonly readiness: Readiness;
  /** How long to keep accepting calls after /readyz turned 503. */
  readonly delayMs: number;
  /** How long in-flight calls may take once the listeners stop accepting; then their sockets are cut. */
  readonly closeTimeoutMs: number;
  readonly logger: Logger;
  /** Resolves when the drain should skip the rest of its delay (a second signal). */
  readonly hurry?: Promise<void>;
}

/** Drains the servers; resolves true when every in-flight call finished within `closeTimeoutMs`. */
export async function drain(o: DrainOptions): Promise<boolean> {
  o.readiness.startDrain();
  if (o.delayMs > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, o.delayMs))), o.hurry ?? new Promise<void>(() => undefined)]);
    clearTimeout(timer);
  }
  o.logger.info('closing listeners');
  const closed = Promise.all(o.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  for (const s of o.servers) s.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), o.closeTimeoutMs)));
  const clean = await Promise.race([closed.then(() => true as const), timedOut]);
  clearTimeout(timer);
  if (!clean) {
    o.logger.warn({ closeTimeoutMs: o.closeTimeoutMs }, 'in-flight calls outlasted the drain; closing their connections');
    for (const s of o.servers) s.closeAllConnections();
  }
  return clean;
}
