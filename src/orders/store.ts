import type { Pool } from 'pg';
import type { OrderPhase, TransitionRecord } from './contract.js';
import type { OrderDetail, OrderSummary, TimelineTransition } from './ops-schemas.js';
import { toJsonb } from '../platform/db/jsonb.js';
import { withTransaction } from '../platform/db/transaction.js';

/** One instance as the read model holds it. */
export interface InstanceRow {
  instanceId: string;
  workflowId: string;
  interfaceVersion: 'V1' | 'V2';
  orderId: string;
  orderLineId: string | null;
  customerId: string | null;
  productId: string | null;
  skuCode: string | null;
  chargingMode: string | null;
  phase: OrderPhase;
  resultCode: string | null;
  trial: boolean;
  testOrder: boolean;
  expireTime: Date | null;
  spec: Record<string, unknown>;
  frontEndUrl: string | null;
  adminUrl: string | null;
  memo: string | null;
  credentialsSealed: string | null;
  seq: number;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `instance_id AS "instanceId", workflow_id AS "workflowId", interface_version AS "interfaceVersion",
  order_id AS "orderId", order_line_id AS "orderLineId", customer_id AS "customerId", product_id AS "productId",
  sku_code AS "skuCode", charging_mode AS "chargingMode", phase, result_code AS "resultCode", trial,
  test_order AS "testOrder", expire_time AS "expireTime", spec, front_end_url AS "frontEndUrl", admin_url AS "adminUrl",
  memo, credentials_sealed AS "credentialsSealed", seq, created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * Writes one transition: upserts the instance (only when `seq` is newer than what is stored, so a retried or
 * late write can never move the read model backwards) and appends to the timeline (idempotent on seq).
 */
export async function recordTransition(pool: Pool, r: TransitionRecord): Promise<void> {
  const d = r.details;
  const key = r.key;
  const productId = d?.productId ?? (key.kind === 'v1-on-demand' ? key.productId : null);
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO instances (instance_id, workflow_id, interface_version, order_id, order_line_id, customer_id, product_id,
         sku_code, charging_mode, phase, result_code, trial, test_order, expire_time, spec, front_end_url, admin_url, memo,
         credentials_sealed, seq)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)
       ON CONFLICT (instance_id) DO UPDATE SET
         customer_id = COALESCE(EXCLUDED.customer_id, instances.customer_id),
         product_id = COALESCE(EXCLUDED.product_id, instances.product_id),
         sku_code = COALESCE(EXCLUDED.sku_code, instances.sku_code),
         charging_mode = COALESCE(EXCLUDED.charging_mode, instances.charging_mode),
         phase = EXCLUDED.phase,
         result_code = EXCLUDED.result_code,
         trial = EXCLUDED.trial,
         expire_time = EXCLUDED.expire_time,
         spec = EXCLUDED.spec,
         front_end_url = COALESCE(EXCLUDED.front_end_url, instances.front_end_url),
         admin_url = COALESCE(EXCLUDED.admin_url, instances.admin_url),
         memo = COALESCE(EXCLUDED.memo, instances.memo),
         credentials_sealed = COALESCE(EXCLUDED.credentials_sealed, instances.credentials_sealed),
         seq = EXCLUDED.seq,
         updated_at = now()
       WHERE instances.seq < EXCLUDED.seq`,
      [
        r.instanceId,
        r.workflowId,
        r.interfaceVersion,
        key.orderId,
        key.kind === 'v2-line' ? key.orderLineId : null,
        d?.customerId ?? null,
        productId,
        d?.skuCode ?? null,
        d?.chargingMode ?? null,
        r.phase,
        r.resultCode ?? null,
        d?.trial ?? false,
        r.testOrder,
        d?.expireTime ?? null,
        toJsonb(d?.spec ?? {}),
        r.access?.frontEndUrl ?? null,
        r.access?.adminUrl ?? null,
        r.access?.memo ?? null,
        r.access?.credentialsSealed ?? null,
        r.seq,
      ],
    );
    await client.query(
      `INSERT INTO instance_transitions (instance_id, seq, phase, event, detail) VALUES ($1,$2,$3,$4,$5)
       ON CONFLICT (instance_id, seq) DO NOTHING`,
      [r.instanceId, r.seq, r.phase, r.event, toJsonb(r.detail ?? {})],
    );
  });
}

/** The instances with these ids (any order; unknown ids are absent). */
export async function findInstances(pool: Pool, instanceIds: readonly string[]): Promise<InstanceRow[]> {
  if (instanceIds.length === 0) return [];
  const r = await pool.query<InstanceRow>(`SELECT ${COLUMNS} FROM instances WHERE instance_id = ANY($1::text[])`, [instanceIds]);
  return r.rows;
}

/**
 * The columns queryInstance needs: how the buyer reaches a live instance; and `version`, the row's version
 * (PostgreSQL's xmin): it changes with every write of the row, whoever writes it (a transition, a reseal, supervision),
 * so a copy read with the same version is the row as it stands.
 */
export type InstanceAccessRow = Pick<InstanceRow, 'instanceId' | 'workflowId' | 'orderId' | 'phase' | 'chargingMode' | 'frontEndUrl' | 'adminUrl' | 'memo' | 'credentialsSealed'> & {
  readonly version: string;
};

/**
 * Instances for queryInstance, reading only what its answer needs: it is polled with up to 100 ids per call, and
 * parsing the other columns (timestamps, spec) was a measurable share of its CPU (bench B3).
 */
export async function findInstanceAccess(pool: Pool, instanceIds: readonly string[]): Promise<InstanceAccessRow[]> {
  if (instanceIds.length === 0) return [];
  const r = await pool.query<InstanceAccessRow>(
    `SELECT instance_id AS "instanceId", workflow_id AS "workflowId", order_id AS "orderId", phase, charging_mode AS "chargingMode", front_end_url AS "frontEndUrl",
       admin_url AS "adminUrl", memo, credentials_sealed AS "credentialsSealed", xmin::text AS version
     FROM instances WHERE instance_id = ANY($1::text[])`,
    [instanceIds],
  );
  return r.rows;
}

/** The current versions (see InstanceAccessRow) of these instances; unknown ids are absent. */
export async function findInstanceVersions(pool: Pool, instanceIds: readonly string[]): Promise<Array<{ instanceId: string; version: string }>> {
  if (instanceIds.length === 0) return [];
  const r = await pool.query<{ instanceId: string; version: string }>(
    `SELECT instance_id AS "instanceId", xmin::text AS version FROM instances WHERE instance_id = ANY($1::text[])`,
    [instanceIds],
  );
  return r.rows;
}

/** What metering needs to know about an instance: its charging mode, who bought what, and its phase. */
export type InstanceChargingRow = Pick<InstanceRow, 'instanceId' | 'orderId' | 'phase' | 'chargingMode' | 'customerId' | 'productId' | 'skuCode' | 'spec' | 'testOrder' | 'createdAt'>;

const CHARGING_COLUMNS = `instance_id AS "instanceId", order_id AS "orderId", phase, charging_mode AS "chargingMode", customer_id AS "customerId",
  product_id AS "productId", sku_code AS "skuCode", spec, test_order AS "testOrder", created_at AS "createdAt"`;

/** The charging facts of these instances (usage intake checks every record's instance against them). */
export async function findInstanceChargingFacts(pool: Pool, instanceIds: readonly string[]): Promise<InstanceChargingRow[]> {
  if (instanceIds.length === 0) return [];
  const r = await pool.query<InstanceChargingRow>(
    `SELECT ${CHARGING_COLUMNS} FROM instances WHERE instance_id = ANY($1::text[])`,
    [instanceIds],
  );
  return r.rows;
}

/** The live instances of one customer's product in one charging mode, oldest first (a package's follow-ons). */
export async function findLiveInstancesOfCustomerProduct(pool: Pool, o: { customerId: string; productId: string; chargingMode: string }): Promise<InstanceChargingRow[]> {
  const r = await pool.query<InstanceChargingRow>(
    `SELECT ${CHARGING_COLUMNS} FROM instances
     WHERE customer_id = $1 AND product_id = $2 AND charging_mode = $3 AND phase = 'ACTIVE'
     ORDER BY created_at, instance_id LIMIT 100`,
    [o.customerId, o.productId, o.chargingMode],
  );
  return r.rows;
}

/** One instance, or undefined. */
export async function findInstance(pool: Pool, instanceId: string): Promise<InstanceRow | undefined> {
  return (await findInstances(pool, [instanceId]))[0];
}

/** The instance of an order workflow, or undefined. */
export async function findInstanceByWorkflowId(pool: Pool, workflowId: string): Promise<InstanceRow | undefined> {
  const r = await pool.query<InstanceRow>(`SELECT ${COLUMNS} FROM instances WHERE workflow_id = $1`, [workflowId]);
  return r.rows[0];
}

/**
 * Announces an instance the API answers 000004 for before its order workflow recorded the purchase (a worker cold,
 * busy or down), so that the marketplace's queryInstance polls find it provisioning rather than unknown. Written at
 * seq 0, below the workflow's first transition (a first run's seq 1), which therefore replaces the row with all it
 * knows; a row already there is left as it is. True when the instance's row is there and not released afterwards
 * (false in the rare race where the workflow's own insert commits between this statement's snapshot and its insert:
 * the caller then answers "retry", as it would have without the announcement).
 */
export async function announceProvisioningInstance(
  pool: Pool,
  a: { instanceId: string; workflowId: string; interfaceVersion: string; orderId: string; orderLineId?: string; testOrder: boolean },
): Promise<boolean> {
  const r = await pool.query(
    `WITH announced AS (
       INSERT INTO instances (instance_id, workflow_id, interface_version, order_id, order_line_id, phase, test_order, seq)
       VALUES ($1, $2, $3, $4, $5, 'PROVISIONING', $6, 0)
       ON CONFLICT DO NOTHING
       RETURNING instance_id)
     SELECT instance_id FROM announced
     UNION ALL
     SELECT instance_id FROM instances WHERE instance_id = $1 AND workflow_id = $2 AND phase <> 'RELEASED'`,
    [a.instanceId, a.workflowId, a.interfaceVersion, a.orderId, a.orderLineId ?? null, a.testOrder],
  );
  return (r.rowCount ?? 0) > 0;
}

/** The timeline of an instance, oldest first. */
export async function listTransitions(pool: Pool, instanceId: string): Promise<Array<{ seq: number; phase: string; event: string; detail: unknown; at: Date }>> {
  const r = await pool.query<{ seq: number; phase: string; event: string; detail: unknown; at: Date }>(
    `SELECT seq, phase, event, detail, at FROM instance_transitions WHERE instance_id = $1 ORDER BY seq`,
    [instanceId],
  );
  return r.rows;
}

// The ops API's reads of the read model. Never selects credentials_sealed, only whether it is set.

// Timestamps as ISO text with microseconds: the keyset cursor must carry updated_at exactly, and a JS Date has ms.
const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const SUMMARY_COLUMNS = `instance_id AS "instanceId", workflow_id AS "workflowId", interface_version AS "interfaceVersion",
  order_id AS "orderId", order_line_id AS "orderLineId", customer_id AS "customerId", product_id AS "productId",
  sku_code AS "skuCode", charging_mode AS "chargingMode", phase, result_code AS "resultCode", trial, test_order AS "testOrder",
  ${iso('expire_time')} AS "expireTime", seq, ${iso('created_at')} AS "createdAt", ${iso('updated_at')} AS "updatedAt"`;

/** What an ops search filters on; `after` is the last row of the previous page (keyset on updated_at, instance_id). */
export interface OrderSearch {
  readonly orderId?: string;
  readonly customerId?: string;
  readonly productId?: string;
  readonly phase?: OrderPhase;
  readonly testOrder?: boolean;
  readonly after?: { readonly updatedAt: string; readonly instanceId: string };
}

/** Searches instances, newest change first, one page after the cursor. */
export async function searchOrders(pool: Pool, q: OrderSearch, limit: number): Promise<OrderSummary[]> {
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
    [q.orderId ?? null, q.customerId ?? null, q.productId ?? null, q.phase ?? null, q.testOrder ?? null, q.after?.updatedAt ?? null, q.after?.instanceId ?? null, limit],
  );
  return r.rows;
}

/** One instance as ops see it, or undefined. */
export async function findOrderDetail(pool: Pool, instanceId: string): Promise<OrderDetail | undefined> {
  const r = await pool.query<OrderDetail>(
    `SELECT ${SUMMARY_COLUMNS}, spec, front_end_url AS "frontEndUrl", admin_url AS "adminUrl", memo,
       credentials_sealed IS NOT NULL AS "credentialsStored"
     FROM instances WHERE instance_id = $1`,
    [instanceId],
  );
  return r.rows[0];
}

/** The instance's transitions, oldest first, times as ISO text. */
export async function listTimelineTransitions(pool: Pool, instanceId: string): Promise<TimelineTransition[]> {
  const r = await pool.query<TimelineTransition>(
    `SELECT seq, phase, event, detail, ${iso('at')} AS at FROM instance_transitions WHERE instance_id = $1 ORDER BY seq`,
    [instanceId],
  );
  return r.rows;
}

/** A customer's one free trial of a product: claims it for this instance unless taken, and answers who holds it (§11). */
export async function claimTrialBenefit(pool: Pool, c: { customerId: string; productId: string; instanceId: string }): Promise<string | undefined> {
  await pool.query(`INSERT INTO trial_benefits (customer_id, product_id, instance_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [c.customerId, c.productId, c.instanceId]);
  const r = await pool.query<{ instance_id: string }>(`SELECT instance_id FROM trial_benefits WHERE customer_id = $1 AND product_id = $2`, [c.customerId, c.productId]);
  return r.rows[0]?.instance_id;
}

/** Frees a trial claim, only if this instance holds it. */
export async function releaseTrialBenefit(pool: Pool, c: { customerId: string; productId: string; instanceId: string }): Promise<void> {
  await pool.query(`DELETE FROM trial_benefits WHERE customer_id = $1 AND product_id = $2 AND instance_id = $3`, [c.customerId, c.productId, c.instanceId]);
}

/** The order workflows of an order (one per line), newest rows included before their supervision is recorded. */
export async function findOrderWorkflows(pool: Pool, orderId: string, orderLineId?: string): Promise<Array<{ workflowId: string; orderLineId: string | null }>> {
  const r = await pool.query<{ workflow_id: string; order_line_id: string | null }>(
    `SELECT workflow_id, order_line_id FROM instances WHERE order_id = $1 AND ($2::text IS NULL OR order_line_id = $2)`,
    [orderId, orderLineId ?? null],
  );
  return r.rows.map((x) => ({ workflowId: x.workflow_id, orderLineId: x.order_line_id }));
}

// ---- Sealed values, for a data-encryption key rotation (src/orders/reseal.ts) ----------------------------------------

/** One stored sealed value and the key of its row. */
export interface SealedCell {
  readonly id: string;
  readonly sealed: string;
}

/** A sealed value to rewrite: the row, what it held when read, and the value sealed anew. */
export interface ResealedCell {
  readonly id: string;
  readonly was: string;
  readonly sealed: string;
}

/** Instances' sealed credentials after `afterId`, in instance id order (keyset pages: no offset scans). */
export async function listSealedInstanceCredentials(pool: Pool, afterId: string, limit: number): Promise<SealedCell[]> {
  const r = await pool.query<SealedCell>(
    `SELECT instance_id AS id, credentials_sealed AS sealed FROM instances
      WHERE instance_id > $1 AND credentials_sealed IS NOT NULL ORDER BY instance_id LIMIT $2`,
    [afterId, limit],
  );
  return r.rows;
}

/**
 * Replaces instances' sealed credentials by the same secrets sealed anew, each only if its row still holds what was
 * read (a concurrent write has sealed under the current key already), in one statement. Leaves `seq` and
 * `updated_at`: nothing the read model says has changed. Answers the ids updated.
 */
export async function replaceSealedInstanceCredentials(pool: Pool, cells: readonly ResealedCell[]): Promise<Set<string>> {
  if (cells.length === 0) return new Set();
  const r = await pool.query<{ id: string }>(
    `UPDATE instances i SET credentials_sealed = u.sealed
       FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, was, sealed)
      WHERE i.instance_id = u.id AND i.credentials_sealed = u.was
      RETURNING i.instance_id AS id`,
    [cells.map((c) => c.id), cells.map((c) => c.was), cells.map((c) => c.sealed)],
  );
  return new Set(r.rows.map((x) => x.id));
}
