import type { Pool } from 'pg';
import type { NotificationRecipient, NotificationRequest } from '../supervision/contract.js';
import { DEFAULT_RETRY_POLICY, retryDelayMs, type RetryPolicy } from './backoff.js';
import { DEFAULT_NOTIFICATION_ROUTING, NOTIFICATION_RECIPIENTS, type NotificationRouting } from './routing.js';

// notification_outbox (migrations/004_notification_outbox.sql). Activities enqueue, the dispatcher claims and marks.
// Enqueueing is idempotent because an activity may run again after a timeout; claiming takes a lease so that two
// dispatchers never deliver one row at the same time, and a dispatcher that dies mid-batch only delays its rows
// by the lease. Delivery is at least once: a send that succeeded but could not be marked is sent again.

/** Where a notification is in its life. FAILED is dead: no more attempts unless ops requeue it. */
export type NotificationStatus = 'PENDING' | 'SENT' | 'FAILED';

/** Every status. */
export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = ['PENDING', 'SENT', 'FAILED'];

/** One outbox row: one notification on one channel. */
export interface OutboxNotification {
  /** bigserial, as text (int8 does not fit a JS number in general). */
  readonly id: string;
  /** `<requestKey>#<channel>`: unique. Channels should pass it on (e.g. as an idempotency key). */
  readonly dedupeKey: string;
  /** The request's dedupeKey, shared by its rows on other channels. */
  readonly requestKey: string;
  readonly kind: string;
  readonly recipient: NotificationRecipient;
  readonly channel: string;
  readonly orderId: string;
  readonly instanceId: string | null;
  readonly subject: string;
  readonly body: string;
  readonly data: Readonly<Record<string, string | number | boolean>>;
  readonly status: NotificationStatus;
  /** Attempts started; a claimed row already counts the attempt being made. */
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly sentAt: Date | null;
}

const COLUMNS = `id::text AS id, dedupe_key AS "dedupeKey", request_key AS "requestKey", kind, recipient, channel,
  order_id AS "orderId", instance_id AS "instanceId", subject, body, data, status, attempts,
  next_attempt_at AS "nextAttemptAt", last_error AS "lastError", created_at AS "createdAt", sent_at AS "sentAt"`;

/** Longest last_error stored: enough for a gateway's reason, not for a whole error page. */
const MAX_ERROR_CHARS = 500;

/** The outbox row key of one request on one channel. Always suffixed, so changing routing never re-sends on a channel. */
export function outboxDedupeKey(requestKey: string, channel: string): string {
  return `${requestKey}#${channel}`;
}

function checkRequest(r: NotificationRequest, i: number, routing: NotificationRouting): string[] {
  const problems: string[] = [];
  const where = `notification ${i} (${JSON.stringify(r.dedupeKey)})`;
  if (typeof r.dedupeKey !== 'string' || r.dedupeKey.trim() === '') problems.push(`${where}: dedupeKey is empty`);
  if (typeof r.kind !== 'string' || r.kind.trim() === '') problems.push(`${where}: kind is empty`);
  if (typeof r.orderId !== 'string' || r.orderId.trim() === '') problems.push(`${where}: orderId is empty`);
  if (!(NOTIFICATION_RECIPIENTS as readonly string[]).includes(r.recipient)) {
    problems.push(`${where}: unknown recipient ${JSON.stringify(r.recipient)} (known: ${NOTIFICATION_RECIPIENTS.join(', ')})`);
  } else if (!routing[r.recipient] || routing[r.recipient].length === 0) {
    problems.push(`${where}: recipient ${r.recipient} has no channel in the routing`);
  }
  return problems;
}

/**
 * Enqueues each request once per channel its recipient is routed to. Idempotent: a row whose dedupe key exists is
 * left as it is (first write wins, whatever its status), so an activity may call this any number of times.
 * Returns the number of rows inserted by this call. Throws RangeError, inserting nothing, for an invalid request
 * (empty dedupeKey, kind or orderId, unknown recipient).
 */
export async function enqueueNotifications(
  pool: Pool,
  requests: readonly NotificationRequest[],
  routing: NotificationRouting = DEFAULT_NOTIFICATION_ROUTING,
): Promise<number> {
  const problems = requests.flatMap((r, i) => checkRequest(r, i, routing));
  if (problems.length > 0) throw new RangeError(`cannot enqueue notifications: ${problems.join('; ')}`);

  const rows = new Map<string, Record<string, unknown>>();
  for (const r of requests) {
    for (const channel of routing[r.recipient]) {
      const dedupeKey = outboxDedupeKey(r.dedupeKey, channel);
      if (rows.has(dedupeKey)) continue; // the same request twice in one call: first wins, as in the table
      rows.set(dedupeKey, {
        ord: rows.size,
        dedupe_key: dedupeKey,
        request_key: r.dedupeKey,
        kind: r.kind,
        recipient: r.recipient,
        channel,
        order_id: r.orderId,
        instance_id: r.instanceId ?? null,
        subject: r.subject,
        body: r.body,
        data: r.data ?? {},
      });
    }
  }
  if (rows.size === 0) return 0;
  // One statement for the whole batch: either every new row is in, or none is (the activity retries).
  const result = await pool.query(
    `INSERT INTO notification_outbox (dedupe_key, request_key, kind, recipient, channel, order_id, instance_id, subject, body, data)
     SELECT dedupe_key, request_key, kind, recipient, channel, order_id, instance_id, subject, body, data
     FROM jsonb_to_recordset($1::jsonb) AS r(ord int, dedupe_key text, request_key text, kind text, recipient text, channel text,
       order_id text, instance_id text, subject text, body text, data jsonb)
     ORDER BY ord
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [JSON.stringify([...rows.values()])],
  );
  return result.rowCount ?? 0;
}

/** What claimDue takes. */
export interface ClaimOptions {
  /** At most this many rows. */
  readonly batchSize: number;
  /** The claimed rows are not due again for this long: a dispatcher that dies mid-send frees them after it. */
  readonly leaseMs: number;
  /**
   * Only rows of these orders. Production dispatchers claim everything; tests share one database with other
   * files and must not take (and fail) rows that are not theirs.
   */
  readonly onlyOrderIds?: readonly string[];
}

/**
 * Claims due PENDING rows, oldest due first: counts an attempt on each and moves its next_attempt_at a lease
 * ahead, in the same statement that locks them (FOR UPDATE SKIP LOCKED), so a concurrent claim neither waits for
 * nor takes them. The caller must then markSent or markFailed each row; a row left unmarked is due again after
 * the lease.
 */
export async function claimDue(pool: Pool, options: ClaimOptions): Promise<OutboxNotification[]> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new RangeError('batchSize must be an integer ≥ 1');
  if (!(options.leaseMs > 0)) throw new RangeError('leaseMs must be > 0');
  const r = await pool.query<OutboxNotification>(
    `WITH due AS (
       SELECT id AS due_id FROM notification_outbox
       WHERE status = 'PENDING' AND next_attempt_at <= now() AND ($3::text[] IS NULL OR order_id = ANY($3::text[]))
       ORDER BY next_attempt_at, id
       LIMIT $1
       FOR UPDATE SKIP LOCKED
     )
     UPDATE notification_outbox o SET attempts = o.attempts + 1, next_attempt_at = now() + $2::double precision * interval '1 millisecond'
     FROM due WHERE o.id = due.due_id
     RETURNING ${COLUMNS}`,
    [options.batchSize, Math.ceil(options.leaseMs), options.onlyOrderIds ?? null],
  );
  return r.rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

/**
 * Records a delivery. True when the row was PENDING; false when it was already SENT or FAILED (a slower, lease-
 * expired twin got there first). Not fenced by attempt: a notification that went out is sent, whoever sent it.
 */
export async function markSent(pool: Pool, id: string): Promise<boolean> {
  const r = await pool.query(`UPDATE notification_outbox SET status = 'SENT', sent_at = now(), last_error = NULL WHERE id = $1 AND status = 'PENDING'`, [id]);
  return (r.rowCount ?? 0) > 0;
}

/** What became of a failed attempt. STALE: the row was reclaimed after our lease or settled meanwhile; nothing changed. */
export type FailureOutcome = 'RETRY' | 'DEAD' | 'STALE';

/** A failed attempt to record. */
export interface FailedAttempt {
  readonly id: string;
  /** The row's attempts as claimed: fences the write against a later claim of the same row. */
  readonly attempts: number;
  readonly error: string;
  /** The channel refused the notification for good (e.g. HTTP 422): dead now, whatever attempts are left. */
  readonly permanent?: boolean;
}

/**
 * Records a failed attempt: due again after the policy's delay, or dead (FAILED) when it was the last attempt or
 * permanent. Ignored (STALE) when the row was claimed again since (its attempts moved on) or is no longer PENDING.
 */
export async function markFailed(pool: Pool, attempt: FailedAttempt, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<FailureOutcome> {
  const dead = attempt.permanent === true || attempt.attempts >= policy.maxAttempts;
  const error = attempt.error.length > MAX_ERROR_CHARS ? attempt.error.slice(0, MAX_ERROR_CHARS - 1) + '…' : attempt.error;
  const r = await pool.query(
    `UPDATE notification_outbox SET
       status = CASE WHEN $3::boolean THEN 'FAILED' ELSE 'PENDING' END,
       next_attempt_at = CASE WHEN $3::boolean THEN next_attempt_at ELSE now() + $4::double precision * interval '1 millisecond' END,
       last_error = $5
     WHERE id = $1 AND attempts = $2 AND status = 'PENDING'`,
    [attempt.id, attempt.attempts, dead, retryDelayMs(attempt.attempts, policy), error],
  );
  if ((r.rowCount ?? 0) === 0) return 'STALE';
  return dead ? 'DEAD' : 'RETRY';
}

/** Ops: makes dead (FAILED) notifications due now with a fresh set of attempts. Returns how many were requeued. */
export async function requeueFailedNotifications(pool: Pool, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await pool.query(
    `UPDATE notification_outbox SET status = 'PENDING', attempts = 0, next_attempt_at = now() WHERE id = ANY($1::bigint[]) AND status = 'FAILED'`,
    [ids],
  );
  return r.rowCount ?? 0;
}

/** Filters of listNotifications; all optional, combined with AND. */
export interface NotificationFilter {
  readonly orderId?: string;
  readonly status?: NotificationStatus;
  readonly kind?: string;
  readonly requestKey?: string;
  /** Default 100, at most 1000. */
  readonly limit?: number;
}

/** Notifications matching the filter, oldest first. */
export async function listNotifications(pool: Pool, filter: NotificationFilter = {}): Promise<OutboxNotification[]> {
  const limit = Math.min(Math.max(Math.floor(filter.limit ?? 100), 1), 1000);
  // ORDER BY is qualified: a bare "id" would sort by the text alias in COLUMNS ("10" before "9").
  const r = await pool.query<OutboxNotification>(
    `SELECT ${COLUMNS} FROM notification_outbox
     WHERE ($1::text IS NULL OR order_id = $1) AND ($2::text IS NULL OR status = $2)
       AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR request_key = $4)
     ORDER BY notification_outbox.id LIMIT $5`,
    [filter.orderId ?? null, filter.status ?? null, filter.kind ?? null, filter.requestKey ?? null, limit],
  );
  return r.rows;
}

/** Row counts by status (every status present, 0 when none), overall or for one order. */
export async function countNotificationsByStatus(pool: Pool, filter: { readonly orderId?: string } = {}): Promise<Record<NotificationStatus, number>> {
  const r = await pool.query<{ status: NotificationStatus; n: number }>(
    `SELECT status, count(*)::int AS n FROM notification_outbox WHERE ($1::text IS NULL OR order_id = $1) GROUP BY status`,
    [filter.orderId ?? null],
  );
  const counts: Record<NotificationStatus, number> = { PENDING: 0, SENT: 0, FAILED: 0 };
  for (const row of r.rows) counts[row.status] = row.n;
  return counts;
}

/**
 * Deletes SENT rows sent before `olderThan`, at most `limit` per call (a bounded statement, so a first purge of a
 * long history does not hold locks for long). Dead letters (FAILED) and pending rows are never purged: they are
 * for ops to look at. Returns how many rows were deleted.
 */
export async function purgeSentNotifications(pool: Pool, o: { olderThan: Date; limit?: number; onlyOrderIds?: readonly string[] }): Promise<number> {
  const r = await pool.query(
    `DELETE FROM notification_outbox WHERE id IN (
       SELECT id FROM notification_outbox
       WHERE status = 'SENT' AND sent_at < $1 AND ($3::text[] IS NULL OR order_id = ANY($3::text[]))
       ORDER BY id LIMIT $2)`,
    [o.olderThan, o.limit ?? 1000, o.onlyOrderIds ? [...o.onlyOrderIds] : null],
  );
  return r.rowCount ?? 0;
}
