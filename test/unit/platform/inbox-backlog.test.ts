import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/platform/config.js';
import { createMeasuredInboxWriter } from '../../../src/production-interface/inbox-metrics.js';
import { InboxBacklogFull, type InboxEntry } from '../../../src/production-interface/inbox-store.js';

// INBOX_BACKLOG_MAX bounds how many answered calls' audit rows wait in memory while PostgreSQL does not answer.

const entry = (i: number): InboxEntry => ({ receivedAt: new Date(), interfaceVersion: 'V2', activity: 'queryInstance', bodySha256: String(i).padStart(64, '0'), resultCode: '000000', httpStatus: 200, latencyMs: 1 });

describe('the inbox backlog limit', () => {
  it('when INBOX_BACKLOG_MAX is set, then it is read, within bounds, with 10,000 as the default', () => {
    expect(loadConfig({}).http.inboxBacklogMax).toBe(10_000);
    expect(loadConfig({ INBOX_BACKLOG_MAX: '250' }).http.inboxBacklogMax).toBe(250);
    expect(() => loadConfig({ INBOX_BACKLOG_MAX: '5' })).toThrow(/INBOX_BACKLOG_MAX/);
  });

  it('when PostgreSQL does not answer, then the API writer keeps INBOX_BACKLOG_MAX rows waiting, refuses the next with its code and counts it lost', async () => {
    // One INSERT in flight that never ends: every later entry waits behind it.
    const pool = { query: () => new Promise(() => undefined) } as never;
    const registry = new Registry();
    const writer = createMeasuredInboxWriter(pool, registry, loadConfig({ INBOX_BACKLOG_MAX: '100' }).http);
    for (let i = 0; i <= 100; i++) void writer.record(entry(i)).catch(() => undefined);
    expect(writer.waiting()).toBe(100);
    const refused = await writer.record(entry(101)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(InboxBacklogFull);
    expect((refused as InboxBacklogFull).code).toBe('INBOX_BACKLOG_FULL');
    expect(await registry.metrics()).toMatch(/koogallery_inbox_lost_total\{reason="backlog-full"\} 1\b/);
  });
});
