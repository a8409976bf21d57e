import type { Pool } from 'pg';
import type { ReconciledInstance } from './compare.js';
import { RECONCILED_PHASES, type DriftFinding, type DriftKind } from './contract.js';
import { toJsonb } from '../platform/db/jsonb.js';
import { withTransaction } from '../platform/db/transaction.js';

// reconciliation_runs and reconciliation_findings (migrations/002_reconciliation.sql). Every write is idempotent,
// because an activity may run again after a timeout: a finding is keyed by (instance, kind), a run by its key.

/** One finding as stored. */
export interface StoredFinding extends DriftFinding {
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  readonly resolvedAt: Date | null;
}

/** One run as stored. */
export interface StoredRun {
  readonly runKey: string;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly complete: boolean;
  readonly checked: number;
  readonly unchecked: number;
  readonly newFindings: number;
  readonly resolvedFindings: number;
  readonly openFindings: number;
}

const FINDING_COLUMNS = `instance_id AS "instanceId", kind, workflow_id AS "workflowId", order_id AS "orderId", details,
  first_seen_at AS "firstSeenAt", last_seen_at AS "lastSeenAt", resolved_at AS "resolvedAt"`;

const RUN_COLUMNS = `run_key AS "runKey", started_at AS "startedAt", finished_at AS "finishedAt", complete, checked, unchecked,
  new_findings AS "newFindings", resolved_findings AS "resolvedFindings", open_findings AS "openFindings"`;

/** Records the start of a run; a repeated call (retry, continue-as-new) keeps the first start time. */
export async function beginRun(pool: Pool, runKey: string): Promise<void> {
  await pool.query(`INSERT INTO reconciliation_runs (run_key) VALUES ($1) ON CONFLICT (run_key) DO NOTHING`, [runKey]);
}

/**
 * One page of instances in a phase whose workflow may still be open, ordered by instanceId (a stable key while
 * rows change), optionally only among `scope`.
 */
export async function pageReconciledInstances(pool: Pool, after: string | undefined, limit: number, scope?: readonly string[]): Promise<ReconciledInstance[]> {
  const r = await pool.query<ReconciledInstance>(
    `SELECT instance_id AS "instanceId", workflow_id AS "workflowId", order_id AS "orderId", order_line_id AS "orderLineId",
       interface_version AS "interfaceVersion", phase, seq, test_order AS "testOrder"
     FROM instances WHERE phase = ANY($1::text[]) AND ($2::text IS NULL OR instance_id > $2)
       AND ($4::text[] IS NULL OR instance_id = ANY($4::text[]))
     ORDER BY instance_id LIMIT $3`,
    [RECONCILED_PHASES, after ?? null, limit, scope ?? null],
  );
  return r.rows;
}

/** Re-reads instances (the grace-period re-check). */
export async function readReconciledInstances(pool: Pool, instanceIds: readonly string[]): Promise<ReconciledInstance[]> {
  if (instanceIds.length === 0) return [];
  const r = await pool.query<ReconciledInstance>(
    `SELECT instance_id AS "instanceId", workflow_id AS "workflowId", order_id AS "orderId", order_line_id AS "orderLineId",
       interface_version AS "interfaceVersion", phase, seq, test_order AS "testOrder"
     FROM instances WHERE instance_id = ANY($1::text[])`,
    [instanceIds],
  );
  return r.rows;
}

/**
 * Upserts findings seen by `runKey`. Returns those that are new: never seen, or seen again after being resolved
 * (a reopened finding starts a new occurrence). A retried page reports the same findings as new again.
 */
export async function upsertFindings(pool: Pool, runKey: string, findings: readonly DriftFinding[]): Promise<DriftFinding[]> {
  const fresh: DriftFinding[] = [];
  for (const f of findings) {
    const r = await pool.query<{ isNew: boolean }>(
      `INSERT INTO reconciliation_findings (instance_id, kind, workflow_id, order_id, details, opened_run, last_seen_run)
       VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (instance_id, kind) DO UPDATE SET
         workflow_id = EXCLUDED.workflow_id,
         order_id = EXCLUDED.order_id,
         details = EXCLUDED.details,
         last_seen_at = now(),
         last_seen_run = EXCLUDED.last_seen_run,
         first_seen_at = CASE WHEN reconciliation_findings.resolved_at IS NULL THEN reconciliation_findings.first_seen_at ELSE now() END,
         opened_run = CASE WHEN reconciliation_findings.resolved_at IS NULL THEN reconciliation_findings.opened_run ELSE EXCLUDED.opened_run END,
         resolved_at = NULL
       RETURNING opened_run = last_seen_run AS "isNew"`,
      [f.instanceId, f.kind, f.workflowId, f.orderId, toJsonb(f.details), runKey],
    );
    if (r.rows[0]?.isNew) fresh.push(f);
  }
  return fresh;
}

/**
 * Keeps the open findings (of `kinds`, default all) of instances this run could not check, so that finishing does
 * not resolve what was not looked at.
 */
export async function keepOpenFindings(pool: Pool, runKey: string, instanceIds: readonly string[], kinds?: readonly DriftKind[]): Promise<void> {
  if (instanceIds.length === 0) return;
  await pool.query(
    `UPDATE reconciliation_findings SET last_seen_at = now(), last_seen_run = $1
     WHERE resolved_at IS NULL AND instance_id = ANY($2::text[]) AND ($3::text[] IS NULL OR kind = ANY($3::text[]))`,
    [runKey, instanceIds, kinds ?? null],
  );
}

/**
 * Ends a run: when it was complete, resolves every open finding not seen since the run started (seen by this run,
 * or by an overlapping one, counts; a run that was never begun resolves nothing; a scoped run only resolves within
 * its scope). Records the totals. Returns the findings resolved now and the open counts.
 */
export async function finishRun(
  pool: Pool,
  o: { runKey: string; complete: boolean; checked: number; unchecked: number; newFindings: number; instanceIds?: readonly string[] },
): Promise<{ resolved: StoredFinding[]; open: Partial<Record<DriftKind, number>>; openTotal: number }> {
  return withTransaction(pool, async (client) => {
    const resolved = o.complete
      ? (
          await client.query<StoredFinding>(
            `UPDATE reconciliation_findings SET resolved_at = now()
             WHERE resolved_at IS NULL AND last_seen_at < (SELECT started_at FROM reconciliation_runs WHERE run_key = $1)
               AND ($2::text[] IS NULL OR instance_id = ANY($2::text[]))
             RETURNING ${FINDING_COLUMNS}`,
            [o.runKey, o.instanceIds ?? null],
          )
        ).rows
      : [];
    const counts = await client.query<{ kind: DriftKind; n: number }>(
      `SELECT kind, count(*)::int AS n FROM reconciliation_findings WHERE resolved_at IS NULL GROUP BY kind`,
    );
    const open: Partial<Record<DriftKind, number>> = {};
    let openTotal = 0;
    for (const row of counts.rows) {
      open[row.kind] = row.n;
      openTotal += row.n;
    }
    await client.query(
      `UPDATE reconciliation_runs SET finished_at = now(), complete = $2, checked = $3, unchecked = $4, new_findings = $5,
         resolved_findings = $6, open_findings = $7 WHERE run_key = $1`,
      [o.runKey, o.complete, o.checked, o.unchecked, o.newFindings, resolved.length, openTotal],
    );
    return { resolved, open, openTotal };
  });
}

/** A page of findings for GET /ops/drift, ordered by (instanceId, kind); `after` is the last (instanceId, kind) seen. */
export async function listFindings(
  pool: Pool,
  q: { status: 'open' | 'resolved' | 'all'; kind?: DriftKind; instanceId?: string; limit: number; after?: { instanceId: string; kind: string } },
): Promise<StoredFinding[]> {
  const r = await pool.query<StoredFinding>(
    `SELECT ${FINDING_COLUMNS} FROM reconciliation_findings
     WHERE ($1::text = 'all' OR ($1::text = 'open') = (resolved_at IS NULL))
       AND ($2::text IS NULL OR kind = $2)
       AND ($3::text IS NULL OR instance_id = $3)
       AND ($4::text IS NULL OR (instance_id, kind) > ($4, $5::text))
     ORDER BY instance_id, kind LIMIT $6`,
    [q.status, q.kind ?? null, q.instanceId ?? null, q.after?.instanceId ?? null, q.after?.kind ?? null, q.limit],
  );
  return r.rows;
}

/** The most recent run, finished or not. */
export async function latestRun(pool: Pool): Promise<StoredRun | undefined> {
  const r = await pool.query<StoredRun>(`SELECT ${RUN_COLUMNS} FROM reconciliation_runs ORDER BY started_at DESC LIMIT 1`);
  return r.rows[0];
}

/** When the most recent finished run finished, or undefined when none has. */
export async function lastFinishedAt(pool: Pool): Promise<Date | undefined> {
  const r = await pool.query<{ at: Date | null }>(`SELECT max(finished_at) AS at FROM reconciliation_runs`);
  return r.rows[0]?.at ?? undefined;
}

/** Open findings by kind (for the gauge). */
export async function openFindingCounts(pool: Pool): Promise<Array<{ kind: string; n: number }>> {
  const r = await pool.query<{ kind: string; n: number }>(`SELECT kind, count(*)::int AS n FROM reconciliation_findings WHERE resolved_at IS NULL GROUP BY kind`);
  return r.rows;
}
