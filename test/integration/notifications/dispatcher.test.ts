import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createLogChannel, NotificationDeliveryError, type NotificationChannel } from '../../../src/notifications/channels.js';
import { createNotificationDispatcher, type DispatchOutcome } from '../../../src/notifications/dispatcher.js';
import { claimDue, enqueueNotifications, listNotifications, type OutboxNotification } from '../../../src/notifications/outbox.js';
import { parseNotificationRouting } from '../../../src/notifications/routing.js';
import type { NotificationRecipient, NotificationRequest } from '../../../src/supervision/contract.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The dispatcher against the real PostgreSQL, with recording channels. Every dispatcher here claims only its test's
// orders (onlyOrderIds): other files share the database.

let pool: Pool;
beforeAll(() => {
  pool = createPool({ url: testInfra().databaseUrl, max: 8, applicationName: 'notifications-dispatcher-test' });
});
afterAll(async () => {
  await pool.end();
});

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', name: 'dispatcher-test', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  return { logger, lines };
}

function request(orderId: string, n: number, recipient: NotificationRecipient = 'MERCHANT'): NotificationRequest {
  return {
    dedupeKey: `supervision-${orderId}:reminder:${n}:${recipient}`,
    kind: 'SUPERVISION_REMINDER',
    recipient,
    orderId,
    subject: `Order ${orderId} reminder ${n}`,
    body: `Please accept order ${orderId}`,
  };
}

/** A channel that records what it was asked to send and answers what the test says. */
function recordingChannel(name: string, behaviour: (n: OutboxNotification) => Promise<void> = async () => undefined) {
  const sent: OutboxNotification[] = [];
  const channel: NotificationChannel = {
    name,
    async send(n) {
      sent.push(n);
      await behaviour(n);
    },
  };
  return { channel, sent };
}

const routeTo = (channel: string) => parseNotificationRouting(`MERCHANT=${channel},ACCOUNT_MANAGER=${channel},CUSTOMER=${channel}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const makeDue = (orderId: string) => pool.query(`UPDATE notification_outbox SET next_attempt_at = now() WHERE order_id = $1 AND status = 'PENDING'`, [orderId]);

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('notification dispatcher', () => {
  it('when notifications are due, then each is sent once on its channel and marked SENT', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1), request(orderId, 1, 'ACCOUNT_MANAGER')], routeTo('rec'));
    const { channel, sent } = recordingChannel('rec');
    const metricsRegistry = new Registry();
    const outcomes: DispatchOutcome[] = [];
    const { logger } = memoryLogger();
    const dispatcher = createNotificationDispatcher({ pool, channels: [channel], logger, onlyOrderIds: [orderId], metricsRegistry, onOutcome: (o) => outcomes.push(o) });

    expect(await dispatcher.dispatchOnce()).toEqual({ claimed: 2, sent: 2, failed: 0, dead: 0 });
    expect(sent.map((n) => [n.recipient, n.channel, n.attempts])).toEqual([
      ['MERCHANT', 'rec', 1],
      ['ACCOUNT_MANAGER', 'rec', 1],
    ]);
    const rows = await listNotifications(pool, { orderId });
    expect(rows.map((r) => r.status)).toEqual(['SENT', 'SENT']);
    expect(rows.every((r) => r.sentAt instanceof Date)).toBe(true);
    expect(outcomes.map((o) => o.outcome)).toEqual(['SENT', 'SENT']);
    expect(await dispatcher.dispatchOnce()).toEqual({ claimed: 0, sent: 0, failed: 0, dead: 0 });
    expect(sent).toHaveLength(2);
    expect(await metricsRegistry.getSingleMetricAsString('koogallery_notification_deliveries_total')).toContain(
      'koogallery_notification_deliveries_total{channel="rec",outcome="sent"} 2',
    );
  });

  it('when the default routing is used, then the log channel writes one line per notification', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1, 'CUSTOMER')]);
    const { logger, lines } = memoryLogger();
    const dispatcher = createNotificationDispatcher({ pool, channels: [createLogChannel(logger)], logger, onlyOrderIds: [orderId] });
    expect(await dispatcher.dispatchOnce()).toMatchObject({ sent: 1 });
    const delivered = lines.filter((l) => l['msg'] === 'notification');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ level: 'info', channel: 'log', kind: 'SUPERVISION_REMINDER', recipient: 'CUSTOMER', orderId, subject: `Order ${orderId} reminder 1` });
    expect((await listNotifications(pool, { orderId }))[0]?.status).toBe('SENT');
  });

  it('when a channel throws, then the attempt is counted, retried later with backoff, and dead after maxAttempts', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1)], routeTo('flaky'));
    const { channel, sent } = recordingChannel('flaky', async () => {
      throw new Error('gateway said 503');
    });
    const { logger, lines } = memoryLogger();
    const dispatcher = createNotificationDispatcher({
      pool,
      channels: [channel],
      logger,
      onlyOrderIds: [orderId],
      maxAttempts: 3,
      retry: { baseDelayMs: 60_000, maxDelayMs: 600_000 },
    });

    expect(await dispatcher.dispatchOnce()).toEqual({ claimed: 1, sent: 0, failed: 1, dead: 0 });
    const [afterFirst] = await listNotifications(pool, { orderId });
    expect(afterFirst).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'gateway said 503' });
    const wait = await pool.query<{ ms: number }>(`SELECT (extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS ms FROM notification_outbox WHERE id = $1`, [afterFirst!.id]);
    expect(wait.rows[0]!.ms).toBeGreaterThan(55_000);
    // Not due yet: the next poll leaves it alone.
    expect(await dispatcher.dispatchOnce()).toMatchObject({ claimed: 0 });

    await makeDue(orderId);
    expect(await dispatcher.dispatchOnce()).toEqual({ claimed: 1, sent: 0, failed: 1, dead: 0 });
    await makeDue(orderId);
    expect(await dispatcher.dispatchOnce()).toEqual({ claimed: 1, sent: 0, failed: 1, dead: 1 });
    expect(sent).toHaveLength(3);
    expect((await listNotifications(pool, { orderId }))[0]).toMatchObject({ status: 'FAILED', attempts: 3, lastError: 'gateway said 503' });
    await makeDue(orderId);
    expect(await dispatcher.dispatchOnce()).toMatchObject({ claimed: 0 });
    expect(lines.filter((l) => l['msg'] === 'notification delivery failed')).toHaveLength(2);
    expect(lines.filter((l) => l['msg'] === 'notification dead: no more attempts')).toHaveLength(1);
  });

  it('when a channel refuses a notification for good, then it is dead after one attempt', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1)], routeTo('strict'));
    const { channel } = recordingChannel('strict', async () => {
      throw new NotificationDeliveryError('strict webhook: HTTP 422 (no such phone)', true);
    });
    const dispatcher = createNotificationDispatcher({ pool, channels: [channel], logger: memoryLogger().logger, onlyOrderIds: [orderId] });
    expect(await dispatcher.dispatchOnce()).toEqual({ claimed: 1, sent: 0, failed: 1, dead: 1 });
    expect((await listNotifications(pool, { orderId }))[0]).toMatchObject({ status: 'FAILED', attempts: 1, lastError: 'strict webhook: HTTP 422 (no such phone)' });
  });

  it('when a row names a channel nobody registered, then the attempt fails with a clear error and the loop goes on', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1, 'MERCHANT'), request(orderId, 1, 'CUSTOMER')], parseNotificationRouting('MERCHANT=fax,CUSTOMER=rec'));
    const { channel, sent } = recordingChannel('rec');
    const outcomes: DispatchOutcome[] = [];
    const dispatcher = createNotificationDispatcher({ pool, channels: [channel], logger: memoryLogger().logger, onlyOrderIds: [orderId], onOutcome: (o) => outcomes.push(o) });
    expect(await dispatcher.dispatchOnce()).toEqual({ claimed: 2, sent: 1, failed: 1, dead: 0 });
    expect(sent.map((n) => n.recipient)).toEqual(['CUSTOMER']);
    const fax = (await listNotifications(pool, { orderId })).find((r) => r.channel === 'fax');
    expect(fax).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'no channel registered as "fax" (registered: rec)' });
    expect(outcomes.find((o) => o.notification.channel === 'fax')).toMatchObject({ outcome: 'RETRY', delivered: false });
  });

  it('when a send hangs past sendTimeoutMs, then the attempt fails as timed out', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1)], routeTo('slow'));
    const { channel } = recordingChannel('slow', () => new Promise(() => undefined));
    const dispatcher = createNotificationDispatcher({ pool, channels: [channel], logger: memoryLogger().logger, onlyOrderIds: [orderId], sendTimeoutMs: 100, leaseMs: 5000 });
    expect(await dispatcher.dispatchOnce()).toMatchObject({ claimed: 1, failed: 1 });
    expect((await listNotifications(pool, { orderId }))[0]).toMatchObject({ status: 'PENDING', lastError: 'send timed out after 100 ms' });
  });

  it('when two dispatchers work the same rows concurrently, then every row is delivered exactly once', async () => {
    const orderId = uniqueId('ord');
    const requests = Array.from({ length: 60 }, (_, i) => request(orderId, i));
    expect(await enqueueNotifications(pool, requests, routeTo('rec'))).toBe(60);
    const deliveries: string[] = [];
    const jitter = async (): Promise<void> => {
      await sleep(Math.random() * 15);
    };
    const a = recordingChannel('rec', jitter);
    const b = recordingChannel('rec', jitter);
    const options = { pool, logger: memoryLogger().logger, onlyOrderIds: [orderId], batchSize: 7, onOutcome: (o: DispatchOutcome) => void deliveries.push(o.notification.id) };
    const one = createNotificationDispatcher({ ...options, channels: [a.channel] });
    const two = createNotificationDispatcher({ ...options, channels: [b.channel] });
    const drain = async (d: typeof one) => {
      for (;;) if ((await d.dispatchOnce()).claimed === 0) return;
    };
    await Promise.all([drain(one), drain(two), drain(one), drain(two)]);

    const sentIds = [...a.sent, ...b.sent].map((n) => n.id);
    expect(sentIds).toHaveLength(60);
    expect(new Set(sentIds).size).toBe(60);
    expect(new Set(deliveries).size).toBe(60);
    expect(await listNotifications(pool, { orderId, status: 'SENT', limit: 1000 })).toHaveLength(60);
  });

  it('when a dispatcher died mid-send, then another delivers its rows once the lease has passed', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1)], routeTo('rec'));
    // The dead dispatcher's claim: leased, never marked.
    expect(await claimDue(pool, { batchSize: 5, leaseMs: 400, onlyOrderIds: [orderId] })).toHaveLength(1);
    const { channel, sent } = recordingChannel('rec');
    const dispatcher = createNotificationDispatcher({ pool, channels: [channel], logger: memoryLogger().logger, onlyOrderIds: [orderId] });
    expect(await dispatcher.dispatchOnce()).toMatchObject({ claimed: 0 });
    await sleep(600);
    expect(await dispatcher.dispatchOnce()).toMatchObject({ claimed: 1, sent: 1 });
    expect(sent.map((n) => n.attempts)).toEqual([2]);
  });

  it('when started, then it polls and delivers; stop() waits for the batch in flight to be recorded', async () => {
    const orderId = uniqueId('ord');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const sendStarted = new Promise<void>((resolve) => (started = resolve));
    const { channel, sent } = recordingChannel('rec', async () => {
      started();
      await gate;
    });
    const dispatcher = createNotificationDispatcher({ pool, channels: [channel], logger: memoryLogger().logger, onlyOrderIds: [orderId], pollIntervalMs: 50 });
    dispatcher.start();
    dispatcher.start(); // idempotent
    expect(dispatcher.running).toBe(true);
    await enqueueNotifications(pool, [request(orderId, 1)], routeTo('rec'));
    await sendStarted;
    let stopped = false;
    const stopping = dispatcher.stop().then(() => (stopped = true));
    await sleep(100);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(dispatcher.running).toBe(false);
    expect((await listNotifications(pool, { orderId }))[0]?.status).toBe('SENT');

    // Stopped: a new notification is left for the next dispatcher.
    await enqueueNotifications(pool, [request(orderId, 2)], routeTo('rec'));
    await sleep(200);
    expect(sent).toHaveLength(1);
    expect((await listNotifications(pool, { orderId, status: 'PENDING' })).map((r) => r.subject)).toEqual([`Order ${orderId} reminder 2`]);
  });

  it('when the database is unreachable, then dispatchOnce rejects and the loop logs and keeps going without throwing', async () => {
    const deadPool = createPool({ url: 'postgres://nobody:nothing@127.0.0.1:1/none', max: 1, applicationName: 'dead' });
    const { logger, lines } = memoryLogger();
    const metricsRegistry = new Registry();
    const dispatcher = createNotificationDispatcher({ pool: deadPool, channels: [], logger, pollIntervalMs: 20, metricsRegistry });
    await expect(dispatcher.dispatchOnce()).rejects.toThrow();
    dispatcher.start();
    await until(async () => ((await metricsRegistry.getSingleMetric('koogallery_notification_claim_errors_total')?.get())?.values[0]?.value ?? 0) >= 3, 'three failed polls');
    await dispatcher.stop();
    await deadPool.end();
    const errors = lines.filter((l) => l['msg'] === 'notification outbox unavailable; retrying');
    // The first failure is logged; the next few are not (no flood).
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThan(3);
    expect(errors[0]).toMatchObject({ level: 'error', consecutive: 1 });
  });

  it('when options contradict each other, then the dispatcher is refused', () => {
    const logger = memoryLogger().logger;
    expect(() => createNotificationDispatcher({ pool, channels: [], logger, leaseMs: 1000, sendTimeoutMs: 1000 })).toThrow(/leaseMs .* must exceed sendTimeoutMs/);
    expect(() => createNotificationDispatcher({ pool, channels: [], logger, maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => createNotificationDispatcher({ pool, channels: [], logger, batchSize: 0 })).toThrow(/batchSize/);
  });
});
