import type { Registry } from 'prom-client';
import { scrapeTimeGauge } from '../platform/http/metrics.js';
import type { Pool } from 'pg';
import { pushItemCounts } from './store.js';

// Metering gauges on the API's /metrics, read from metering_push_items at scrape time (see
// src/reconciliation/gauges.ts for why a table-backed gauge beats one set by an activity).

/** Registers the metering gauges on `registry`. */
export function registerMeteringGauges(registry: Registry, pool: Pool): void {
  scrapeTimeGauge(registry, {
    name: 'koogallery_metering_push_items',
    help: 'Usage push items not yet accepted by the marketplace: pending (to be sent or retried) and flagged (refused too often, waiting for ops); absent when the database cannot be read',
    labelNames: ['status'],
    async read(gauge) {
      const counts = await pushItemCounts(pool);
      gauge.set({ status: 'pending' }, counts.PENDING);
      gauge.set({ status: 'flagged' }, counts.FLAGGED);
    },
  });
}
