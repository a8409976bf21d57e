import { Counter, Gauge, type Registry } from 'prom-client';
import { createInboxWriter, type InboxWriter } from './inbox-store.js';
import type { Pool } from 'pg';

/**
 * The inbox writer of the API, with its metrics: entries waiting for the write in flight (a backlog that grows
 * means PostgreSQL is slow or down) and entries lost, by reason (each is also logged with its call).
 */
export function createMeasuredInboxWriter(pool: Pool, registry: Registry, settings: { readonly inboxBacklogMax: number }): InboxWriter {
  const lost = new Counter({
    name: 'koogallery_inbox_lost_total',
    help: 'Answered marketplace calls whose inbox (audit) row was not stored: refused (PostgreSQL refused or could not take it) or backlog-full',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of ['refused', 'backlog-full'] as const) lost.inc({ reason }, 0);
  const writer = createInboxWriter(pool, { maxQueued: settings.inboxBacklogMax, onLost: (reason) => lost.inc({ reason }) });
  new Gauge({
    name: 'koogallery_inbox_waiting',
    help: 'Answered marketplace calls whose inbox row waits for the inbox write in flight',
    registers: [registry],
    collect() {
      this.set(writer.waiting());
    },
  });
  return writer;
}
