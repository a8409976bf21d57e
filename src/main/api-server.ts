// Composition root of the API process: configuration, the one pg pool, the one Temporal client, the app. Listens
// on PORT and drains on SIGTERM/SIGINT: stops accepting, lets in-flight marketplace calls finish, then closes.
import type { AddressInfo } from 'node:net';
import { describeConfig, loadConfig } from '../platform/config.js';
import { createNonceStore } from '../production-interface/nonce-store.js';
import { createPool } from '../platform/db/pool.js';
import { createLogger } from '../platform/logger.js';
import { connectTemporalClient } from '../platform/temporal/connection.js';
import { createApp, SAAS_PATH } from './app.js';
import { composeAppDeps } from './api-deps.js';

const config = loadConfig();
const logger = createLogger({ level: config.logLevel, name: 'koogallery-api' });
if (config.devDefaultsUsed.length > 0) logger.warn({ settings: config.devDefaultsUsed }, 'using development defaults for secrets: never do this in production');
logger.info({ config: describeConfig(config) }, 'starting api');

const pool = createPool({ url: config.database.url, max: config.database.poolMax, applicationName: 'koogallery-api' });
const client = await connectTemporalClient(config.temporal);
const app = createApp(composeAppDeps(config, pool, client, logger));

const server = app.listen(config.http.port, config.http.host, () => {
  const { port } = server.address() as AddressInfo;
  logger.info({ url: `http://${config.http.host}:${port}${SAAS_PATH}` }, 'api listening');
});
// The marketplace waits 5 s; a connection idle longer than that is not one of its calls.
server.keepAliveTimeout = 6000;
server.requestTimeout = 10_000;

const nonces = createNonceStore(pool);
const purge = setInterval(() => void nonces.purgeExpired().catch(() => undefined), 60_000);
purge.unref();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining api');
    clearInterval(purge);
    server.close(() => {
      void (async () => {
        await client.connection.close().catch(() => undefined);
        await pool.end().catch(() => undefined);
        logger.info('api stopped');
        process.exit(0);
      })();
    });
    server.closeIdleConnections();
    // In-flight calls answer within the 5 s budget; do not wait forever for a stuck socket.
    setTimeout(() => process.exit(0), 8000).unref();
  });
}
