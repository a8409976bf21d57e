import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatcherWatch } from '../db/batcher.js';

/** The API's Prometheus metrics, on a registry of its own (one per app, so tests can run several). */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'koogallery_api_' });
  return {
    registry,
    requests: new Counter({
      name: 'koogallery_requests_total',
      help: 'Production-interface calls by interface version, activity and result code',
      labelNames: ['interface', 'activity', 'result_code'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'koogallery_request_duration_seconds',
      help: 'Time to answer a production-interface call',
      labelNames: ['interface', 'activity'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5],
      registers: [registry],
    }),
    signatureFailures: new Counter({
      name: 'koogallery_signature_failures_total',
      help: 'Requests refused for authentication (bad or missing signature, stale timestamp, replayed nonce)',
      labelNames: ['interface', 'reason'] as const,
      registers: [registry],
    }),
    callsByAccessKey: new Counter({
      name: 'koogallery_calls_by_access_key_total',
      help: 'Authenticated marketplace calls by the key they were signed with: primary (KOOGALLERY_ACCESS_KEY) or other-<n> (its place in KOOGALLERY_OTHER_ACCESS_KEYS)',
      labelNames: ['interface', 'key'] as const,
      registers: [registry],
    }),
    asyncAnswers: new Counter({
      name: 'koogallery_async_answers_total',
      help: 'Purchases answered 000004 (processing) because provisioning outlasted the budget',
      registers: [registry],
    }),
  };
}

/** The API metrics' type. */
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/**
 * A gauge read at scrape time from the source of truth (PostgreSQL, Temporal's visibility): `read` sets its values.
 * A read that fails drops its series (alert on absent()) rather than leave a stale number.
 */
export function scrapeTimeGauge<L extends string = string>(
  registry: Registry,
  o: { readonly name: string; readonly help: string; readonly labelNames?: readonly L[]; readonly read: (gauge: Gauge<L>) => Promise<void> },
): Gauge<L> {
  return new Gauge<L>({
    name: o.name,
    help: o.help,
    labelNames: o.labelNames ?? [],
    registers: [registry],
    async collect() {
      try {
        await o.read(this);
      } catch {
        this.reset();
      }
    },
  });
}

/**
 * `koogallery_db_batch_waiting{batch}`: items waiting for their batcher's statement in flight (nonce claims, instance
 * version reads), summed over the batchers of one kind. Near 0 with spikes of a few under load; a backlog that keeps
 * growing means PostgreSQL is slow or down, and each item is a marketplace call waiting for its answer. (The inbox
 * writer has its own gauge, koogallery_inbox_waiting.)
 */
export function batchWaitingGauge(registry: Registry): BatcherWatch {
  const batchers: { batch: string; waiting: () => number }[] = [];
  new Gauge({
    name: 'koogallery_db_batch_waiting',
    help: 'Items waiting for their batched PostgreSQL statement in flight, by kind (nonce claims, instance version reads)',
    labelNames: ['batch'] as const,
    registers: [registry],
    collect() {
      const sums = new Map<string, number>();
      for (const b of batchers) sums.set(b.batch, (sums.get(b.batch) ?? 0) + b.waiting());
      for (const [batch, n] of sums) this.set({ batch }, n);
    },
  });
  return {
    // "nonce claims" → nonce-claims: label values as the other metrics' are.
    watch: (what, waiting) => void batchers.push({ batch: what.replaceAll(' ', '-'), waiting }),
  };
}
