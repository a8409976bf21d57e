import { withDeadline } from '../platform/deadline.js';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { checkRetryPolicy, DEFAULT_RETRY_POLICY, type RetryPolicy } from './backoff.js';
import { createChannelRegistry, isPermanentDeliveryError, type ChannelRegistry, type NotificationChannel } from './channels.js';
import { claimDue, markFailed, markSent, purgeSentNotifications, type FailureOutcome, type OutboxNotification } from './outbox.js';

// The dispatcher: claims due outbox rows, sends each on its channel, records the outcome. Runs in the worker
// process beside the Temporal worker (the activity only enqueues, so a slow gateway never holds a workflow task).
// Any number of dispatchers may run against one database: claims are leased (see claimDue). Nothing escapes the
// loop: a database outage is logged and the next tick tries again; a channel that throws is a failed attempt.

/** What happened to one claimed notification. UNRECORDED: the outcome could not be written; the row comes back after its lease. */
export type DeliveryOutcome = 'SENT' | FailureOutcome | 'UNRECORDED';

/** Reported to onOutcome for every claimed notification. */
export interface DispatchOutcome {
  readonly notification: OutboxNotification;
  readonly outcome: DeliveryOutcome;
  /** Set when the delivery failed. */
  readonly error?: string;
  /** The channel's send succeeded (true also for UNRECORDED after a successful send: it will be sent again). */
  readonly delivered: boolean;
}

/** Counts of one dispatchOnce. `failed` counts every attempt that did not deliver; `dead` those of them now FAILED. */
export interface DispatchResult {
  readonly claimed: number;
  readonly sent: number;
  readonly failed: number;
  readonly dead: number;
}

/** Options of createNotificationDispatcher. */
export interface NotificationDispatcherOptions {
  readonly pool: Pool;
  readonly channels: ChannelRegistry | readonly NotificationChannel[];
  readonly logger: Logger;
  /** Pause between polls when the last batch was not full. Default 5 s. */
  readonly pollIntervalMs?: number;
  /** Rows claimed (and sent concurrently) per batch. Default 10: their outcomes are written at once, on the pool the activities share. */
  readonly batchSize?: number;
  /** Shorthand for retry.maxAttempts. Default 10. */
  readonly maxAttempts?: number;
  /** Backoff between attempts (defaults: DEFAULT_RETRY_POLICY). */
  readonly retry?: Partial<RetryPolicy>;
  /** How long a claimed row is ours. Must exceed sendTimeoutMs. Default 2 min. */
  readonly leaseMs?: number;
  /** A send still pending after this counts as failed (it may still go out: delivery is at least once). Default 30 s. */
  readonly sendTimeoutMs?: number;
  /** Only rows of these orders (tests sharing a database; see ClaimOptions). */
  readonly onlyOrderIds?: readonly string[];
  /** Prometheus registry for the dispatcher's counters (never the global one). */
  readonly metricsRegistry?: Registry;
  /** Called for every claimed notification once its outcome is known. Must not throw (it is caught and logged). */
  readonly onOutcome?: (outcome: DispatchOutcome) => void;
  /** SENT rows older than this many days are deleted by the loop, about once an hour. Default 90; 0 keeps them. */
  readonly retentionDays?: number;
}

/** A running (or stopped) dispatcher. */
export interface NotificationDispatcher {
  /** Starts polling; a second call does nothing. */
  start(): void;
  /** Stops polling and resolves once every batch in flight has finished and recorded its outcomes. */
  stop(): Promise<void>;
  /** Claims and delivers one batch. Rejects only when the claim itself fails (the loop logs and retries). */
  dispatchOnce(): Promise<DispatchResult>;
  readonly running: boolean;
}

const DELIVERIES_METRIC = 'koogallery_notification_deliveries_total';
const CLAIM_ERRORS_METRIC = 'koogallery_notification_claim_errors_total';

function counter<T extends string>(registry: Registry, name: string, help: string, labelNames: readonly T[]): Counter<T> {
  // Several dispatchers (tests, a restart in-process) may share one registry: reuse the metric it already has.
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<T>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

class SendTimeoutError extends Error {
  constructor(ms: number) {
    super(`send timed out after ${ms} ms`);
    this.name = 'SendTimeoutError';
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return withDeadline(work, ms, () => new SendTimeoutError(ms));
}

/** Creates a dispatcher; call start() to poll, stop() on shutdown. Throws RangeError on inconsistent options. */
export function createNotificationDispatcher(options: NotificationDispatcherOptions): NotificationDispatcher {
  const { pool, onOutcome, onlyOrderIds } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 5000;
  const batchSize = options.batchSize ?? 10;
  const leaseMs = options.leaseMs ?? 120_000;
  const sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
  const policy = checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry, ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}) });
  if (!(pollIntervalMs > 0)) throw new RangeError('pollIntervalMs must be > 0');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be an integer ≥ 1');
  if (!(sendTimeoutMs > 0)) throw new RangeError('sendTimeoutMs must be > 0');
  // A send that outlives its lease could be claimed and sent by another dispatcher at the same time.
  if (!(leaseMs > sendTimeoutMs)) throw new RangeError(`leaseMs (${leaseMs}) must exceed sendTimeoutMs (${sendTimeoutMs})`);

  const registry = Array.isArray(options.channels) ? createChannelRegistry(options.channels) : (options.channels as ChannelRegistry);
  const log = options.logger.child({ component: 'notification-dispatcher' });
  const metrics = options.metricsRegistry
    ? {
        deliveries: counter(options.metricsRegistry, DELIVERIES_METRIC, 'Notification delivery attempts by channel and outcome', ['channel', 'outcome'] as const),
        claimErrors: counter(options.metricsRegistry, CLAIM_ERRORS_METRIC, 'Dispatcher polls that could not claim (database unavailable)', [] as const),
      }
    : undefined;

  async function deliver(n: OutboxNotification): Promise<DispatchOutcome> {
    const channel = registry.get(n.channel);
    let error: string | undefined;
    let permanent = false;
    if (!channel) {
      // Not a crash and not dead at once: a deployment that registers the channel within the retry window delivers it.
      error = `no channel registered as "${n.channel}" (registered: ${registry.names().join(', ') || 'none'})`;
    } else {
      try {
        await withTimeout(channel.send(n), sendTimeoutMs);
      } catch (err) {
        error = messageOf(err);
        permanent = isPermanentDeliveryError(err);
      }
    }
    const delivered = error === undefined;
    let outcome: DeliveryOutcome;
    try {
      if (delivered) {
        // false means a lease-expired twin settled it first; ours went out all the same.
        await markSent(pool, n.id);
        outcome = 'SENT';
      } else {
        outcome = await markFailed(pool, { id: n.id, attempts: n.attempts, error: error ?? '', permanent }, policy);
      }
    } catch (err) {
      outcome = 'UNRECORDED';
      log.error({ notificationId: n.id, channel: n.channel, delivered, err: messageOf(err) }, 'notification outcome not recorded; it will be attempted again after its lease');
    }
    const fields = { notificationId: n.id, kind: n.kind, recipient: n.recipient, channel: n.channel, orderId: n.orderId, attempts: n.attempts, outcome };
    if (outcome === 'DEAD') log.error({ ...fields, error }, 'notification dead: no more attempts');
    else if (!delivered) log.warn({ ...fields, error }, 'notification delivery failed');
    metrics?.deliveries.inc({ channel: n.channel, outcome: outcome.toLowerCase() });
    const result: DispatchOutcome = error === undefined ? { notification: n, outcome, delivered } : { notification: n, outcome, delivered, error };
    try {
      onOutcome?.(result);
    } catch (err) {
      log.error({ err: messageOf(err) }, 'onOutcome threw');
    }
    return result;
  }

  const inFlight = new Set<Promise<unknown>>();

  async function dispatchBatch(): Promise<DispatchResult> {
    const rows = await claimDue(pool, { batchSize, leaseMs, ...(onlyOrderIds ? { onlyOrderIds } : {}) });
    // deliver() never rejects: every failure is an outcome.
    const outcomes = await Promise.all(rows.map(deliver));
    return {
      claimed: rows.length,
      sent: outcomes.filter((o) => o.delivered).length,
      failed: outcomes.filter((o) => !o.delivered).length,
      dead: outcomes.filter((o) => o.outcome === 'DEAD').length,
    };
  }

  function dispatchOnce(): Promise<DispatchResult> {
    const batch = dispatchBatch();
    inFlight.add(batch);
    void batch.finally(() => inFlight.delete(batch)).catch(() => undefined);
    return batch;
  }

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let consecutiveClaimErrors = 0;
  // Each start() begins a new loop; a tick of an earlier loop that finishes after a stop() and start() must not
  // schedule a second loop beside it.
  let generation = 0;

  const retentionDays = options.retentionDays ?? 90;
  let lastPurgeAt = 0;
  /** Keeps the outbox from growing forever: delivered rows go after the retention period (at most hourly). */
  async function purgeIfDue(): Promise<void> {
    if (retentionDays <= 0 || Date.now() - lastPurgeAt < 3_600_000) return;
    lastPurgeAt = Date.now();
    try {
      const purged = await purgeSentNotifications(pool, { olderThan: new Date(Date.now() - retentionDays * 86_400_000), ...(onlyOrderIds ? { onlyOrderIds } : {}) });
      if (purged > 0) log.info({ purged, retentionDays }, 'delivered notifications purged');
    } catch (err) {
      log.warn({ err: messageOf(err) }, 'notification purge failed; retrying in an hour');
    }
  }

  async function tick(loop: number): Promise<void> {
    timer = undefined;
    let full = false;
    await purgeIfDue();
    try {
      const r = await dispatchOnce();
      full = r.claimed === batchSize;
      if (consecutiveClaimErrors > 0) log.info({ after: consecutiveClaimErrors }, 'notification outbox reachable again');
      consecutiveClaimErrors = 0;
    } catch (err) {
      consecutiveClaimErrors++;
      metrics?.claimErrors.inc();
      // The first failure and then about once a minute: an outage must show without flooding the log.
      if (consecutiveClaimErrors === 1 || consecutiveClaimErrors % Math.max(1, Math.round(60_000 / pollIntervalMs)) === 0) {
        log.error({ err: messageOf(err), consecutive: consecutiveClaimErrors }, 'notification outbox unavailable; retrying');
      }
    }
    // A full batch means a backlog: go again at once rather than after a poll interval.
    if (running && loop === generation) timer = setTimeout(() => void tick(loop), full ? 0 : pollIntervalMs);
  }

  return {
    start() {
      if (running) return;
      running = true;
      const loop = ++generation;
      timer = setTimeout(() => void tick(loop), 0);
      log.info({ channels: registry.names(), pollIntervalMs, batchSize, leaseMs, maxAttempts: policy.maxAttempts }, 'notification dispatcher started');
    },
    async stop() {
      if (running) log.info('notification dispatcher stopping');
      running = false;
      clearTimeout(timer);
      timer = undefined;
      // Each batch records its own outcomes; waiting for them keeps a shutdown from leaving sent rows unmarked.
      while (inFlight.size > 0) {
        const batches = [...inFlight];
        await Promise.allSettled(batches);
        for (const b of batches) inFlight.delete(b);
      }
    },
    dispatchOnce,
    get running() {
      return running;
    },
  };
}
