import type { Pool } from 'pg';
import { createBatcher } from '../platform/db/batcher.js';

/** One marketplace call and what we answered. Never holds the body itself, only its hash. */
export interface InboxEntry {
  /** When the call arrived (the row is written after the answer is sent). */
  receivedAt?: Date;
  interfaceVersion?: 'V1' | 'V2';
  activity?: string;
  businessId?: string;
  orderId?: string;
  orderLineId?: string;
  instanceId?: string;
  testFlag?: boolean;
  bodySha256: string;
  resultCode: string;
  httpStatus: number;
  latencyMs: number;
  /** Why a request was refused before reaching an order (signature, replay, validation). */
  refusal?: string;
}

const clip = (s: string | undefined, n = 128) => (s === undefined ? null : s.slice(0, n));

const INBOX_COLUMNS = `interface_version, activity, business_id, order_id, order_line_id, instance_id, test_flag,
  body_sha256, result_code, http_status, latency_ms, refusal, received_at`;

/** Appends an inbox entry. */
export async function recordInboxEntry(pool: Pool, e: InboxEntry): Promise<void> {
  await insertInboxEntries(pool, [e]);
}

/** Appends inbox entries in one INSERT (one array parameter per column), in the given order. */
export async function insertInboxEntries(pool: Pool, entries: readonly InboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const column = <T>(f: (e: InboxEntry) => T) => entries.map(f);
  await pool.query(
    `INSERT INTO marketplace_inbox (${INBOX_COLUMNS})
     SELECT v, a, b, o, ol, i, t, h, rc, hs, l, rf, COALESCE(ra, now())
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[], $9::text[],
                 $10::integer[], $11::integer[], $12::text[], $13::timestamptz[]) AS x(v, a, b, o, ol, i, t, h, rc, hs, l, rf, ra)`,
    [
      column((e) => e.interfaceVersion ?? null),
      column((e) => clip(e.activity, 64)),
      column((e) => clip(e.businessId)),
      column((e) => clip(e.orderId)),
      column((e) => clip(e.orderLineId)),
      column((e) => clip(e.instanceId, 64)),
      column((e) => e.testFlag ?? null),
      column((e) => e.bodySha256),
      column((e) => e.resultCode),
      column((e) => e.httpStatus),
      column((e) => Math.round(e.latencyMs)),
      column((e) => clip(e.refusal, 256)),
      column((e) => e.receivedAt ?? null),
    ],
  );
}

/** Records inbox entries; see createInboxWriter. */
export interface InboxWriter {
  /** Resolves when the entry is stored; rejects when it could not be (the caller logs it). */
  record(entry: InboxEntry): Promise<void>;
  /** Resolves when every entry recorded so far has been written or has failed (shutdown, before the pool ends). */
  flush(): Promise<void>;
  /** Entries recorded and not yet written (the write in flight excluded). */
  waiting(): number;
}

/** Why an inbox entry was not stored: PostgreSQL refused or could not take it, or the backlog was full. */
export type InboxLoss = 'refused' | 'backlog-full';

/** The writer's backlog is full (PostgreSQL down or far behind): the entry is not kept. */
export class InboxBacklogFull extends Error {
  readonly code = 'INBOX_BACKLOG_FULL';
  constructor(readonly limit: number) {
    super(`inbox backlog full (${limit} entries waiting): entry dropped`);
    this.name = 'InboxBacklogFull';
  }
}

/**
 * Group commit for the inbox (platform/db/batcher.ts): a busy service writes one INSERT per batch of answered
 * calls instead of one per call (bench B3: 2.03 PostgreSQL transactions per queryInstance call, from 3); an idle one
 * writes each call's row at once, as before.
 */
export function createInboxWriter(pool: Pool, o: { maxBatch?: number; maxQueued?: number; onLost?: (why: InboxLoss) => void } = {}): InboxWriter {
  const lost = o.onLost ?? (() => undefined);
  const commit = createBatcher<InboxEntry, void>({
    what: 'inbox entries',
    run: async (entries) => {
      await insertInboxEntries(pool, entries);
      return entries.map(() => undefined);
    },
    maxBatch: o.maxBatch ?? 200,
    maxQueued: o.maxQueued ?? 10_000,
    full: (limit) => {
      lost('backlog-full');
      return new InboxBacklogFull(limit);
    },
  });
  return {
    record: (entry) =>
      commit.submit(entry).catch((err: unknown) => {
        if (!(err instanceof InboxBacklogFull)) lost('refused');
        throw err;
      }),
    flush: () => commit.flush(),
    waiting: () => commit.waiting(),
  };
}

/** One call as ops read it back. */
export interface InboxCall {
  id: number;
  receivedAt: string;
  interfaceVersion: 'V1' | 'V2' | null;
  activity: string | null;
  businessId: string | null;
  orderId: string | null;
  orderLineId: string | null;
  instanceId: string | null;
  testFlag: boolean | null;
  resultCode: string;
  httpStatus: number;
  latencyMs: number;
  refusal: string | null;
}

/** Calls about an instance or its purchase order (the most recent `limit`), in arrival order, times as ISO text. */
export async function listInboxCalls(pool: Pool, instanceId: string, orderId: string, limit = 200): Promise<InboxCall[]> {
  const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  const r = await pool.query<Omit<InboxCall, 'id'> & { id: string; receivedAtRaw?: Date }>(
    `SELECT * FROM (
       SELECT id, received_at AS "receivedAtRaw", ${iso('received_at')} AS "receivedAt", interface_version AS "interfaceVersion", activity, business_id AS "businessId",
         order_id AS "orderId", order_line_id AS "orderLineId", instance_id AS "instanceId", test_flag AS "testFlag",
         result_code AS "resultCode", http_status AS "httpStatus", latency_ms AS "latencyMs", refusal
       FROM marketplace_inbox WHERE instance_id = $1 OR order_id = $2 ORDER BY id DESC LIMIT $3
     ) recent ORDER BY "receivedAtRaw", id`,
    [instanceId, orderId, limit],
  );
  // bigserial arrives as a string; ids stay far below 2^53.
  return r.rows.map(({ receivedAtRaw: _raw, ...row }) => ({ ...row, id: Number(row.id) }));
}
