import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNotificationActivities } from '../../../src/notifications/activities.js';
import { createLogChannel, createWebhookChannel, NotificationDeliveryError, type NotificationChannel } from '../../../src/notifications/channels.js';
import {
  deadLetterQuery,
  notificationWorkflowId,
  type NotificationRequest,
  type NotificationResult,
  type NotificationRetryPolicy,
} from '../../../src/notifications/contract.js';
import { NOTIFICATION_WORKFLOWS_GAUGE, registerNotificationGauges } from '../../../src/notifications/gauges.js';
import type { NotificationMetrics } from '../../../src/notifications/metrics.js';
import { parseNotificationRouting } from '../../../src/notifications/routing.js';
import { createNotificationEnqueuer } from '../../../src/notifications/service.js';
import { createLogger } from '../../../src/platform/logger.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// Notifications on the real Temporal dev server: the enqueuer starts notificationWorkflows, a worker with the
// production workflow bundle and the real delivery activity sends them through scripted channels and a real
// webhook to a local gateway. Retry policies are shortened (the default waits 30 s first); the policy is part of
// each run's input, so the code under test is the production code.

const FAST_RETRY: NotificationRetryPolicy = { maximumAttempts: 5, initialIntervalMs: 300, backoffCoefficient: 2, maximumIntervalMs: 5000 };

/** A channel that fails as scripted per dedupe key (`fail[key]` attempts), recording when each attempt came. */
function scriptedChannel(name: string) {
  const attempts = new Map<string, number[]>();
  const failures = new Map<string, { times: number; permanent?: boolean }>();
  const channel: NotificationChannel = {
    name,
    async send(n) {
      const seen = attempts.get(n.dedupeKey) ?? [];
      seen.push(Date.now());
      attempts.set(n.dedupeKey, seen);
      const f = failures.get(n.dedupeKey);
      if (f && seen.length <= f.times) throw new NotificationDeliveryError(`${name}: scripted failure ${seen.length}`, f.permanent === true);
    },
  };
  return { channel, attempts, failures };
}

interface GatewayRequest {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let gateway: Server;
let gatewayUrl: string;
const gatewayRequests: GatewayRequest[] = [];
/** Status the gateway answers, per request path, in order (then 204). */
const gatewayScript = new Map<string, number[]>();
const flaky = scriptedChannel('flaky');
const counted: string[] = [];
const metrics: NotificationMetrics = { delivered: (c) => counted.push(`delivered ${c}`), failed: (c, final) => counted.push(`failed ${c} ${final}`) };
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const infra = testInfra();
  gateway = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      gatewayRequests.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      const status = gatewayScript.get(req.url ?? '')?.shift() ?? 204;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status >= 400 ? JSON.stringify({ message: `scripted ${status}` }) : '');
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;

  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection, namespace: infra.temporalNamespace });
  nativeConnection = await NativeConnection.connect({ address: infra.temporalAddress });
  taskQueue = uniqueId('tq-notify');
  const logger = createLogger({ level: 'info', name: 'notification-test', destination: { write: (l: string) => void logLines.push(JSON.parse(l) as Record<string, unknown>) } });
  worker = await Worker.create({
    connection: nativeConnection,
    namespace: infra.temporalNamespace,
    taskQueue,
    workflowBundle: { codePath: infra.workflowBundlePath },
    activities: createNotificationActivities({
      channels: [createLogChannel(logger), flaky.channel, createWebhookChannel({ name: 'sms', url: `${gatewayUrl}/sms`, timeoutMs: 2000 })],
      logger,
      metrics,
    }),
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await nativeConnection?.close();
  await connection?.close();
  gateway?.closeAllConnections();
  await new Promise((resolve) => gateway?.close(resolve));
});

beforeEach(() => {
  counted.length = 0;
});

const request = (orderId: string, recipient: NotificationRequest['recipient'] = 'MERCHANT'): NotificationRequest => ({
  dedupeKey: `test-${orderId}:reminder:1:${recipient}`,
  kind: 'SUPERVISION_REMINDER',
  recipient,
  orderId,
  instanceId: `i-${orderId}`,
  subject: `Order ${orderId} unaccepted`,
  body: 'body',
});

function enqueuer(routing: string, retry: NotificationRetryPolicy = FAST_RETRY) {
  return createNotificationEnqueuer({ routing: parseNotificationRouting(routing), retry, client: () => client, taskQueue: () => taskQueue });
}

const resultOf = (dedupeKey: string) => client.workflow.getHandle(notificationWorkflowId(dedupeKey)).result() as Promise<NotificationResult>;
const failureOf = (dedupeKey: string) => resultOf(dedupeKey).then(() => expect.fail('expected the notification to be dead-lettered'), (e: unknown) => e);

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('enqueueing (idempotent start)', () => {
  it('when the same requests are enqueued twice, before and after delivery, then one workflow per request and channel delivers each once', async () => {
    const orderId = uniqueId('NI');
    const enqueue = enqueuer('MERCHANT=log+flaky,ACCOUNT_MANAGER=log');
    const requests = [request(orderId, 'MERCHANT'), request(orderId, 'ACCOUNT_MANAGER')];
    expect(await enqueue(requests)).toBe(3);
    expect(await enqueue(requests)).toBe(0); // a retried activity, while the runs may still be open
    const keys = [`${requests[0]!.dedupeKey}#log`, `${requests[0]!.dedupeKey}#flaky`, `${requests[1]!.dedupeKey}#log`];
    const results = await Promise.all(keys.map(resultOf));
    expect(results.map((r) => [r.channel, r.attempt])).toEqual([
      ['log', 1],
      ['flaky', 1],
      ['log', 1],
    ]);
    expect(await enqueue(requests)).toBe(0); // closed runs are kept for the retention: still no second delivery
    expect(flaky.attempts.get(keys[1]!)).toHaveLength(1);
    expect(logLines.filter((l) => l.msg === 'notification' && l.orderId === orderId).map((l) => l.recipient).sort()).toEqual(['ACCOUNT_MANAGER', 'MERCHANT']);
    // Ops find an order's notifications by the OrderId attribute orders already use.
    const listed = await eventually('the notifications in visibility', async () => {
      const ids: string[] = [];
      for await (const w of client.workflow.list({ query: `WorkflowType = 'notificationWorkflow' AND OrderId = '${orderId}'` })) ids.push(w.workflowId);
      return ids.length === 3 ? ids : undefined;
    });
    expect(listed.sort()).toEqual(keys.map(notificationWorkflowId).sort());
  });
});

describe('retries', () => {
  it('when a channel fails twice, then Temporal retries it with doubling backoff and the third attempt delivers it', async () => {
    const orderId = uniqueId('NR');
    const req = request(orderId);
    const key = `${req.dedupeKey}#flaky`;
    flaky.failures.set(key, { times: 2 });
    expect(await enqueuer('MERCHANT=flaky')([req])).toBe(1);
    const result = await resultOf(key);
    expect(result).toMatchObject({ dedupeKey: key, channel: 'flaky', attempt: 3 });
    const at = flaky.attempts.get(key)!;
    expect(at).toHaveLength(3);
    // initialInterval 300 ms, then ×2: the gaps are at least 300 and 600 ms (a little less for timer granularity).
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(250);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(550);
    expect(counted).toEqual(['failed flaky false', 'failed flaky false', 'delivered flaky']);
  });
});

describe('dead letters', () => {
  it('when every attempt fails, then after maximumAttempts the run fails with NOTIFICATION_DEAD_LETTER, counted final once', async () => {
    const orderId = uniqueId('ND');
    const req = request(orderId);
    const key = `${req.dedupeKey}#flaky`;
    flaky.failures.set(key, { times: 99 });
    await enqueuer('MERCHANT=flaky', { ...FAST_RETRY, maximumAttempts: 3, initialIntervalMs: 100 })([req]);
    const err = await failureOf(key);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const dead = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(dead).toBeInstanceOf(ApplicationFailure);
    expect(dead.type).toBe('NOTIFICATION_DEAD_LETTER');
    expect(dead.message).toBe('SUPERVISION_REMINDER to MERCHANT on flaky not delivered: flaky: scripted failure 3');
    expect(dead.details?.[0]).toMatchObject({ dedupeKey: key, channel: 'flaky', orderId, lastFailureType: 'NOTIFICATION_DELIVERY_FAILED', retryState: 'MAXIMUM_ATTEMPTS_REACHED' });
    expect(dead.cause).toBeInstanceOf(ActivityFailure);
    expect(flaky.attempts.get(key)).toHaveLength(3);
    expect(counted).toEqual(['failed flaky false', 'failed flaky false', 'failed flaky true']);
  });

  it('when ops reset a dead letter to its first workflow task (the documented resend), then a new run under the same id delivers it', async () => {
    const orderId = uniqueId('NS');
    const req = request(orderId);
    const key = `${req.dedupeKey}#flaky`;
    flaky.failures.set(key, { times: 1, permanent: true });
    await enqueuer('MERCHANT=flaky')([req]);
    expect(((await failureOf(key)) as WorkflowFailedError).cause).toMatchObject({ type: 'NOTIFICATION_DEAD_LETTER' });
    const handle = client.workflow.getHandle(notificationWorkflowId(key));
    const events = (await handle.fetchHistory()).events ?? [];
    const firstTask = events.find((e) => e.workflowTaskCompletedEventAttributes);
    const { runId } = await client.workflowService.resetWorkflowExecution({
      namespace: testInfra().temporalNamespace,
      workflowExecution: { workflowId: handle.workflowId },
      workflowTaskFinishEventId: firstTask!.eventId,
      reason: 'gateway fixed',
      requestId: uniqueId('reset'),
    });
    const result = (await client.workflow.getHandle(handle.workflowId, runId ?? undefined).result()) as NotificationResult;
    // A fresh set of attempts: the reset run's first attempt is the channel's second call, and it succeeds.
    expect(result).toMatchObject({ dedupeKey: key, attempt: 1 });
    expect(flaky.attempts.get(key)).toHaveLength(2);
  });

  it('when the gateway refuses the notification (422), then it is not retried, the run is a dead letter, and ops find it by query and gauge', async () => {
    const orderId = uniqueId('NX');
    const req = request(orderId);
    const key = `${req.dedupeKey}#sms`;
    gatewayScript.set('/sms', [422]);
    const before = gatewayRequests.length;
    await enqueuer('MERCHANT=sms')([req]);
    const err = (await failureOf(key)) as WorkflowFailedError;
    const dead = err.cause as ApplicationFailure;
    expect(dead.type).toBe('NOTIFICATION_DEAD_LETTER');
    expect(dead.details?.[0]).toMatchObject({ lastFailureType: 'NOTIFICATION_REJECTED', retryState: 'NON_RETRYABLE_FAILURE' });
    const last = (dead.cause as ActivityFailure).cause as ApplicationFailure;
    expect(last).toMatchObject({ type: 'NOTIFICATION_REJECTED', nonRetryable: true, message: 'sms webhook: HTTP 422 (scripted 422)' });
    expect(gatewayRequests.length - before).toBe(1);
    expect(counted).toEqual(['failed sms true']);

    // The documented query finds it (visibility is eventually consistent: poll).
    const found = await eventually('the dead letter in visibility', async () => {
      const ids: string[] = [];
      for await (const w of client.workflow.list({ query: deadLetterQuery(orderId) })) ids.push(w.workflowId);
      return ids.length > 0 ? ids : undefined;
    });
    expect(found).toEqual([notificationWorkflowId(key)]);
    // And the API's gauge counts it among the FAILED ones.
    const registry = new Registry();
    registerNotificationGauges(registry, client);
    const text = await registry.getSingleMetricAsString(NOTIFICATION_WORKFLOWS_GAUGE);
    expect(Number(/status="FAILED"} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/status="RUNNING"} \d+/);
  });
});

describe('webhook channel', () => {
  it('when the gateway answers 503 then 204, then both attempts carry the dedupe key as Idempotency-Key and the attempt number', async () => {
    const orderId = uniqueId('NW');
    const req = request(orderId);
    const key = `${req.dedupeKey}#sms`;
    gatewayScript.set('/sms', [503]);
    const before = gatewayRequests.length;
    await enqueuer('MERCHANT=sms')([req]);
    expect(await resultOf(key)).toMatchObject({ attempt: 2 });
    const mine = gatewayRequests.slice(before).filter((r) => r.body.orderId === orderId);
    expect(mine.map((r) => r.headers['idempotency-key'])).toEqual([key, key]);
    expect(mine.map((r) => r.body.attempt)).toEqual([1, 2]);
    expect(mine[0]!.body).toMatchObject({ id: notificationWorkflowId(key), dedupeKey: key, channel: 'sms', recipient: 'MERCHANT', instanceId: `i-${orderId}` });
    expect(counted).toEqual(['failed sms false', 'delivered sms']);
  });
});
