import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import {
  claimDue,
  countNotificationsByStatus,
  enqueueNotifications,
  listNotifications,
  markFailed,
  markSent,
  requeueFailedNotifications,
} from '../../../src/notifications/outbox.js';
import { parseNotificationRouting } from '../../../src/notifications/routing.js';
import type { NotificationRecipient, NotificationRequest } from '../../../src/supervision/contract.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The outbox table against the real PostgreSQL. Other files share the database: every test works on its own order
// ids and claims only them (onlyOrderIds), and nothing counts rows globally.

let pool: Pool;
beforeAll(() => {
  pool = createPool({ url: testInfra().databaseUrl, max: 6, applicationName: 'notifications-outbox-test' });
});
afterAll(async () => {
  await pool.end();
});

function request(orderId: string, n: number, recipient: NotificationRecipient = 'MERCHANT'): NotificationRequest {
  return {
    dedupeKey: `supervision-${orderId}:reminder:${n}:${recipient}`,
    kind: 'SUPERVISION_REMINDER',
    recipient,
    orderId,
    instanceId: `inst-${orderId}`,
    subject: `Order ${orderId} not accepted (${n})`,
    body: `Reminder ${n}`,
    data: { reminder: n, hardware: false },
  };
}

/** Milliseconds from the database's now() to the row's next_attempt_at. */
async function msUntilDue(id: string): Promise<number> {
  const r = await pool.query<{ ms: number }>(
    `SELECT (extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS ms FROM notification_outbox WHERE id = $1`,
    [id],
  );
  return r.rows[0]!.ms;
}

describe('enqueueNotifications', () => {
  it('when the same requests are enqueued twice, then there is one row each and the second call inserts nothing', async () => {
    const orderId = uniqueId('ord');
    const requests = [request(orderId, 1), request(orderId, 1, 'ACCOUNT_MANAGER')];
    expect(await enqueueNotifications(pool, requests)).toBe(2);
    expect(await enqueueNotifications(pool, requests)).toBe(0);
    // The same request twice within one call is one row too.
    expect(await enqueueNotifications(pool, [request(orderId, 2), request(orderId, 2)])).toBe(1);
    const rows = await listNotifications(pool, { orderId });
    expect(rows.map((r) => r.dedupeKey)).toEqual([
      `supervision-${orderId}:reminder:1:MERCHANT#log`,
      `supervision-${orderId}:reminder:1:ACCOUNT_MANAGER#log`,
      `supervision-${orderId}:reminder:2:MERCHANT#log`,
    ]);
    expect(rows[0]).toMatchObject({
      requestKey: `supervision-${orderId}:reminder:1:MERCHANT`,
      kind: 'SUPERVISION_REMINDER',
      recipient: 'MERCHANT',
      channel: 'log',
      orderId,
      instanceId: `inst-${orderId}`,
      subject: `Order ${orderId} not accepted (1)`,
      body: 'Reminder 1',
      data: { reminder: 1, hardware: false },
      status: 'PENDING',
      attempts: 0,
      lastError: null,
      sentAt: null,
    });
    expect(rows[0]!.createdAt).toBeInstanceOf(Date);
  });

  it('when a recipient is routed to two channels, then the request fans out to one row per channel', async () => {
    const orderId = uniqueId('ord');
    const routing = parseNotificationRouting('MERCHANT=log+email,CUSTOMER=in-site');
    expect(await enqueueNotifications(pool, [request(orderId, 1, 'MERCHANT'), request(orderId, 1, 'CUSTOMER')], routing)).toBe(3);
    const rows = await listNotifications(pool, { orderId });
    expect(rows.map((r) => [r.recipient, r.channel, r.requestKey])).toEqual([
      ['MERCHANT', 'log', `supervision-${orderId}:reminder:1:MERCHANT`],
      ['MERCHANT', 'email', `supervision-${orderId}:reminder:1:MERCHANT`],
      ['CUSTOMER', 'in-site', `supervision-${orderId}:reminder:1:CUSTOMER`],
    ]);
    // Routing gains a channel later: the retried activity adds only that channel's row, never re-sends on log.
    const wider = parseNotificationRouting('MERCHANT=log+email+sms,CUSTOMER=in-site');
    expect(await enqueueNotifications(pool, [request(orderId, 1, 'MERCHANT')], wider)).toBe(1);
    expect((await listNotifications(pool, { orderId, requestKey: `supervision-${orderId}:reminder:1:MERCHANT` })).map((r) => r.channel)).toEqual([
      'log',
      'email',
      'sms',
    ]);
  });

  it('when one request of a batch is invalid, then the call is refused and nothing of the batch is inserted', async () => {
    const orderId = uniqueId('ord');
    const bad = { ...request(orderId, 2), dedupeKey: ' ' };
    const unknown = { ...request(orderId, 3), recipient: 'PARTNER' as NotificationRecipient };
    await expect(enqueueNotifications(pool, [request(orderId, 1), bad, unknown])).rejects.toThrow(
      /notification 1 \(" "\): dedupeKey is empty; notification 2 .*unknown recipient "PARTNER"/,
    );
    expect(await listNotifications(pool, { orderId })).toEqual([]);
    expect(await enqueueNotifications(pool, [])).toBe(0);
  });
});

describe('claimDue, markSent, markFailed', () => {
  it('when rows are claimed, then each attempt is counted and a second claim inside the lease gets none of them', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1), request(orderId, 2), request(orderId, 3)]);
    const first = await claimDue(pool, { batchSize: 2, leaseMs: 60_000, onlyOrderIds: [orderId] });
    expect(first.map((r) => r.subject)).toEqual([`Order ${orderId} not accepted (1)`, `Order ${orderId} not accepted (2)`]);
    expect(first.map((r) => r.attempts)).toEqual([1, 1]);
    expect(await msUntilDue(first[0]!.id)).toBeGreaterThan(55_000);
    const second = await claimDue(pool, { batchSize: 10, leaseMs: 60_000, onlyOrderIds: [orderId] });
    expect(second.map((r) => r.subject)).toEqual([`Order ${orderId} not accepted (3)`]);
    expect(await claimDue(pool, { batchSize: 10, leaseMs: 60_000, onlyOrderIds: [orderId] })).toEqual([]);
  });

  it('when a claimer dies without marking, then its rows are due again after the lease, with the attempt counted', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1)]);
    const [claimed] = await claimDue(pool, { batchSize: 5, leaseMs: 300, onlyOrderIds: [orderId] });
    expect(claimed?.attempts).toBe(1);
    expect(await claimDue(pool, { batchSize: 5, leaseMs: 300, onlyOrderIds: [orderId] })).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const again = await claimDue(pool, { batchSize: 5, leaseMs: 60_000, onlyOrderIds: [orderId] });
    expect(again.map((r) => [r.id, r.attempts])).toEqual([[claimed!.id, 2]]);
    // The dead claimer's late failure report is fenced off: the row belongs to the second claim now.
    expect(await markFailed(pool, { id: claimed!.id, attempts: 1, error: 'late' })).toBe('STALE');
    expect((await listNotifications(pool, { orderId }))[0]).toMatchObject({ status: 'PENDING', lastError: null, attempts: 2 });
  });

  it('when a claimed row is sent, then it is SENT with sent_at and is never claimed again', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1)]);
    const [row] = await claimDue(pool, { batchSize: 5, leaseMs: 100, onlyOrderIds: [orderId] });
    expect(await markSent(pool, row!.id)).toBe(true);
    expect(await markSent(pool, row!.id)).toBe(false);
    const [stored] = await listNotifications(pool, { orderId });
    expect(stored).toMatchObject({ status: 'SENT', attempts: 1, lastError: null });
    expect(stored!.sentAt).toBeInstanceOf(Date);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await claimDue(pool, { batchSize: 5, leaseMs: 100, onlyOrderIds: [orderId] })).toEqual([]);
  });

  it('when attempts fail, then each is due again after a doubling delay, and the last one is dead with its error', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1)]);
    const policy = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 3_600_000 };
    const [a1] = await claimDue(pool, { batchSize: 1, leaseMs: 1000, onlyOrderIds: [orderId] });
    expect(await markFailed(pool, { id: a1!.id, attempts: a1!.attempts, error: 'gateway 503' }, policy)).toBe('RETRY');
    expect(await msUntilDue(a1!.id)).toBeGreaterThan(55_000);
    expect(await msUntilDue(a1!.id)).toBeLessThanOrEqual(60_000);
    expect((await listNotifications(pool, { orderId }))[0]).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'gateway 503' });
    expect(await claimDue(pool, { batchSize: 1, leaseMs: 1000, onlyOrderIds: [orderId] })).toEqual([]);

    await pool.query(`UPDATE notification_outbox SET next_attempt_at = now() WHERE order_id = $1`, [orderId]); // skip the wait
    const [a2] = await claimDue(pool, { batchSize: 1, leaseMs: 1000, onlyOrderIds: [orderId] });
    expect(await markFailed(pool, { id: a2!.id, attempts: a2!.attempts, error: 'gateway 502' }, policy)).toBe('RETRY');
    expect(await msUntilDue(a2!.id)).toBeGreaterThan(115_000);

    await pool.query(`UPDATE notification_outbox SET next_attempt_at = now() WHERE order_id = $1`, [orderId]);
    const [a3] = await claimDue(pool, { batchSize: 1, leaseMs: 1000, onlyOrderIds: [orderId] });
    expect(a3!.attempts).toBe(3);
    expect(await markFailed(pool, { id: a3!.id, attempts: a3!.attempts, error: 'x'.repeat(2000) }, policy)).toBe('DEAD');
    const [dead] = await listNotifications(pool, { orderId, status: 'FAILED' });
    expect(dead).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(dead!.lastError).toHaveLength(500);
    await pool.query(`UPDATE notification_outbox SET next_attempt_at = now() WHERE order_id = $1`, [orderId]);
    expect(await claimDue(pool, { batchSize: 1, leaseMs: 1000, onlyOrderIds: [orderId] })).toEqual([]);

    // Ops requeue it: due now, with a fresh set of attempts.
    expect(await requeueFailedNotifications(pool, [dead!.id])).toBe(1);
    expect(await requeueFailedNotifications(pool, [dead!.id])).toBe(0);
    const [requeued] = await claimDue(pool, { batchSize: 1, leaseMs: 1000, onlyOrderIds: [orderId] });
    expect(requeued).toMatchObject({ id: dead!.id, attempts: 1, status: 'PENDING' });
  });

  it('when a failure is permanent, then the row is dead at once', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1)]);
    const [row] = await claimDue(pool, { batchSize: 1, leaseMs: 1000, onlyOrderIds: [orderId] });
    expect(await markFailed(pool, { id: row!.id, attempts: row!.attempts, error: 'HTTP 422', permanent: true })).toBe('DEAD');
    expect(await countNotificationsByStatus(pool, { orderId })).toEqual({ PENDING: 0, SENT: 0, FAILED: 1 });
  });

  it('when an order has rows in every status, then list filters and counts see them by status and kind', async () => {
    const orderId = uniqueId('ord');
    await enqueueNotifications(pool, [request(orderId, 1), request(orderId, 2), { ...request(orderId, 3), kind: 'SUPERVISION_AUTO_ACCEPTED' }]);
    const claimed = await claimDue(pool, { batchSize: 2, leaseMs: 60_000, onlyOrderIds: [orderId] });
    await markSent(pool, claimed[0]!.id);
    await markFailed(pool, { id: claimed[1]!.id, attempts: 1, error: 'no', permanent: true });
    expect(await countNotificationsByStatus(pool, { orderId })).toEqual({ PENDING: 1, SENT: 1, FAILED: 1 });
    expect((await listNotifications(pool, { orderId, kind: 'SUPERVISION_AUTO_ACCEPTED' })).map((r) => r.status)).toEqual(['PENDING']);
    expect((await listNotifications(pool, { orderId, status: 'SENT' })).map((r) => r.id)).toEqual([claimed[0]!.id]);
    expect(await listNotifications(pool, { orderId, limit: 2 })).toHaveLength(2);
    const overall = await countNotificationsByStatus(pool);
    expect(overall.SENT).toBeGreaterThanOrEqual(1);
  });

  it('when claim options are unusable, then the claim is refused before touching the table', async () => {
    await expect(claimDue(pool, { batchSize: 0, leaseMs: 1000 })).rejects.toThrow(/batchSize/);
    await expect(claimDue(pool, { batchSize: 1, leaseMs: 0 })).rejects.toThrow(/leaseMs/);
  });
});
