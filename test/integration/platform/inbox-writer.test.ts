import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInboxWriter, InboxBacklogFull, listInboxCalls, type InboxEntry } from '../../../src/production-interface/inbox-store.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { recordingPool } from '../../support/recording-pool.js';

// The inbox writer (group commit): every answered call's row is stored, many per INSERT under load, none lost to a
// neighbour PostgreSQL refuses, and all of them in before flush() resolves.

let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: testInfra().databaseUrl, max: 4 });
});
afterAll(async () => {
  await pool.end();
});

const entry = (instanceId: string, i: number, over: Partial<InboxEntry> = {}): InboxEntry => ({
  receivedAt: new Date(Date.UTC(2026, 11, 7, 10, 0, 0, i)),
  interfaceVersion: 'V2',
  activity: 'queryInstance',
  orderId: `o-${instanceId}`,
  instanceId,
  testFlag: false,
  bodySha256: 'ab'.repeat(32),
  resultCode: '000000',
  httpStatus: 200,
  latencyMs: i + 0.4,
  ...over,
});

describe('inbox writer', () => {
  it('when 300 calls are answered at once, then all 300 rows are stored in arrival order with a handful of INSERTs', async () => {
    const instanceId = uniqueId('inbox-burst');
    const { pool: recorded, statements } = recordingPool(pool, (sql) => sql.includes('INSERT INTO marketplace_inbox'));
    const writer = createInboxWriter(recorded, { maxBatch: 100 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => writer.record(entry(instanceId, i))));
    const calls = await listInboxCalls(pool, instanceId, `o-${instanceId}`, 1000);
    expect(calls).toHaveLength(300);
    expect(calls.map((c) => c.latencyMs)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(calls[7]).toMatchObject({ activity: 'queryInstance', interfaceVersion: 'V2', resultCode: '000000', httpStatus: 200, receivedAt: '2026-12-07T10:00:00.007000Z' });
    // The first call alone, then the rest in batches of at most 100.
    expect(statements.length).toBeGreaterThanOrEqual(4);
    expect(statements.length).toBeLessThanOrEqual(5);
  });

  it('when one entry of a batch cannot be stored, then only that one fails and its neighbours are stored', async () => {
    const instanceId = uniqueId('inbox-nul');
    const losses: string[] = [];
    const writer = createInboxWriter(pool, { onLost: (why) => losses.push(why) });
    const first = writer.record(entry(instanceId, 0));
    // Recorded while the first INSERT is in flight: these three go in one batch, which PostgreSQL refuses (NUL in text).
    const rest = [1, 2, 3].map((i) => writer.record(entry(instanceId, i, i === 2 ? { activity: 'query\u0000Instance' } : {})));
    const settled = await Promise.allSettled([first, ...rest]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const calls = await listInboxCalls(pool, instanceId, `o-${instanceId}`);
    expect(calls.map((c) => c.latencyMs)).toEqual([0, 1, 3]);
    expect(losses).toEqual(['refused']);
  });

  it('when flushed, then every row recorded before is stored; and a full backlog refuses with a code', async () => {
    const instanceId = uniqueId('inbox-flush');
    const losses: string[] = [];
    const writer = createInboxWriter(pool, { maxQueued: 5, onLost: (why) => losses.push(why) });
    const recorded = Array.from({ length: 8 }, (_, i) => writer.record(entry(instanceId, i)).then(() => 'stored', (e: unknown) => e));
    expect(writer.waiting()).toBe(5);
    await writer.flush();
    expect(writer.waiting()).toBe(0);
    expect(losses).toEqual(['backlog-full', 'backlog-full']);
    const outcomes = await Promise.all(recorded);
    // The first went straight to PostgreSQL, five waited, two found the backlog full.
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(6);
    expect(outcomes.filter((o) => o instanceof InboxBacklogFull).map((o) => (o as InboxBacklogFull).code)).toEqual(['INBOX_BACKLOG_FULL', 'INBOX_BACKLOG_FULL']);
    expect(await listInboxCalls(pool, instanceId, `o-${instanceId}`)).toHaveLength(6);
  });
});
