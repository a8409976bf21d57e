import type { Pool } from 'pg';
import type { SupervisionNode, SupervisionOutcome, SupervisionRecord, SupervisionState } from './contract.js';
import { toJsonb } from '../platform/db/jsonb.js';
import { withTransaction } from '../platform/db/transaction.js';

// The supervision read model (migrations/003_supervision.sql): written by the supervision workflow's activity,
// read by the merchant operations API. Every write is guarded by the workflow's seq, so a retried or late write
// never moves a row backwards.

/** One supervision as the read model holds it. */
export interface SupervisionRow {
  workflowId: string;
  orderWorkflowId: string;
  instanceId: string;
  orderId: string;
  orderLineId: string | null;
  customerId: string | null;
  productId: string | null;
  kind: 'GENERAL' | 'HARDWARE';
  node: SupervisionNode;
  status: 'PROCESSING' | 'COMPLETED' | 'CLOSED';
  appealOpen: boolean;
  testOrder: boolean;
  startedAt: Date;
  acceptedAt: Date | null;
  outcome: SupervisionOutcome | null;
  validityStart: Date | null;
  validityEnd: Date | null;
  remindersSent: number;
  lastReminderAt: Date | null;
  state: SupervisionState;
  seq: number;
  updatedAt: Date;
}

const COLUMNS = `workflow_id AS "workflowId", order_workflow_id AS "orderWorkflowId", instance_id AS "instanceId",
  order_id AS "orderId", order_line_id AS "orderLineId", customer_id AS "customerId", product_id AS "productId", kind,
  node, status, appeal_open AS "appealOpen", test_order AS "testOrder", started_at AS "startedAt",
  accepted_at AS "acceptedAt", outcome, validity_start AS "validityStart", validity_end AS "validityEnd",
  reminders_sent AS "remindersSent", last_reminder_at AS "lastReminderAt", state, seq, updated_at AS "updatedAt"`;

/** Writes one supervision transition (row, timeline entry, and the order row's supervision columns). */
export async function recordSupervision(pool: Pool, r: SupervisionRecord): Promise<void> {
  const s = r.state;
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO supervisions (workflow_id, order_workflow_id, instance_id, order_id, order_line_id, customer_id, product_id,
         kind, node, status, appeal_open, test_order, started_at, accepted_at, outcome, validity_start, validity_end,
         reminders_sent, last_reminder_at, state, seq)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)
       ON CONFLICT (workflow_id) DO UPDATE SET
         node = EXCLUDED.node, status = EXCLUDED.status, appeal_open = EXCLUDED.appeal_open,
         accepted_at = EXCLUDED.accepted_at, outcome = EXCLUDED.outcome, validity_start = EXCLUDED.validity_start,
         validity_end = EXCLUDED.validity_end, reminders_sent = EXCLUDED.reminders_sent,
         last_reminder_at = EXCLUDED.last_reminder_at, state = EXCLUDED.state, seq = EXCLUDED.seq, updated_at = now()
       WHERE supervisions.seq < EXCLUDED.seq`,
      [
        r.workflowId,
        r.orderWorkflowId,
        r.instanceId,
        r.key.orderId,
        r.key.kind === 'v2-line' ? r.key.orderLineId : null,
        r.customerId ?? null,
        r.productId ?? null,
        s.kind,
        s.node,
        s.status,
        s.appeal !== undefined,
        r.testOrder,
        s.startedAt,
        s.acceptedAt ?? null,
        s.outcome ?? null,
        s.validity?.start ?? null,
        s.validity?.end ?? null,
        s.remindersSent,
        s.lastReminderAt ?? null,
        toJsonb(s),
        s.seq,
      ],
    );
    await client.query(
      `INSERT INTO supervision_events (workflow_id, seq, node, event, detail, actor) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (workflow_id, seq) DO NOTHING`,
      [
        r.workflowId,
        s.seq,
        s.node,
        r.event,
        toJsonb({ status: s.status, ...(s.appeal ? { appeal: s.appeal } : {}), ...(s.outcome ? { outcome: s.outcome } : {}) }),
        r.actor ?? null,
      ],
    );
    await client.query(
      `UPDATE instances SET supervision_node = $2, supervision_status = $3, supervision_seq = $4, updated_at = now()
       WHERE instance_id = $1 AND supervision_seq < $4`,
      [r.instanceId, s.node, s.status, s.seq],
    );
  });
}

/** Filters of the ops list. */
export interface SupervisionFilter {
  node?: string;
  status?: string;
  orderId?: string;
  kind?: string;
  appealOpen?: boolean;
  /** Only supervisions started before this time (e.g. "unaccepted for more than 180 days"). */
  startedBefore?: Date;
  limit: number;
  /** Keyset cursor: rows started after (startedAt, workflowId). */
  after?: { startedAt: string; workflowId: string };
}

/** Lists supervisions, oldest first (the longest-waiting orders are the ones to chase). */
export async function listSupervisions(pool: Pool, f: SupervisionFilter): Promise<SupervisionRow[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    args.push(v);
    where.push(sql.replace('?', `$${args.length}`));
  };
  if (f.node) add('node = ?', f.node);
  if (f.status) add('status = ?', f.status);
  if (f.orderId) add('order_id = ?', f.orderId);
  if (f.kind) add('kind = ?', f.kind);
  if (f.appealOpen !== undefined) add('appeal_open = ?', f.appealOpen);
  if (f.startedBefore) add('started_at < ?', f.startedBefore);
  if (f.after) {
    args.push(f.after.startedAt, f.after.workflowId);
    where.push(`(started_at, workflow_id) > ($${args.length - 1}::timestamptz, $${args.length})`);
  }
  args.push(f.limit);
  const r = await pool.query<SupervisionRow>(
    `SELECT ${COLUMNS} FROM supervisions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY started_at, workflow_id LIMIT $${args.length}`,
    args,
  );
  return r.rows;
}

/** The supervisions of one order (one per line). */
export async function findSupervisionsByOrder(pool: Pool, orderId: string): Promise<SupervisionRow[]> {
  const r = await pool.query<SupervisionRow>(`SELECT ${COLUMNS} FROM supervisions WHERE order_id = $1 ORDER BY order_line_id NULLS FIRST`, [orderId]);
  return r.rows;
}

/** The supervision of one instance (its order line), if it is supervised. */
export async function findSupervisionByInstance(pool: Pool, instanceId: string): Promise<SupervisionRow | undefined> {
  const r = await pool.query<SupervisionRow>(`SELECT ${COLUMNS} FROM supervisions WHERE instance_id = $1 ORDER BY started_at DESC LIMIT 1`, [instanceId]);
  return r.rows[0];
}

/** One transition of a supervision's timeline, with the operator who entered it (when one did). */
export interface SupervisionEventRow {
  seq: number;
  node: SupervisionNode;
  event: string;
  detail: Record<string, unknown>;
  actor: string | null;
  at: Date;
}

/** One supervision's timeline. */
export async function listSupervisionEvents(pool: Pool, workflowId: string): Promise<SupervisionEventRow[]> {
  const r = await pool.query<SupervisionEventRow>(`SELECT seq, node, event, detail, actor, at FROM supervision_events WHERE workflow_id = $1 ORDER BY seq`, [workflowId]);
  return r.rows;
}

/** Supervised orders per node, test orders excluded (the gauge). */
export async function countSupervisionsByNode(pool: Pool): Promise<Map<string, number>> {
  const r = await pool.query<{ node: string; n: string }>(`SELECT node, count(*) AS n FROM supervisions WHERE NOT test_order GROUP BY node`);
  return new Map(r.rows.map((x) => [x.node, Number(x.n)]));
}

/** Supervised orders still unaccepted after `days` (the overdue gauge). */
export async function countOverdueSupervisions(pool: Pool, days: number): Promise<number> {
  const r = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM supervisions WHERE status = 'PROCESSING' AND NOT test_order AND started_at < now() - make_interval(days => $1)`,
    [days],
  );
  return Number(r.rows[0]?.n ?? 0);
}
