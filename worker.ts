// Composition root of the worker process: configuration, the one pg pool, the one Temporal connection, the
// activities factory, and the Worker. Drains on SIGTERM/SIGINT.
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities } from './src/activities/index.js';
import { describeConfig, loadConfig } from './src/config.js';
import { createPool } from './src/db/pool.js';
import { createLogger } from './src/logger.js';
import { connectWorker } from './src/temporal/native-connection.js';
import { createOrderWorker } from './src/worker/order-worker.js';

const config = loadConfig();
const logger = createLogger({ level: config.logLevel, name: 'koogallery-worker' });
if (config.devDefaultsUsed.length > 0) logger.warn({ settings: config.devDefaultsUsed }, 'using development defaults for secrets: never do this in production');
logger.info({ config: describeConfig(config) }, 'starting worker');

Runtime.install({
  telemetryOptions: {
    logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
    // The SDK's runtime metrics (task latencies, cache, slots) for Prometheus.
    metrics: { prometheus: { bindAddress: `0.0.0.0:${config.workerMetricsPort}` } },
  },
});

const pool = createPool({ url: config.database.url, max: config.database.poolMax, applicationName: 'koogallery-worker' });
const connection = await connectWorker(config.temporal);
const worker = await createOrderWorker({
  connection,
  namespace: config.temporal.namespace,
  taskQueue: config.temporal.taskQueue,
  activities: createActivities(config, pool),
  ...(config.temporal.workflowBundlePath ? { workflowBundlePath: config.temporal.workflowBundlePath } : {}),
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'draining worker');
    worker.shutdown();
  });
}
logger.info({ taskQueue: config.temporal.taskQueue, metrics: `:${config.workerMetricsPort}/metrics` }, 'worker running');
try {
  await worker.run();
} finally {
  await connection.close();
  await pool.end();
  logger.info('worker stopped');
}
