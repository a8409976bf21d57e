import type { Registry } from 'prom-client';
import type { Pool } from 'pg';
import { scrapeTimeGauge } from '../platform/http/metrics.js';
import { STATEMENT_STEPS } from './contract.js';
import { countFlaggedOpenStatements, pendingLineStats, statementCountsByStep } from './store.js';

// Settlement gauges on the API's /metrics, read from PostgreSQL at scrape time (see src/reconciliation/gauges.ts
// for why a table-backed gauge beats one set by an activity): where the statements stand, those whose marketplace
// bill differs from ours, and the lines that wait outside any statement. A line PENDING for months is money that
// never reaches a statement: a supervision that never ends, or an order that cannot tell (README, "A released order
// that waits for a supervised purchase line").

/** Registers the settlement gauges on `registry`. */
export function registerSettlementGauges(registry: Registry, pool: Pool, now: () => number = Date.now): void {
  scrapeTimeGauge(registry, {
    name: 'koogallery_settlement_statements',
    help: 'Settlement statements by step (every statement kept, PAID included); absent when the database cannot be read',
    labelNames: ['step'],
    async read(gauge) {
      const counts = await statementCountsByStep(pool);
      for (const step of STATEMENT_STEPS) gauge.set({ step }, counts.get(step) ?? 0);
    },
  });
  scrapeTimeGauge(registry, {
    name: 'koogallery_settlement_flagged_statements',
    help: "Statements not yet paid whose marketplace bill differs from our statement (GET /ops/settlement/statements?flagged=true); absent when the database cannot be read",
    async read(gauge) {
      gauge.set(await countFlaggedOpenStatements(pool));
    },
  });
  scrapeTimeGauge(registry, {
    name: 'koogallery_settlement_pending_lines',
    help: 'Settlement lines waiting outside any statement for a condition of §10 (supervision, activation), test orders aside; absent when the database cannot be read',
    async read(gauge) {
      gauge.set((await pendingLineStats(pool)).count);
    },
  });
  scrapeTimeGauge(registry, {
    name: 'koogallery_settlement_oldest_pending_line_age_seconds',
    help: 'Age of the oldest of those lines (0 when there is none); alert when it passes what your longest supervision takes',
    async read(gauge) {
      const { oldestCreatedAt } = await pendingLineStats(pool);
      gauge.set(oldestCreatedAt ? Math.max(0, Math.round((now() - oldestCreatedAt.getTime()) / 1000)) : 0);
    },
  });
}
