// Composition root of the API process: configuration, the one pg pool, the one Temporal client, the two apps. The
// public listener (PORT) serves the marketplace; the internal one (INTERNAL_PORT) health, readiness, metrics, the
// OpenAPI document and the ops API. On SIGTERM/SIGINT it drains: /readyz turns 503 at once while every call is
// still answered for DRAIN_DELAY_MS (load balancers stop sending new ones), then both listeners stop accepting,
// in-flight marketplace calls finish, and the process closes its connections and exits. A second signal skips
// the rest of the delay.
import { describeConfig, loadConfig } from '../platform/config.js';
import { createPool } from '../platform/db/pool.js';
import { PUBLIC_KEEP_ALIVE_TIMEOUT_MS, drain, listen, originOf } from '../platform/http/drain.js';
import { createLogger } from '../platform/logger.js';
import { connectTemporalClient } from '../platform/temporal/connection.js';
import { SAAS_PATH } from '../production-interface/paths.js';
import { composeApi } from './api-deps.js';

const config = loadConfig();
const logger = createLogger({ level: config.logLevel, name: 'koogallery-api' });
if (config.devDefaultsUsed.length > 0) logger.warn({ settings: config.devDefaultsUsed }, 'using development defaults for secrets: never do this in production');
logger.info({ config: describeConfig(config) }, 'starting api');

const pool = createPool({ url: config.database.url, max: config.database.poolMax, applicationName: 'koogallery-api' });
const client = await connectTemporalClient(config.temporal);
const api = composeApi(config, pool, client, logger);

const publicServer = await listen(api.public, config.http.port, config.http.host);
const internalServer = await listen(api.internal, config.http.internalPort, config.http.internalHost);
// Longer than the idle timeout of any proxy in front, which must close idle connections before we do.
publicServer.keepAliveTimeout = PUBLIC_KEEP_ALIVE_TIMEOUT_MS;
publicServer.requestTimeout = 10_000;
internalServer.requestTimeout = 10_000;
logger.info(
  { url: `${originOf(publicServer, config.http.host)}${SAAS_PATH}`, internal: originOf(internalServer, config.http.internalHost) },
  'api listening',
);

const purge = setInterval(() => void api.nonces.purgeExpired().catch(() => undefined), 60_000);
purge.unref();

// In-flight calls answer within the marketplace's 5 s budget; a stuck socket is cut after this.
const CLOSE_TIMEOUT_MS = 8000;
let hurry: (() => void) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (hurry) {
      logger.info({ signal }, 'second signal: closing now');
      hurry();
      return;
    }
    const hurried = new Promise<void>((resolve) => (hurry = resolve));
    logger.info({ signal, drainDelayMs: config.http.drainDelayMs }, 'draining api: /readyz answers 503, calls are still served');
    clearInterval(purge);
    void (async () => {
      const clean = await drain({
        servers: [publicServer, internalServer],
        readiness: api.readiness,
        delayMs: config.http.drainDelayMs,
        closeTimeoutMs: CLOSE_TIMEOUT_MS,
        logger,
        hurry: hurried,
      });
      await api.metering.stopRedelivery();
      await client.connection.close().catch(() => undefined);
      // The last calls' inbox rows are written after their answers: keep the pool until they are in.
      await api.inbox.flush();
      await pool.end().catch(() => undefined);
      logger.info({ clean }, 'api stopped');
      process.exit(0);
    })();
  });
}
