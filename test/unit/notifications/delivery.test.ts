import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createNotificationActivities, type AttemptInfo } from '../../../src/notifications/activities.js';
import { NotificationDeliveryError, type NotificationChannel } from '../../../src/notifications/channels.js';
import type { Notification } from '../../../src/notifications/contract.js';
import type { NotificationMetrics } from '../../../src/notifications/metrics.js';
import { createLogger } from '../../../src/platform/logger.js';

// The delivery activity without Temporal: what it returns, the typed failure it throws (retryable or not) and
// what it counts, for each thing a channel can do.

const notification: Notification = {
  dedupeKey: 'supervision-order-D1:reminder:1:MERCHANT#sms',
  requestKey: 'supervision-order-D1:reminder:1:MERCHANT',
  kind: 'SUPERVISION_REMINDER',
  recipient: 'MERCHANT',
  channel: 'sms',
  orderId: 'D1',
  subject: 's',
  body: 'b',
  data: {},
  enqueuedAt: '2030-01-01T00:00:00.000Z',
};

function setup(send: NotificationChannel['send'], attempt: AttemptInfo = { attempt: 1, maximumAttempts: 10 }) {
  const counted: string[] = [];
  const metrics: NotificationMetrics = { delivered: (c) => counted.push(`delivered ${c}`), failed: (c, final) => counted.push(`failed ${c} final=${final}`) };
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'info', name: 'delivery-test', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const sent: number[] = [];
  const activities = createNotificationActivities({
    channels: [{ name: 'sms', send: async (n, d) => (sent.push(d.attempt), send(n, d)) }],
    logger,
    metrics,
    attemptInfo: () => attempt,
  });
  return { activities, counted, lines, sent };
}

const failureOf = (p: Promise<unknown>) => p.then(() => expect.fail('expected a failure'), (e: unknown) => e as ApplicationFailure);

describe('deliverNotification', () => {
  it('when the channel sends it, then the receipt names the attempt and the delivery is counted', async () => {
    const { activities, counted, sent } = setup(async () => undefined, { attempt: 3, maximumAttempts: 10 });
    const receipt = await activities.deliverNotification(notification);
    expect(receipt.attempt).toBe(3);
    expect(Date.parse(receipt.deliveredAt)).not.toBeNaN();
    expect(sent).toEqual([3]);
    expect(counted).toEqual(['delivered sms']);
  });

  it('when the channel fails transiently, then a retryable NOTIFICATION_DELIVERY_FAILED is thrown with the cause, and counted as not final', async () => {
    const { activities, counted, lines } = setup(async () => {
      throw new NotificationDeliveryError('sms webhook: HTTP 503', false);
    });
    const err = await failureOf(activities.deliverNotification(notification));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'NOTIFICATION_DELIVERY_FAILED', nonRetryable: false, message: 'sms webhook: HTTP 503' });
    expect(err.cause).toBeInstanceOf(NotificationDeliveryError);
    expect(counted).toEqual(['failed sms final=false']);
    expect(lines.find((l) => l.level === 'warn')).toMatchObject({ channel: 'sms', orderId: 'D1', attempt: 1, type: 'NOTIFICATION_DELIVERY_FAILED' });
  });

  it('when the last allowed attempt fails, then it is counted as final and logged as dead', async () => {
    const { activities, counted, lines } = setup(
      async () => {
        throw new Error('socket hang up');
      },
      { attempt: 10, maximumAttempts: 10 },
    );
    expect(await failureOf(activities.deliverNotification(notification))).toMatchObject({ type: 'NOTIFICATION_DELIVERY_FAILED', nonRetryable: false });
    expect(counted).toEqual(['failed sms final=true']);
    expect(lines.find((l) => l.level === 'error')?.msg).toBe('notification dead: no more attempts');
  });

  it('when the gateway refuses the notification itself, then NOTIFICATION_REJECTED is non-retryable and final at the first attempt', async () => {
    const { activities, counted } = setup(async () => {
      throw new NotificationDeliveryError('sms webhook: HTTP 422', true);
    });
    expect(await failureOf(activities.deliverNotification(notification))).toMatchObject({ type: 'NOTIFICATION_REJECTED', nonRetryable: true });
    expect(counted).toEqual(['failed sms final=true']);
  });

  it('when no channel has the name, then NOTIFICATION_CHANNEL_UNKNOWN is retryable (a deployment may add it) and names the registered ones', async () => {
    const { activities, counted, sent } = setup(async () => undefined);
    const err = await failureOf(activities.deliverNotification({ ...notification, channel: 'fax' }));
    expect(err).toMatchObject({ type: 'NOTIFICATION_CHANNEL_UNKNOWN', nonRetryable: false });
    expect(err.message).toBe('no channel registered as "fax" (registered: sms)');
    expect(sent).toEqual([]);
    expect(counted).toEqual(['failed fax final=false']);
  });
});
