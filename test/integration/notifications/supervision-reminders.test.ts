import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../../src/main/worker-activities.js';
import { notificationWorkflowId, type NotificationResult } from '../../../src/notifications/contract.js';
import type { NotificationMetrics } from '../../../src/notifications/metrics.js';
import { loadConfig } from '../../../src/platform/config.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createLogger } from '../../../src/platform/logger.js';
import { SUPERVISION_WORKFLOW_TYPE, supervisionWorkflowId, type SupervisionInput } from '../../../src/supervision/contract.js';
import { addMissingSearchAttributes } from '../../../scripts/infra/dev-server.js';
import { createClockSkipper, type ClockSkipper } from '../../../tools/testing/clock-skipper.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The whole notification path, end to end through the worker: a supervision workflow (the production bundle)
// waits 180 days on the time-skipping server, its enqueueNotifications local activity — as createActivities wires
// it, with configured routing — starts notificationWorkflows through the worker's own client, and the same worker
// delivers them on the log channel and on an SMS webhook to a local gateway.

const DAY = 86_400_000;

let env: TestWorkflowEnvironment;
let clock: ClockSkipper | undefined;
let pool: Pool;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let gateway: Server;
const gatewayRequests: Array<{ headers: IncomingHttpHeaders; body: Record<string, unknown> }> = [];
const logLines: Array<Record<string, unknown>> = [];
const counted: string[] = [];

beforeAll(async () => {
  const infra = testInfra();
  gateway = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      gatewayRequests.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  const smsUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms`;

  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: infra.timeSkippingServerPath } } });
  await addMissingSearchAttributes(env.connection, env.namespace ?? 'default');
  clock = await createClockSkipper(env);
  pool = createPool({ url: infra.databaseUrl, max: 4, applicationName: 'supervision-reminders-test' });
  const config = loadConfig({
    APP_ENV: 'test',
    DATABASE_URL: infra.databaseUrl,
    NOTIFICATION_ROUTING: 'MERCHANT=log+sms,ACCOUNT_MANAGER=log',
    NOTIFICATION_WEBHOOKS: `sms=${smsUrl}`,
    NOTIFICATION_WEBHOOK_TOKEN: 'gw-token-reminders',
  });
  const logger = createLogger({ level: 'info', name: 'reminder-test', destination: { write: (l: string) => void logLines.push(JSON.parse(l) as Record<string, unknown>) } });
  const metrics: NotificationMetrics = { delivered: (c) => counted.push(`delivered ${c}`), failed: (c, final) => counted.push(`failed ${c} ${final}`) };
  taskQueue = uniqueId('tq-reminders');
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: infra.workflowBundlePath },
    activities: createActivities(config, pool, { notifications: { logger, metrics } }),
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  // A worker whose run failed is stopped already (shutdown() would throw): the test server must still be torn down.
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await clock?.close().catch(() => undefined);
  await env?.teardown();
  await pool?.end();
  gateway?.closeAllConnections();
  await new Promise((resolve) => gateway?.close(resolve));
});

describe('supervision reminders through Temporal notifications', () => {
  it('when a supervised order stays unaccepted for 180 days, then the reminder reaches the log and the SMS gateway once per channel', async () => {
    const orderId = uniqueId('RM');
    const input: SupervisionInput = {
      orderWorkflowId: `order-${orderId}`,
      instanceId: `i-${orderId}`,
      key: { kind: 'v1-order', orderId },
      terms: { kind: 'GENERAL', reminderAfterDays: 180, reminderIntervalDays: 30, autoAcceptDays: 10 },
      testOrder: false,
    };
    const supervision = await env.client.workflow.start(SUPERVISION_WORKFLOW_TYPE, { taskQueue, workflowId: supervisionWorkflowId(input.orderWorkflowId), args: [input] });
    await clock!.skip(181 * DAY);

    const request = `${supervision.workflowId}:reminder:1`;
    const keys = [`${request}:MERCHANT#log`, `${request}:MERCHANT#sms`, `${request}:ACCOUNT_MANAGER#log`];
    // Read through a plain client: the environment's own would let the server skip time while it waits for a
    // result, and skipped years time the supervision out (the test server's default 10-year execution timeout).
    const plain = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    const results = await Promise.all(keys.map((k) => plain.workflow.getHandle(notificationWorkflowId(k)).result() as Promise<NotificationResult>));
    expect(results.map((r) => [r.dedupeKey, r.attempt])).toEqual(keys.map((k) => [k, 1]));

    const logged = logLines.filter((l) => l.msg === 'notification' && l.orderId === orderId);
    expect(logged.map((l) => l.recipient).sort()).toEqual(['ACCOUNT_MANAGER', 'MERCHANT']);
    expect(String(logged[0]!.subject)).toMatch(/unaccepted for 180 days/);
    const sms = gatewayRequests.filter((r) => r.body.orderId === orderId);
    expect(sms).toHaveLength(1);
    expect(sms[0]!.headers['idempotency-key']).toBe(keys[1]);
    expect(sms[0]!.headers.authorization).toBe('Bearer gw-token-reminders');
    expect(sms[0]!.body).toMatchObject({ kind: 'SUPERVISION_REMINDER', recipient: 'MERCHANT', channel: 'sms', instanceId: `i-${orderId}`, attempt: 1 });
    expect(counted.sort()).toEqual(['delivered log', 'delivered log', 'delivered sms']);
    // The supervision carries on, waiting for acceptance; the reminder is recorded in its state.
    expect((await supervision.describe()).status.name).toBe('RUNNING');
    await supervision.terminate('test over');
  });
});
