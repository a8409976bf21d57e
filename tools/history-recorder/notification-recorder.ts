// Records the replay fixtures of notificationWorkflow: runs each delivery path with the real workflow code, the
// real enqueuer (the production start options) and the real delivery activity behind a scripted channel, then
// exports each run's history into test/replay/histories/notificationWorkflow/<scenario>.json (the format of
// export-history.ts, which writes them).
//
//   npx tsx tools/history-recorder/notification-recorder.ts [--only <scenario>[,<scenario>...]] [--list]
//
// Server: TEMPORAL_ADDRESS (default 127.0.0.1:7233) and TEMPORAL_NAMESPACE (default `default`). A Temporal server
// already answering there is used (our search attributes are registered if missing); otherwise a dev server is
// started on that port for the recording and stopped after. Retry intervals are shortened to milliseconds so the
// retried paths record in seconds: a retry policy is part of the run's input and of no command, so replay does not
// depend on its values. Self-contained on purpose: record-histories.ts holds the other workflows' catalogues.
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createNotificationActivities } from '../../src/notifications/activities.js';
import { NotificationDeliveryError, type NotificationChannel } from '../../src/notifications/channels.js';
import {
  NOTIFICATION_DEAD_LETTER_TYPE,
  NOTIFICATION_WORKFLOW_TYPE,
  notificationDedupeKey,
  notificationWorkflowId,
  type NotificationRequest,
  type NotificationResult,
  type NotificationRetryPolicy,
} from '../../src/notifications/contract.js';
import { parseNotificationRouting } from '../../src/notifications/routing.js';
import { createNotificationEnqueuer } from '../../src/notifications/service.js';
import { createLogger } from '../../src/platform/logger.js';
import { ensureDevServer } from '../../scripts/infra/dev-server.js';
import { quietBundlerLogger } from '../testing/quiet-logger.js';
import { exportHistory, repoRelative } from './export-history.js';

const CHANNEL = 'sms';

/** One recorded path: how the channel behaves, the policy the run gets, and how the run must end. */
interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Attempts that fail before one succeeds (Infinity: every attempt fails). */
  readonly failures: number;
  /** The failures are the gateway refusing the notification (not retried). */
  readonly permanent?: boolean;
  readonly retry: NotificationRetryPolicy;
  readonly expect: { readonly status: 'COMPLETED'; readonly attempt: number } | { readonly status: 'FAILED'; readonly lastFailureType: string };
}

const FAST: NotificationRetryPolicy = { maximumAttempts: 10, initialIntervalMs: 100, backoffCoefficient: 2, maximumIntervalMs: 1000 };

const SCENARIOS: readonly Scenario[] = [
  { name: 'delivered-first-try', description: 'the channel sends it at once', failures: 0, retry: FAST, expect: { status: 'COMPLETED', attempt: 1 } },
  { name: 'retried-then-delivered', description: 'two transient failures, delivered on the third attempt', failures: 2, retry: FAST, expect: { status: 'COMPLETED', attempt: 3 } },
  {
    name: 'dead-lettered-after-retries',
    description: 'every attempt fails: a dead letter after maximumAttempts (3)',
    failures: Infinity,
    retry: { ...FAST, maximumAttempts: 3 },
    expect: { status: 'FAILED', lastFailureType: 'NOTIFICATION_DELIVERY_FAILED' },
  },
  {
    name: 'dead-lettered-rejected',
    description: 'the gateway refuses it (HTTP 422): a dead letter at the first attempt',
    failures: Infinity,
    permanent: true,
    retry: FAST,
    expect: { status: 'FAILED', lastFailureType: 'NOTIFICATION_REJECTED' },
  },
];

/** A channel failing each dedupe key's first `failures` attempts as its scenario says. */
function scriptedChannel(byKey: Map<string, Scenario>): NotificationChannel {
  const attempts = new Map<string, number>();
  return {
    name: CHANNEL,
    async send(n) {
      const seen = (attempts.get(n.dedupeKey) ?? 0) + 1;
      attempts.set(n.dedupeKey, seen);
      const s = byKey.get(n.dedupeKey);
      if (s && seen <= s.failures) {
        throw new NotificationDeliveryError(s.permanent ? `${CHANNEL} webhook: HTTP 422 (unprocessable)` : `${CHANNEL} webhook: HTTP 503`, s.permanent === true);
      }
    },
  };
}

/** Waits for the run and checks it ended as the scenario says: a fixture of a path that did not happen would lie. */
async function checkOutcome(client: Client, workflowId: string, s: Scenario): Promise<void> {
  let result: NotificationResult | undefined;
  let error: unknown;
  try {
    result = (await client.workflow.getHandle(workflowId).result()) as NotificationResult;
  } catch (err) {
    error = err;
  }
  const got = result ? `delivered at attempt ${result.attempt}` : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (s.expect.status === 'COMPLETED') {
    if (result?.attempt !== s.expect.attempt) throw new Error(`${s.name}: expected delivery at attempt ${s.expect.attempt}, got ${got}`);
    return;
  }
  const dead = error instanceof WorkflowFailedError ? error.cause : undefined;
  const lastFailureType = dead instanceof ApplicationFailure ? (dead.details?.[0] as { lastFailureType?: string } | undefined)?.lastFailureType : undefined;
  if (!(dead instanceof ApplicationFailure) || dead.type !== NOTIFICATION_DEAD_LETTER_TYPE || lastFailureType !== s.expect.lastFailureType) {
    throw new Error(`${s.name}: expected ${NOTIFICATION_DEAD_LETTER_TYPE} after ${s.expect.lastFailureType}, got ${got}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { only: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: npx tsx tools/history-recorder/notification-recorder.ts [--only <scenario>[,<scenario>...]] [--list]');
    return;
  }
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${NOTIFICATION_WORKFLOW_TYPE}/${s.name}: ${s.description}`);
    return;
  }
  const only = values.only?.split(',').map((x) => x.trim());
  const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (see --list)`);
  const selected = SCENARIOS.filter((s) => !only || only.includes(s.name));

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const port = Number(address.split(':').at(-1));
  const server = await ensureDevServer({ port, uiPort: port + 1000, dbFile: join(tmpdir(), `notification-recorder-${Date.now()}.db`), namespace, logName: 'notification-recorder' });
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection, namespace });
  const taskQueue = `record-notifications-${randomUUID().slice(0, 8)}`;
  const byKey = new Map<string, Scenario>();
  const silent = createLogger({ level: 'silent', name: 'notification-recorder' });
  const { code } = await bundleWorkflowCode({ workflowsPath: join(import.meta.dirname, '..', '..', 'src', 'workflows.ts'), logger: quietBundlerLogger });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace,
    taskQueue,
    workflowBundle: { code },
    activities: createNotificationActivities({ channels: [scriptedChannel(byKey)], logger: silent }),
  });
  const running = worker.run();
  try {
    for (const s of selected) {
      const orderId = `REC${Date.now().toString(36).toUpperCase()}`;
      const request: NotificationRequest = {
        dedupeKey: `supervision-order-${orderId}:reminder:1:MERCHANT`,
        kind: 'SUPERVISION_REMINDER',
        recipient: 'MERCHANT',
        orderId,
        instanceId: `i-${orderId}`,
        subject: `Order ${orderId} unaccepted for 180 days`,
        body: 'The order has waited for acceptance for 180 days. It is never closed automatically; please bring it to acceptance.',
        data: { node: 'USER_ACCEPTANCE', days: 180, reminder: 1 },
      };
      const dedupeKey = notificationDedupeKey(request.dedupeKey, CHANNEL);
      byKey.set(dedupeKey, s);
      const enqueue = createNotificationEnqueuer({ routing: parseNotificationRouting(`MERCHANT=${CHANNEL}`), retry: s.retry, client: () => client, taskQueue: () => taskQueue });
      if ((await enqueue([request])) !== 1) throw new Error(`${s.name}: the notification was not started`);
      const workflowId = notificationWorkflowId(dedupeKey);
      await checkOutcome(client, workflowId, s);
      const out = await exportHistory(client, { workflowId, name: s.name });
      console.log(`${repoRelative(out.path)}: ${out.events} events (${s.description})`);
    }
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await nativeConnection.close();
    await connection.close();
    await server.stop();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
