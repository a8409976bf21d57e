import type { Client } from '@temporalio/client';
import type { Registry } from 'prom-client';
import { scrapeTimeGauge } from '../platform/http/metrics.js';
import { NOTIFICATION_WORKFLOW_TYPE } from './contract.js';

// The API's view of notifications, read from Temporal's visibility at scrape time: one count query, grouped by
// status, bounded by the namespace's retention (closed runs older than that are gone). Cheap on SQL and Elastic
// visibility alike; a Temporal that does not answer within the deadline makes the series disappear (alert on
// absent()) rather than show a stale number. Delivery rates are the worker's counters (src/notifications/metrics.ts).

/** Gauge name. */
export const NOTIFICATION_WORKFLOWS_GAUGE = 'koogallery_notification_workflows';

/** The statuses reported, every one present (0 included): in flight or retrying, and dead letters. */
const REPORTED: Readonly<Record<string, string>> = { Running: 'RUNNING', Failed: 'FAILED' };

/** Registers the notification gauge on `registry`. */
export function registerNotificationGauges(registry: Registry, client: Client, o: { deadlineMs?: number } = {}): void {
  const deadlineMs = o.deadlineMs ?? 2000;
  scrapeTimeGauge(registry, {
    name: NOTIFICATION_WORKFLOWS_GAUGE,
    help: 'Notification workflows by status: RUNNING (being delivered or waiting for a retry) and FAILED (dead letters, kept for the namespace retention); absent when Temporal cannot be read',
    labelNames: ['status'],
    async read(gauge) {
      const r = await client.withDeadline(Date.now() + deadlineMs, () =>
        client.workflow.count(`WorkflowType = '${NOTIFICATION_WORKFLOW_TYPE}' GROUP BY ExecutionStatus`),
      );
      const counts = new Map<string, number>();
      for (const g of r.groups) counts.set(String(g.groupValues[0]), g.count);
      for (const [status, label] of Object.entries(REPORTED)) gauge.set({ status: label }, counts.get(status) ?? 0);
    },
  });
}
