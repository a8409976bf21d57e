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

/** Inbox entries for an order or instance, newest first. */
export async function listInboxEntries(pool: Pool, where: { orderId?: string; instanceId?: string }, limit = 200): Promise<unknown[]> {
  const r = await pool.query(
    `SELECT id, received_at AS "receivedAt", interface_version AS "interfaceVersion", activity, business_id AS "businessId",
       order_id AS "orderId", order_line_id AS "orderLineId", instance_id AS "instanceId", test_flag AS "testFlag",
       result_code AS "resultCode", http_status AS "httpStatus", latency_ms AS "latencyMs", refusal
     FROM marketplace_inbox WHERE ($1::text IS NULL OR order_id = $1) AND ($2::text IS NULL OR instance_id = $2)
     ORDER BY id DESC LIMIT $3`,
    [where.orderId ?? null, where.instanceId ?? null, limit],
  );
  return r.rows;
}
