import type { Registry } from 'prom-client';
import { scrapeTimeGauge } from '../platform/http/metrics.js';
import { countOverdueSupervisions, countSupervisionsByNode } from './store.js';
import type { Pool } from 'pg';
import { SUPERVISION_NODES } from './contract.js';

// Supervision gauges on the API's /metrics, read from PostgreSQL at scrape time (see drift-gauge.ts for why the
// table, not an activity, is the source): how many orders wait at each node, and how many have waited past the
// reminder threshold. Notifications have their own (src/notifications/gauges.ts, from Temporal's visibility).

/** Registers the supervision gauges on `registry`. */
export function registerSupervisionGauges(registry: Registry, pool: Pool, o: { reminderAfterDays: number }): void {
  scrapeTimeGauge(registry, {
    name: 'koogallery_supervision_orders',
    help: 'Supervised orders by node (test orders excluded); absent when the database cannot be read',
    labelNames: ['node'],
    async read(gauge) {
      const counts = await countSupervisionsByNode(pool);
      for (const node of SUPERVISION_NODES) gauge.set({ node }, counts.get(node) ?? 0);
    },
  });
  scrapeTimeGauge(registry, {
    name: 'koogallery_supervision_overdue_orders',
    help: 'Supervised orders still unaccepted after the reminder threshold (SUPERVISION_REMINDER_AFTER_DAYS); nothing closes them',
    async read(gauge) {
      gauge.set(await countOverdueSupervisions(pool, o.reminderAfterDays));
    },
  });
}
