import type { Pool } from 'pg';
import type { ListOrdersParams } from '../ops-api/params.js';

// Read-only SQL of the ops API over the read model (migrations/001_core.sql). Never selects credentials_sealed.

/** One instance in a search result. */
export interface OrderSummary {
  instanceId: string;
  workflowId: string;
  interfaceVersion: 'V1' | 'V2';
  orderId: string;
  orderLineId: string | null;
  customerId: string | null;
  productId: string | null;
  skuCode: string | null;
  chargingMode: string | null;
  phase: string;
  resultCode: string | null;
  trial: boolean;
  testOrder: boolean;
  expireTime: string | null;
  seq: number;
  createdAt: string;
  updatedAt: string;
}

/** One instance with everything ops may see (still no credentials). */
export interface OrderDetail extends OrderSummary {
  spec: Record<string, unknown>;
  frontEndUrl: string | null;
  adminUrl: string | null;
  memo: string | null;
  /** Whether sealed credentials are stored (they are never shown). */
  credentialsStored: boolean;
}

// Timestamps as ISO text with microseconds: the keyset cursor must carry updated_at exactly, and a JS Date has ms.
const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const SUMMARY_COLUMNS = `instance_id AS "instanceId", workflow_id AS "workflowId", interface_version AS "interfaceVersion",
  order_id AS "orderId", order_line_id AS "orderLineId", customer_id AS "customerId", product_id AS "productId",
  sku_code AS "skuCode", charging_mode AS "chargingMode", phase, result_code AS "resultCode", trial, test_order AS "testOrder",
  ${iso('expire_time')} AS "expireTime", seq, ${iso('created_at')} AS "createdAt", ${iso('updated_at')} AS "updatedAt"`;

/** Searches instances, newest change first, one page after the cursor (keyset on updated_at, instance_id). */
export async function searchOrders(pool: Pool, p: ListOrdersParams, limit: number): Promise<OrderSummary[]> {
  const r = await pool.query<OrderSummary>(
    `SELECT ${SUMMARY_COLUMNS} FROM instances
     WHERE ($1::text IS NULL OR order_id = $1)
       AND ($2::text IS NULL OR customer_id = $2)
       AND ($3::text IS NULL OR product_id = $3)
       AND ($4::text IS NULL OR phase = $4)
       AND ($5::boolean IS NULL OR test_order = $5)
       AND ($6::timestamptz IS NULL OR (updated_at, instance_id) < ($6::timestamptz, $7::text))
     ORDER BY updated_at DESC, instance_id DESC
     LIMIT $8`,
    [p.orderId ?? null, p.customerId ?? null, p.productId ?? null, p.phase ?? null, p.testOrder ?? null, p.cursor?.u ?? null, p.cursor?.i ?? null, limit],
  );
  return r.rows;
}

/** One instance, or undefined. */
export async function findOrderDetail(pool: Pool, instanceId: string): Promise<OrderDetail | undefined> {
  const r = await pool.query<OrderDetail>(
    `SELECT ${SUMMARY_COLUMNS}, spec, front_end_url AS "frontEndUrl", admin_url AS "adminUrl", memo,
       credentials_sealed IS NOT NULL AS "credentialsStored"
     FROM instances WHERE instance_id = $1`,
    [instanceId],
  );
  return r.rows[0];
}

/** One transition of the timeline. */
export interface TimelineTransition {
  seq: number;
  phase: string;
  event: string;
  detail: Record<string, unknown>;
  at: string;
}

/** The instance's transitions, oldest first. */
export async function listTimelineTransitions(pool: Pool, instanceId: string): Promise<TimelineTransition[]> {
  const r = await pool.query<TimelineTransition>(
    `SELECT seq, phase, event, detail, ${iso('at')} AS at FROM instance_transitions WHERE instance_id = $1 ORDER BY seq`,
    [instanceId],
  );
  return r.rows;
}

/** One marketplace call we answered. */
export interface MarketplaceCall {
  id: number;
  receivedAt: string;
  interfaceVersion: string | null;
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

/** Marketplace calls about the instance or its purchase order (the most recent `limit`), in arrival order. */
export async function listMarketplaceCalls(pool: Pool, instanceId: string, orderId: string, limit = 200): Promise<MarketplaceCall[]> {
  const r = await pool.query<MarketplaceCall & { id: string; receivedAtRaw?: Date }>(
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
