import type { Pool } from 'pg';

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

/** Appends an inbox entry. */
export async function recordInboxEntry(pool: Pool, e: InboxEntry): Promise<void> {
  await pool.query(
    `INSERT INTO marketplace_inbox (interface_version, activity, business_id, order_id, order_line_id, instance_id, test_flag,
       body_sha256, result_code, http_status, latency_ms, refusal, received_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12, COALESCE($13, now()))`,
    [
      e.interfaceVersion ?? null,
      clip(e.activity, 64),
      clip(e.businessId),
      clip(e.orderId),
      clip(e.orderLineId),
      clip(e.instanceId, 64),
      e.testFlag ?? null,
      e.bodySha256,
      e.resultCode,
      e.httpStatus,
      Math.round(e.latencyMs),
      clip(e.refusal, 256),
      e.receivedAt ?? null,
    ],
  );
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
