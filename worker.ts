// Composition root of the worker process: configuration, the one pg pool, the one Temporal connection, the
// activities factory, and the Worker. Drains on SIGTERM/SIGINT, once, however many of them arrive.
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import { createActivities } from './src/main/worker-activities.js';
import { describeConfig, loadConfig } from './src/platform/config.js';
import { createPool } from './src/platform/db/pool.js';
import { createLogger } from './src/platform/logger.js';
import { ensureReconciliationSchedule } from './src/reconciliation/schedule.js';
import { ensureSettlementSchedule } from './src/settlement/schedule.js';
import { ensureMeteringPushSchedule } from './src/metering/schedule.js';
import { connectWorker } from './src/platform/temporal/native-connection.js';
import { createOrderWorker, workerPrometheusExporter } from './src/platform/temporal/worker.js';

const config = loadConfig();
const logger = createLogger({ level: config.logLevel, name: 'koogallery-worker' });
if (config.devDefaultsUsed.length > 0) logger.warn({ settings: config.devDefaultsUsed }, 'using development defaults for secrets: never do this in production');
logger.info({ config: describeConfig(config) }, 'starting worker');

// The SDK's own log lines (worker state, activity and workflow-task failures, with workflowId, activityType,
// attempt) go through the same JSON logger as ours, so one log pipeline reads the whole worker.
const SDK_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
const sdkLogger = logger.child({ component: 'temporal-sdk' });
Runtime.install({
  logger: new DefaultLogger('INFO', (entry) => {
    const { error, ...meta } = (entry.meta ?? {}) as { error?: unknown } & Record<string, unknown>;
    sdkLogger[SDK_LEVEL[entry.level]]({ ...meta, ...(error instanceof Error ? { err: { type: error.name, message: error.message } } : {}) }, entry.message);
  }),
  telemetryOptions: {
    logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
    // The SDK's runtime metrics (task latencies, cache, slots) for Prometheus: `_total` counters, durations in
    // seconds (docs/metrics.md).
    metrics: workerPrometheusExporter(`0.0.0.0:${config.workerMetricsPort}`),
  },
  // The signals are ours (below): the Runtime's own handler would call Worker.shutdown() a second time when SIGINT
  // and SIGTERM both arrive, and that throws IllegalStateError.
  shutdownSignals: [],
});

// Idempotent: the first signal starts the drain (bounded by the worker's shutdownGraceTime); later ones, such as a
// terminal's Ctrl-C followed by a supervisor's SIGTERM, are noted and change nothing. A signal during startup (a
// connection still retrying) ends the process at once: nothing runs yet that could be drained.
let requestStop!: () => void;
const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
let running = false;
let stopSignal: NodeJS.Signals | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!running) {
      logger.info({ signal }, 'stopped during startup');
      process.exit(0);
    }
    if (stopSignal) {
      logger.info({ signal, first: stopSignal }, 'already draining');
      return;
    }
    stopSignal = signal;
    logger.info({ signal }, 'draining worker');
    requestStop();
  });
}

const pool = createPool({ url: config.database.url, max: config.database.poolMax, applicationName: 'koogallery-worker' });
const connection = await connectWorker(config.temporal);
const worker = await createOrderWorker({
  connection,
  namespace: config.temporal.namespace,
  taskQueue: config.temporal.taskQueue,
  // Notifications are workflows on this task queue: this worker delivers them through the configured channels and
  // counts them on its metrics endpoint (koogallery_notifications_*_total).
  activities: createActivities(config, pool, { logger: logger.child({ component: 'reconciliation' }), notifications: { logger } }),
  ...(config.temporal.workflowBundlePath ? { workflowBundlePath: config.temporal.workflowBundlePath } : {}),
});

// The schedules (reconciliation, settlement, metering push) are created, or updated to what this code says, at every
// start, once the worker polls: on a freshly created cluster the three took seconds, and a marketplace call arriving
// meanwhile waited for a worker and could be answered 000005 instead of at once. A failure is logged and does not keep
// the worker from serving orders. Test harnesses (APP_ENV=test) run workers on throwaway task queues against shared
// databases: a schedule would outlive them and scan every test's orders.
// Stopping cancels the schedule calls still under way, so that they do not hold up the drain.
const schedulesAbort = new AbortController();
async function manageSchedules(): Promise<void> {
  if (config.env === 'test') {
    logger.info('reconciliation, settlement and metering push schedules not managed (APP_ENV=test)');
    return;
  }
  const schedules = new Client({ connection, namespace: config.temporal.namespace });
  const { taskQueue } = config.temporal;
  const ensure = async (what: string, create: () => Promise<{ scheduleId: string; created: boolean }>): Promise<void> => {
    if (schedulesAbort.signal.aborted) return;
    try {
      const { scheduleId, created } = await connection.withAbortSignal(schedulesAbort.signal, create);
      logger.info({ scheduleId, created }, `${what} schedule ready`);
    } catch (err) {
      if (schedulesAbort.signal.aborted) logger.info(`${what} schedule left as it was: the worker is stopping`);
      else logger.error({ err: (err as Error).message }, `${what} schedule could not be created or updated`);
    }
  };
  await ensure('reconciliation', () => ensureReconciliationSchedule(schedules, { taskQueue }));
  // Settlement (§10): the monthly run on the bill date; holidays from configuration.
  await ensure('settlement', () =>
    ensureSettlementSchedule(schedules, { taskQueue, holidays: config.settlement.holidays, ...(config.settlement.schedulePaused ? { paused: true } : {}) }),
  );
  // Metering: the hourly usage push.
  await ensure('metering push', () =>
    ensureMeteringPushSchedule(schedules, { taskQueue, everyMinutes: config.metering.pushIntervalMinutes, offsetMs: config.metering.pushCloseDelayMs }),
  );
}

// The identity (pid@hostname) is what Temporal lists as this worker's poller, and what the health check
// (src/platform/temporal/worker-health-cli.ts, run in the same container) looks for.
logger.info({ taskQueue: config.temporal.taskQueue, identity: worker.options.identity, metrics: `:${config.workerMetricsPort}/metrics` }, 'worker running');
running = true;
let exitCode = 0;
const polling = worker.runUntil(stopRequested);
// Awaited (cancelled first) before the connection it uses closes; never rejects.
const schedulesManaged = manageSchedules().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'schedules not managed'));
try {
  await polling;
} catch (err) {
  logger.fatal({ err }, 'worker failed');
  exitCode = 1;
} finally {
  schedulesAbort.abort();
  await schedulesManaged;
  await connection.close();
  await pool.end();
  logger.info('worker stopped');
}
// Exit now rather than when the last handle closes: the SDK runtime's teardown takes a moment, and during it a
// late SIGTERM would find no handler and end the process with a signal instead of this exit code.
process.exit(exitCode);
