import type { Registry } from 'prom-client';
import { scrapeTimeGauge } from '../platform/http/metrics.js';
import type { Pool } from 'pg';
import { lastFinishedAt, openFindingCounts } from './store.js';
import { DRIFT_KINDS } from './contract.js';

// Reconciliation gauges on the API's /metrics, read from reconciliation_findings at scrape time.
//
// Why here and not the SDK metricMeter in the activity: the table is the truth. A gauge set by an activity lives
// in whichever worker replica ran the last page, keeps its old value on every other replica, and cannot drop a
// series when a finding is resolved by a run elsewhere; read at scrape time, every API replica reports the same
// current count (aggregate with max(), not sum()). The cost is one indexed GROUP BY per scrape.

/** Registers the reconciliation gauges on `registry`. */
export function registerDriftGauges(registry: Registry, pool: Pool): void {
  scrapeTimeGauge(registry, {
    name: 'koogallery_reconciliation_open_findings',
    help: 'Open reconciliation findings (read model vs. order workflows) by kind; absent when the database cannot be read',
    labelNames: ['kind'],
    async read(gauge) {
      const counts = new Map((await openFindingCounts(pool)).map((r) => [r.kind, r.n]));
      // Every known kind, zero included, so an alert on a kind has a series to look at.
      for (const kind of new Set<string>([...DRIFT_KINDS, ...counts.keys()])) gauge.set({ kind }, counts.get(kind) ?? 0);
    },
  });
  scrapeTimeGauge(registry, {
    name: 'koogallery_reconciliation_last_run_finished_timestamp_seconds',
    help: 'When the last reconciliation run finished (Unix time); alert when it is older than a few intervals',
    async read(gauge) {
      const at = await lastFinishedAt(pool);
      if (at) gauge.set(at.getTime() / 1000);
      else gauge.reset();
    },
  });
}
