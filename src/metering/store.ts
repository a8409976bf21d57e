import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../platform/db/transaction.js';
import type { MeteredChargingMode } from './contract.js';

// Metering's SQL. Intake is one statement per call whatever the batch size (arrays unnested, ON CONFLICT for
// idempotency, the instances' totals updated in the same statement); aggregation and answers are set-based too.

/** A metered instance as the registry holds it. */
export interface MeteredInstanceRow {
  instanceId: string;
  chargingMode: MeteredChargingMode;
  customerId: string | null;
  productId: string | null;
  skuCode: string | null;
  /** Decimal strings (numeric): never floats. */
  used: string;
  quota: string | null;
  stopWhenUsedUp: boolean | null;
  thresholdKind: 'PERCENT' | 'REMAINING' | null;
  thresholdValue: string | null;
  repurchase: boolean | null;
  nextInstanceId: string | null;
  prevInstanceId: string | null;
  updatedAt: Date;
}

const INSTANCE_COLUMNS = `instance_id AS "instanceId", charging_mode AS "chargingMode", customer_id AS "customerId",
  product_id AS "productId", sku_code AS "skuCode", used::text AS used, quota::text AS quota,
  stop_when_used_up AS "stopWhenUsedUp", threshold_kind AS "thresholdKind", threshold_value::text AS "thresholdValue",
  repurchase, next_instance_id AS "nextInstanceId", prev_instance_id AS "prevInstanceId", updated_at AS "updatedAt"`;

/** What queryInstance's usage is made of (usageOfRow). */
export type MeteredUsageRow = Pick<MeteredInstanceRow, 'instanceId' | 'chargingMode' | 'used' | 'quota' | 'nextInstanceId' | 'updatedAt'>;

const USAGE_COLUMNS = `instance_id AS "instanceId", charging_mode AS "chargingMode", used::text AS used, quota::text AS quota,
  next_instance_id AS "nextInstanceId", updated_at AS "updatedAt"`;

/** INSTANCE_COLUMNS as json_build_object arguments (numerics as text, like the columns). */
const INSTANCE_JSON = `'instanceId', instance_id, 'chargingMode', charging_mode, 'customerId', customer_id, 'productId', product_id,
  'skuCode', sku_code, 'used', used::text, 'quota', quota::text, 'stopWhenUsedUp', stop_when_used_up, 'thresholdKind', threshold_kind,
  'thresholdValue', threshold_value::text, 'repurchase', repurchase, 'nextInstanceId', next_instance_id, 'prevInstanceId', prev_instance_id,
  'updatedAt', updated_at`;

/** What registering an instance writes (package terms only for packages). */
export interface InstanceRegistration {
  readonly instanceId: string;
  readonly chargingMode: MeteredChargingMode;
  readonly customerId: string | null;
  readonly productId: string | null;
  readonly skuCode: string | null;
  readonly quota: string | null;
  readonly stopWhenUsedUp: boolean | null;
  readonly thresholdKind: 'PERCENT' | 'REMAINING' | null;
  readonly thresholdValue: string | null;
  readonly repurchase: boolean | null;
}

/** Registers instances not registered yet (one statement); existing rows are left as they are. */
export async function registerInstances(db: Pool | PoolClient, rows: readonly InstanceRegistration[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO metering_instances (instance_id, charging_mode, customer_id, product_id, sku_code, quota, stop_when_used_up,
       threshold_kind, threshold_value, repurchase)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::boolean[], $8::text[], $9::numeric[], $10::boolean[])
       AS t(id, mode, customer, product, sku, quota, stop, tkind, tvalue, repurchase)
     -- Registered instances (nearly all, after their first batch) are skipped by a plain index probe, without the
     -- speculative insertion ON CONFLICT would make for each.
     WHERE NOT EXISTS (SELECT 1 FROM metering_instances m WHERE m.instance_id = t.id)
     ON CONFLICT (instance_id) DO NOTHING`,
    [
      rows.map((r) => r.instanceId),
      rows.map((r) => r.chargingMode),
      rows.map((r) => r.customerId),
      rows.map((r) => r.productId),
      rows.map((r) => r.skuCode),
      rows.map((r) => r.quota),
      rows.map((r) => r.stopWhenUsedUp),
      rows.map((r) => r.thresholdKind),
      rows.map((r) => r.thresholdValue),
      rows.map((r) => r.repurchase),
    ],
  );
}

/**
 * The usage of these instances (registered ones only), reading just the columns queryInstance answers with: it is
 * polled with up to 100 ids per call (bench B8: 100 on-demand ids 1.43 → 1.36 ms per call against whole rows).
 */
export async function findInstanceUsage(pool: Pool, instanceIds: readonly string[]): Promise<MeteredUsageRow[]> {
  if (instanceIds.length === 0) return [];
  const r = await pool.query<MeteredUsageRow>(`SELECT ${USAGE_COLUMNS} FROM metering_instances WHERE instance_id = ANY($1::text[])`, [instanceIds]);
  return r.rows;
}

/** The registry rows of these instances. */
export async function findMeteredInstances(pool: Pool, instanceIds: readonly string[]): Promise<MeteredInstanceRow[]> {
  if (instanceIds.length === 0) return [];
  const r = await pool.query<MeteredInstanceRow>(`SELECT ${INSTANCE_COLUMNS} FROM metering_instances WHERE instance_id = ANY($1::text[])`, [instanceIds]);
  return r.rows;
}

/**
 * Locks these instances' registry rows in id order, for the rest of the transaction. Two batches of the same
 * instances then wait for each other instead of deadlocking on the totals update (which locks in any order).
 * One row comes back, not one per instance.
 */
export async function lockInstances(db: PoolClient, instanceIds: readonly string[]): Promise<void> {
  if (instanceIds.length === 0) return;
  await db.query(
    `SELECT count(*) FROM (SELECT 1 FROM metering_instances WHERE instance_id = ANY($1::text[]) ORDER BY instance_id FOR UPDATE) AS locked`,
    [instanceIds],
  );
}

/** A package crossing as the store keeps it until its workflow has heard it. */
export interface CrossingRow {
  readonly instanceId: string;
  readonly kind: 'THRESHOLD_CROSSED' | 'EXHAUSTED' | 'RELEASED';
  readonly usedAfter: string;
  readonly quota: string;
  readonly stopWhenUsedUp: boolean;
  readonly repurchase: boolean;
}

/** Records crossings (one statement; a crossing recorded before is left as it is). */
export async function recordCrossings(db: Pool | PoolClient, rows: readonly CrossingRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO metering_crossings (instance_id, kind, used_after, quota, stop_when_used_up, repurchase)
     SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::boolean[], $6::boolean[])
     ON CONFLICT (instance_id, kind) DO NOTHING`,
    [rows.map((r) => r.instanceId), rows.map((r) => r.kind), rows.map((r) => r.usedAfter), rows.map((r) => r.quota), rows.map((r) => r.stopWhenUsedUp), rows.map((r) => r.repurchase)],
  );
}

/** Marks crossings delivered (their workflow heard them). */
export async function markCrossingsDelivered(db: Pool | PoolClient, rows: readonly Pick<CrossingRow, 'instanceId' | 'kind'>[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE metering_crossings c SET delivered_at = now()
     FROM unnest($1::text[], $2::text[]) AS d(instance_id, kind)
     WHERE c.instance_id = d.instance_id AND c.kind = d.kind AND c.delivered_at IS NULL`,
    [rows.map((r) => r.instanceId), rows.map((r) => r.kind)],
  );
}

/** Up to `limit` undelivered crossings, oldest first (a package's threshold before its exhaustion and release). */
export async function undeliveredCrossings(db: Pool | PoolClient, limit: number): Promise<CrossingRow[]> {
  const r = await db.query<CrossingRow>(
    `SELECT instance_id AS "instanceId", kind, used_after::text AS "usedAfter", quota::text AS quota,
       stop_when_used_up AS "stopWhenUsedUp", repurchase
     FROM metering_crossings WHERE delivered_at IS NULL
     ORDER BY created_at, instance_id, array_position(ARRAY['THRESHOLD_CROSSED', 'EXHAUSTED', 'RELEASED'], kind) LIMIT $1`,
    [limit],
  );
  return r.rows;
}

/**
 * Packages whose workflow may still be running: a crossing started it, and neither exhaustion (its end) nor a
 * release has been recorded. Up to `limit`, after the cursor.
 */
export async function openPackages(db: Pool | PoolClient, o: { readonly limit: number; readonly after?: string }): Promise<CrossingRow[]> {
  const r = await db.query<CrossingRow>(
    `SELECT DISTINCT ON (instance_id) instance_id AS "instanceId", kind, used_after::text AS "usedAfter", quota::text AS quota,
       stop_when_used_up AS "stopWhenUsedUp", repurchase
     FROM metering_crossings c
     WHERE ($2::text IS NULL OR instance_id > $2)
       AND NOT EXISTS (SELECT 1 FROM metering_crossings e WHERE e.instance_id = c.instance_id AND e.kind IN ('EXHAUSTED', 'RELEASED'))
     ORDER BY instance_id LIMIT $1`,
    [o.limit, o.after ?? null],
  );
  return r.rows;
}

/** One usage record to store (validated: value a decimal string with ≤ 4 decimals, times ISO-8601). */
export interface UsageInsert {
  readonly recordId: string;
  readonly instanceId: string;
  readonly usageValue: string;
  readonly beginTime: string;
  readonly endTime: string;
}

/** How one instance's total moved with a batch (for the package rules: a threshold crossed, a quota used up). */
export interface TotalMove {
  readonly instanceId: string;
  readonly usedBefore: string;
  readonly usedAfter: string;
}

/** What one instance gained from a batch's stored records. */
export interface InstanceAddition {
  readonly instanceId: string;
  readonly added: string;
  readonly count: number;
}

/**
 * Stores a batch of usage records (one statement; a recordId stored before, or twice in the batch, is left
 * out). Returns the recordIds it stored and what each instance gained, summed in the same statement. Takes no
 * lock on the registry: concurrent batches of the same instances insert side by side.
 */
export async function insertUsageRecords(db: Pool | PoolClient, records: readonly UsageInsert[]): Promise<{ inserted: Set<string>; additions: InstanceAddition[] }> {
  if (records.length === 0) return { inserted: new Set(), additions: [] };
  const r = await db.query<{ inserted: string[] | null; additions: InstanceAddition[] | null }>(
    `WITH ins AS (
       INSERT INTO metering_usage_records (record_id, instance_id, usage_value, begin_time, end_time, period_start)
       SELECT record_id, instance_id, usage_value, begin_time, end_time, date_bin('1 hour', begin_time, TIMESTAMPTZ '2000-01-01 00:00:00+00')
       FROM unnest($1::text[], $2::text[], $3::numeric[], $4::timestamptz[], $5::timestamptz[]) AS t(record_id, instance_id, usage_value, begin_time, end_time)
       ON CONFLICT (record_id) DO NOTHING
       RETURNING record_id, instance_id, usage_value
     ), sums AS (
       SELECT instance_id AS "instanceId", sum(usage_value)::text AS added, count(*)::int AS count FROM ins GROUP BY instance_id
     )
     SELECT (SELECT array_agg(record_id) FROM ins) AS inserted, (SELECT json_agg(sums ORDER BY "instanceId") FROM sums) AS additions`,
    [records.map((x) => x.recordId), records.map((x) => x.instanceId), records.map((x) => x.usageValue), records.map((x) => x.beginTime), records.map((x) => x.endTime)],
  );
  const row = r.rows[0];
  return { inserted: new Set(row?.inserted ?? []), additions: row?.additions ?? [] };
}

/** How a package's total moved with a batch, with the terms its crossings are judged by. */
export interface PackageMove extends TotalMove {
  readonly row: MeteredInstanceRow;
}

/**
 * Adds a batch's sums to its instances' totals: one UPDATE for all of them, one row per instance. The caller
 * locks the rows in id order first (lockInstances), so concurrent batches never deadlock; done last in the
 * transaction, the lock is held only for this statement and the commit, not for the insert. Only packages'
 * moves come back (with their terms): on-demand totals have no crossings to judge.
 */
export async function addToTotals(db: Pool | PoolClient, additions: readonly InstanceAddition[]): Promise<PackageMove[]> {
  if (additions.length === 0) return [];
  const r = await db.query<{ usedBefore: string; row: MeteredInstanceRow & { updatedAt: string } }>(
    `WITH upd AS (
       UPDATE metering_instances m SET used = m.used + s.added, record_count = m.record_count + s.n, updated_at = now()
       FROM unnest($1::text[], $2::numeric[], $3::bigint[]) AS s(instance_id, added, n)
       WHERE m.instance_id = s.instance_id AND m.instance_id = ANY($1::text[])
       RETURNING m.*, (m.used - s.added)::text AS used_before
     )
     SELECT used_before AS "usedBefore", json_build_object(${INSTANCE_JSON}) AS row FROM upd WHERE charging_mode = 'ON_DEMAND_PKG'`,
    [additions.map((a) => a.instanceId), additions.map((a) => a.added), additions.map((a) => a.count)],
  );
  return r.rows.map((x) => {
    const row = { ...x.row, updatedAt: new Date(x.row.updatedAt) };
    return { instanceId: row.instanceId, usedBefore: x.usedBefore, usedAfter: row.used, row };
  });
}

/**
 * Stores a batch of usage records and adds them to their instances' totals (for callers without a
 * transaction of their own: tests and tools). Returns the recordIds it stored and each total's move.
 */
export async function insertUsage(pool: Pool, records: readonly UsageInsert[]): Promise<{ inserted: Set<string>; moves: PackageMove[] }> {
  return withTransaction(pool, async (client) => {
    const { inserted, additions } = await insertUsageRecords(client, records);
    await lockInstances(
      client,
      additions.map((a) => a.instanceId),
    );
    return { inserted, moves: await addToTotals(client, additions) };
  });
}

/** Which of these recordIds are stored already. */
export async function existingRecordIds(db: Pool | PoolClient, recordIds: readonly string[]): Promise<Set<string>> {
  if (recordIds.length === 0) return new Set();
  const r = await db.query<{ recordId: string }>(`SELECT record_id AS "recordId" FROM metering_usage_records WHERE record_id = ANY($1::text[])`, [recordIds]);
  return new Set(r.rows.map((x) => x.recordId));
}

/** Thrown when another aggregation holds the lock: the caller retries shortly. */
export class AggregationBusy extends Error {
  constructor() {
    super('another metering aggregation is running');
    this.name = 'AggregationBusy';
  }
}

/**
 * Aggregates every closed hour's unpushed records into push items, in one REPEATABLE READ transaction: each
 * (instance, hour) gets the next revision, an sn from `snOf`, and exactly the records its sum saw are marked
 * with that sn (a record committed meanwhile is outside the snapshot and waits for the next revision). Two
 * aggregations at once cannot count a record twice: the second finds the lock taken; should it slip past the
 * lock, marking the same rows fails with a serialization error and the unique (instance, hour, revision) rejects
 * the same revision twice, so it rolls back and retries.
 */
export async function aggregateClosedPeriods(
  pool: Pool,
  o: { readonly closedBefore: Date; readonly recordTime: Date; readonly snOf: (instanceId: string, periodStart: Date, revision: number) => string },
): Promise<number> {
  return withTransaction(pool, async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const lock = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('metering-aggregate')) AS ok`);
    if (!lock.rows[0]?.ok) throw new AggregationBusy();
    const groups = await client.query<{ instanceId: string; periodStart: Date; total: string; revision: number; pkg: boolean }>(
      `SELECT u.instance_id AS "instanceId", u.period_start AS "periodStart", sum(u.usage_value)::text AS total,
         COALESCE((SELECT max(p.revision) + 1 FROM metering_push_items p WHERE p.instance_id = u.instance_id AND p.period_start = u.period_start), 0) AS revision,
         COALESCE(bool_or(m.charging_mode = 'ON_DEMAND_PKG'), false) AS pkg
       FROM metering_usage_records u LEFT JOIN metering_instances m ON m.instance_id = u.instance_id
       WHERE u.push_sn IS NULL AND u.period_start + interval '1 hour' <= $1
       GROUP BY u.instance_id, u.period_start`,
      [o.closedBefore],
    );
    if (groups.rows.length === 0) return 0;
    const g = groups.rows;
    const sns = g.map((x) => o.snOf(x.instanceId, x.periodStart, x.revision));
    await client.query(
      `WITH items AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::integer[], $5::numeric[], $6::boolean[])
           AS t(sn, instance_id, period_start, revision, total, pkg)
       ), created AS (
         INSERT INTO metering_push_items (metering_sn, instance_id, period_start, period_end, revision, usage_value, relate_pkg_instance, record_time, status)
         SELECT sn, instance_id, period_start, period_start + interval '1 hour', revision, total, CASE WHEN pkg THEN instance_id END, $7, 'PENDING' FROM items
         RETURNING metering_sn
       )
       UPDATE metering_usage_records u SET push_sn = i.sn
       FROM items i WHERE u.instance_id = i.instance_id AND u.instance_id = ANY($2::text[]) AND u.period_start = i.period_start AND u.push_sn IS NULL
         AND u.period_start + interval '1 hour' <= $8`,
      [sns, g.map((x) => x.instanceId), g.map((x) => x.periodStart), g.map((x) => x.revision), g.map((x) => x.total), g.map((x) => x.pkg), o.recordTime, o.closedBefore],
    );
    return g.length;
  });
}

/** A push item as one usage-data record needs it. */
export interface PushItemRow {
  meteringSn: string;
  instanceId: string;
  periodStart: Date;
  periodEnd: Date;
  recordTime: Date;
  usageValue: string;
  relatePkgInstance: string | null;
  attempts: number;
}

/** Up to `limit` pending items that push run `runKey` has not sent yet, oldest hours first. */
export async function pendingPushItems(pool: Pool, runKey: string, limit: number): Promise<PushItemRow[]> {
  const r = await pool.query<PushItemRow>(
    `SELECT metering_sn AS "meteringSn", instance_id AS "instanceId", period_start AS "periodStart", period_end AS "periodEnd",
       record_time AS "recordTime", usage_value::text AS "usageValue", relate_pkg_instance AS "relatePkgInstance", attempts
     FROM metering_push_items
     WHERE status = 'PENDING' AND last_run IS DISTINCT FROM $1
     ORDER BY period_start, metering_sn LIMIT $2`,
    [runKey, limit],
  );
  return r.rows;
}

/** The marketplace's answer for one item. */
export interface ItemAnswer {
  readonly meteringSn: string;
  readonly status: 'ACCEPTED' | 'PENDING' | 'FLAGGED';
  readonly code: string;
  readonly message: string | null;
}

/** Records the answers of one call of run `runKey` (one statement); an ACCEPTED item is never moved back. */
export async function recordPushAnswers(pool: Pool, runKey: string, answers: readonly ItemAnswer[]): Promise<void> {
  if (answers.length === 0) return;
  await pool.query(
    `UPDATE metering_push_items p SET status = a.status, last_code = a.code, last_message = a.message, attempts = p.attempts + 1,
       last_attempt_at = now(), last_run = $5, accepted_at = CASE WHEN a.status = 'ACCEPTED' THEN now() ELSE p.accepted_at END
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS a(sn, status, code, message)
     -- The ANY lets the planner find the rows by primary key whatever its estimate of the status filter (stale
     -- statistics once made it compare every pending row with every answer).
     WHERE p.metering_sn = a.sn AND p.metering_sn = ANY($1::text[]) AND p.status <> 'ACCEPTED'`,
    [answers.map((a) => a.meteringSn), answers.map((a) => a.status), answers.map((a) => a.code), answers.map((a) => a.message), runKey],
  );
}

/** A flagged item, for ops. */
export interface FlaggedItemRow {
  meteringSn: string;
  instanceId: string;
  periodStart: Date;
  usageValue: string;
  attempts: number;
  lastCode: string | null;
  lastMessage: string | null;
  lastAttemptAt: Date | null;
}

/** Flagged items (oldest hour first), after the cursor's sn. */
export async function listFlaggedItems(pool: Pool, o: { readonly limit: number; readonly after?: string }): Promise<FlaggedItemRow[]> {
  const r = await pool.query<FlaggedItemRow>(
    `SELECT metering_sn AS "meteringSn", instance_id AS "instanceId", period_start AS "periodStart", usage_value::text AS "usageValue",
       attempts, last_code AS "lastCode", last_message AS "lastMessage", last_attempt_at AS "lastAttemptAt"
     FROM metering_push_items WHERE status = 'FLAGGED' AND ($2::text IS NULL OR metering_sn > $2)
     ORDER BY metering_sn LIMIT $1`,
    [o.limit, o.after ?? null],
  );
  return r.rows;
}

/** Puts flagged items back in the queue (ops, after fixing the cause); returns how many. */
export async function requeueFlaggedItems(pool: Pool, sns: readonly string[]): Promise<number> {
  const r = await pool.query(`UPDATE metering_push_items SET status = 'PENDING', attempts = 0 WHERE status = 'FLAGGED' AND metering_sn = ANY($1::text[])`, [sns]);
  return r.rowCount ?? 0;
}

/** Counts by status (the gauges). */
export async function pushItemCounts(pool: Pool): Promise<Record<'PENDING' | 'FLAGGED', number>> {
  const r = await pool.query<{ status: 'PENDING' | 'FLAGGED'; n: string }>(
    `SELECT status, count(*)::text AS n FROM metering_push_items WHERE status IN ('PENDING', 'FLAGGED') GROUP BY status`,
  );
  const out = { PENDING: 0, FLAGGED: 0 };
  for (const row of r.rows) out[row.status] = Number(row.n);
  return out;
}

/**
 * Links `nextId` as the package that follows `instanceId` (both registered): only when neither is linked yet in
 * that direction. Returns the follow-on now linked (this call's, or one linked before), or undefined.
 */
export async function linkPackages(pool: Pool, instanceId: string, nextId: string): Promise<string | undefined> {
  return withTransaction(pool, async (client) => {
    const current = await client.query<{ next: string | null }>(`SELECT next_instance_id AS next FROM metering_instances WHERE instance_id = $1 FOR UPDATE`, [instanceId]);
    const existing = current.rows[0]?.next;
    if (existing) return existing;
    const taken = await client.query(`UPDATE metering_instances SET prev_instance_id = $1, updated_at = now() WHERE instance_id = $2 AND prev_instance_id IS NULL`, [instanceId, nextId]);
    if (taken.rowCount !== 1) return undefined;
    await client.query(`UPDATE metering_instances SET next_instance_id = $2, updated_at = now() WHERE instance_id = $1`, [instanceId, nextId]);
    return nextId;
  });
}

/** Which of these instances already follow another package. */
export async function linkedAsFollowOn(pool: Pool, instanceIds: readonly string[]): Promise<Set<string>> {
  if (instanceIds.length === 0) return new Set();
  const r = await pool.query<{ id: string }>(`SELECT instance_id AS id FROM metering_instances WHERE instance_id = ANY($1::text[]) AND prev_instance_id IS NOT NULL`, [instanceIds]);
  return new Set(r.rows.map((x) => x.id));
}
