import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../../src/main/worker-activities.js';
import { loadConfig } from '../../../src/platform/config.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createNotificationDispatcher } from '../../../src/notifications/dispatcher.js';
import { channelsFromConfig } from '../../../src/notifications/from-config.js';
import { listNotifications } from '../../../src/notifications/outbox.js';
import { initialSupervisionState, reminderNotifications } from '../../../src/supervision/state.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { aSupervisionInput } from '../../support/factories.js';

// The whole notification path the supervision workflow uses, minus Temporal: the worker's real activity (as
// createActivities wires it, with configured routing) enqueues a reminder, and the dispatcher built from the same
// configuration delivers it on the default log channel.

let pool: Pool;
beforeAll(() => {
  pool = createPool({ url: testInfra().databaseUrl, max: 4, applicationName: 'supervision-reminders-test' });
});
afterAll(async () => {
  await pool.end();
});

describe('supervision reminders through the outbox', () => {
  it('when the workflow enqueues a 180-day reminder twice, then one notice per recipient is delivered once, as a log line', async () => {
    const config = loadConfig({ DATABASE_URL: testInfra().databaseUrl, NOTIFICATION_ROUTING: 'ACCOUNT_MANAGER=log' });
    const activities = createActivities(config, pool);
    const orderId = uniqueId('RM');
    const input = aSupervisionInput({ kind: 'v1-order', orderId });
    const state = initialSupervisionState(input, '2026-01-01T00:00:00.000Z');
    const requests = reminderNotifications(`supervision-order-${orderId}`, input, state, Date.parse('2026-06-30T00:00:00.000Z'));
    // A retried activity enqueues the same requests again: the dedupe keys keep one row each.
    expect(await activities.enqueueNotifications(requests)).toBe(2);
    expect(await activities.enqueueNotifications(requests)).toBe(0);

    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'info', name: 'reminder-test', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
    const dispatcher = createNotificationDispatcher({ pool, channels: channelsFromConfig(config.notifications, logger), logger, onlyOrderIds: [orderId] });
    const outcome = await dispatcher.dispatchOnce();
    expect(outcome).toMatchObject({ sent: 2, failed: 0 });
    expect(await dispatcher.dispatchOnce()).toMatchObject({ claimed: 0 });

    const rows = await listNotifications(pool, { orderId });
    expect(rows.map((r) => [r.recipient, r.channel, r.status]).sort()).toEqual([
      ['ACCOUNT_MANAGER', 'log', 'SENT'],
      ['MERCHANT', 'log', 'SENT'],
    ]);
    const logged = lines.filter((l) => l.msg === 'notification' && l.orderId === orderId);
    expect(logged.map((l) => l.recipient).sort()).toEqual(['ACCOUNT_MANAGER', 'MERCHANT']);
    expect(String(logged[0]!.subject)).toMatch(/unaccepted for 180 days/);
  });
});

describe('outbox retention', () => {
  it('when delivered notifications are older than the retention, then the purge deletes them and keeps dead letters and recent ones', async () => {
    const orderId = uniqueId('RT');
    const req = (n: number) => ({ dedupeKey: `rt-${orderId}-${n}`, kind: 'SUPERVISION_REMINDER', recipient: 'MERCHANT' as const, orderId, subject: 's', body: 'b' });
    const { enqueueNotifications, purgeSentNotifications } = await import('../../../src/notifications/outbox.js');
    await enqueueNotifications(pool, [req(1), req(2), req(3), req(4)]);
    // 1: sent long ago; 2: sent recently; 3: dead letter long ago; 4: still pending.
    await pool.query(`UPDATE notification_outbox SET status = 'SENT', sent_at = now() - interval '100 days' WHERE dedupe_key = $1`, [`rt-${orderId}-1#log`]);
    await pool.query(`UPDATE notification_outbox SET status = 'SENT', sent_at = now() - interval '1 day' WHERE dedupe_key = $1`, [`rt-${orderId}-2#log`]);
    await pool.query(`UPDATE notification_outbox SET status = 'FAILED', created_at = now() - interval '100 days' WHERE dedupe_key = $1`, [`rt-${orderId}-3#log`]);
    const purged = await purgeSentNotifications(pool, { olderThan: new Date(Date.now() - 90 * 86_400_000), onlyOrderIds: [orderId] });
    expect(purged).toBe(1);
    const left = await listNotifications(pool, { orderId });
    expect(left.map((r) => `${r.dedupeKey}:${r.status}`).sort()).toEqual([`rt-${orderId}-2#log:SENT`, `rt-${orderId}-3#log:FAILED`, `rt-${orderId}-4#log:PENDING`]);
  });
});
