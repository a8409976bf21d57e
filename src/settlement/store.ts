import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../platform/db/transaction.js';
import type {
  GoodsType,
  InvoiceTemplate,
  LineState,
  Minor,
  PlatformFeeTier,
  SettlementType,
  StatementGroup,
  StatementState,
  StatementSummary,
} from './contract.js';
import { payoutJournal, periodEnd, platformFeeRate, splitLine, statementJournals, type Posting } from './split.js';

// All SQL of the settlement context (migrations/010_settlement.sql). Every write is idempotent (line keys,
// journal keys, statement ids) and every write that posts to the ledger checks, in its own transaction, that the
// statement and the period it touched balance to zero before it commits.

/** A line as the order's activity records it. */
export interface LineRecord {
  readonly lineKey: string;
  readonly orderWorkflowId: string;
  readonly instanceId: string;
  readonly orderId: string;
  readonly productId: string;
  readonly eventKind: string;
  readonly goods: GoodsType;
  readonly settlementType: SettlementType;
  readonly taxRatePpm: number;
  readonly shareRatePpm: number;
  readonly grossMinor: Minor;
  readonly testOrder: boolean;
  readonly eligibleAt: string | null;
  readonly ineligibleReason: string | null;
  readonly event: unknown;
}

/** Thrown when the ledger does not balance; the transaction is rolled back. */
export class LedgerImbalanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerImbalanceError';
  }
}

/**
 * Records a line, or brings a line not yet in a statement up to date (eligibility changes: paid, supervision
 * completed). A line already in a statement keeps what it was billed as, a written-off line stays written off.
 * Returns its state.
 */
export async function upsertLine(pool: Pool, l: LineRecord): Promise<LineState> {
  const state: LineState = l.eligibleAt ? 'ELIGIBLE' : 'PENDING';
  const r = await pool.query<{ state: LineState }>(
    `INSERT INTO settlement_lines (line_key, order_workflow_id, instance_id, order_id, product_id, event_kind, goods,
       settlement_type, tax_rate_ppm, share_rate_ppm, gross_minor, test_order, eligible_at, ineligible_reason, state, event)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)
     ON CONFLICT (line_key) DO UPDATE SET eligible_at = EXCLUDED.eligible_at, ineligible_reason = EXCLUDED.ineligible_reason,
       state = EXCLUDED.state, event = EXCLUDED.event, updated_at = now()
     WHERE settlement_lines.statement_id IS NULL AND settlement_lines.state <> 'WRITTEN_OFF'
     RETURNING state`,
    [l.lineKey, l.orderWorkflowId, l.instanceId, l.orderId, l.productId, l.eventKind, l.goods, l.settlementType, l.taxRatePpm, l.shareRatePpm, l.grossMinor, l.testOrder, l.eligibleAt, l.ineligibleReason, state, JSON.stringify(l.event)],
  );
  if (r.rows[0]) return r.rows[0].state;
  const existing = await pool.query<{ state: LineState }>('SELECT state FROM settlement_lines WHERE line_key = $1', [l.lineKey]);
  return existing.rows[0]!.state;
}

const CHUNK = 10_000;

/** Inserts postings (idempotent by journal key) in chunks; the trigger checks each journal balances. */
export async function insertPostings(client: PoolClient, statementId: string, postings: readonly Posting[]): Promise<void> {
  for (let i = 0; i < postings.length; i += CHUNK) {
    const part = postings.slice(i, i + CHUNK);
    await client.query(
      `INSERT INTO ledger_postings (line_key, period, kind, account, amount_minor, statement_id)
       SELECT l, p, k, a, m, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(l, p, k, a, m)
       ON CONFLICT (line_key, period, kind, account) DO NOTHING`,
      [part.map((x) => x.lineKey), part.map((x) => x.period), part.map((x) => x.kind), part.map((x) => x.account), part.map((x) => x.amountMinor), statementId],
    );
  }
}

/** Fails (rolling the transaction back) unless the statement and the period sum to zero. */
export async function assertBalanced(client: PoolClient | Pool, statementId: string, period: string): Promise<void> {
  const r = await client.query<{ statement: string; period: string }>(
    `SELECT (SELECT coalesce(sum(amount_minor), 0) FROM ledger_postings WHERE statement_id = $1)::text AS statement,
            (SELECT coalesce(sum(amount_minor), 0) FROM ledger_postings WHERE period = $2)::text AS period`,
    [statementId, period],
  );
  const row = r.rows[0]!;
  if (row.statement !== '0' || row.period !== '0') {
    throw new LedgerImbalanceError(`ledger does not balance: statement ${statementId} sums to ${row.statement}, period ${period} to ${row.period}`);
  }
}

interface ClaimedLine {
  line_key: string;
  product_id: string;
  goods: GoodsType;
  tax_rate_ppm: number;
  share_rate_ppm: number;
  gross_minor: string;
}

/**
 * Builds a statement once: claims every eligible, unbilled, non-test line of its type that became eligible before
 * the period's end, splits each (general goods: the platform-fee tier of the product's monthly GMV, negatives
 * netted), posts the journals and checks the balance, all in one transaction. A second call returns the summary
 * built by the first.
 */
export async function buildStatement(
  pool: Pool,
  s: { statementId: string; period: string; settlementType: SettlementType; tiers: readonly PlatformFeeTier[]; scope?: string },
): Promise<StatementSummary> {
  return withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO settlement_statements (statement_id, period, settlement_type, step, scope) VALUES ($1, $2, $3, 'BILL_GENERATED', $4)
       ON CONFLICT DO NOTHING`,
      [s.statementId, s.period, s.settlementType, s.scope ?? ''],
    );
    const existing = await client.query<{ summary: StatementSummary | null }>('SELECT summary FROM settlement_statements WHERE statement_id = $1 FOR UPDATE', [s.statementId]);
    if (!existing.rows[0]) throw new Error(`statement ${s.statementId}: period ${s.period} ${s.settlementType} is already billed under another statement id`);
    if (existing.rows[0].summary) return existing.rows[0].summary;

    const claimed = await client.query<ClaimedLine>(
      `UPDATE settlement_lines SET statement_id = $1, state = 'IN_STATEMENT', updated_at = now()
        WHERE settlement_type = $2 AND statement_id IS NULL AND state = 'ELIGIBLE' AND eligible_at IS NOT NULL AND NOT test_order AND eligible_at < $3
          AND starts_with(line_key, $4)
       RETURNING line_key, product_id, goods, tax_rate_ppm, share_rate_ppm, gross_minor`,
      [s.statementId, s.settlementType, periodEnd(s.period), s.scope ?? ''],
    );
    const lines = claimed.rows.sort((a, b) => (a.line_key < b.line_key ? -1 : 1));
    const feeRateOf = new Map<string, number>();
    if (s.settlementType === 'PLATFORM_FEE') {
      const gmv = new Map<string, number>();
      for (const l of lines) gmv.set(l.product_id, (gmv.get(l.product_id) ?? 0) + Number(l.gross_minor));
      for (const [productId, total] of gmv) feeRateOf.set(productId, platformFeeRate(s.tiers, Math.max(0, total)));
    }
    const shareKind = s.settlementType === 'PLATFORM_FEE' ? 'PLATFORM_FEE' : 'MARKETPLACE_SHARE';
    const groups = new Map<string, { goods: GoodsType; taxRatePpm: number; lines: number; grossMinor: number; shareMinor: number; netMinor: number; taxMinor: number }>();
    const postings: Posting[] = [];
    const updates = { key: [] as string[], rate: [] as number[], share: [] as number[], net: [] as number[], tax: [] as number[] };
    for (const l of lines) {
      const rate = s.settlementType === 'PLATFORM_FEE' ? feeRateOf.get(l.product_id)! : l.share_rate_ppm;
      const split = splitLine(Number(l.gross_minor), rate, l.tax_rate_ppm);
      postings.push(...statementJournals(l.line_key, s.period, split, shareKind));
      updates.key.push(l.line_key);
      updates.rate.push(rate);
      updates.share.push(split.shareMinor);
      updates.net.push(split.netMinor);
      updates.tax.push(split.taxMinor);
      const gk = `${l.goods}/${l.tax_rate_ppm}`;
      const g = groups.get(gk) ?? { goods: l.goods, taxRatePpm: l.tax_rate_ppm, lines: 0, grossMinor: 0, shareMinor: 0, netMinor: 0, taxMinor: 0 };
      groups.set(gk, { ...g, lines: g.lines + 1, grossMinor: g.grossMinor + split.grossMinor, shareMinor: g.shareMinor + split.shareMinor, netMinor: g.netMinor + split.netMinor, taxMinor: g.taxMinor + split.taxMinor });
    }
    for (let i = 0; i < updates.key.length; i += CHUNK) {
      await client.query(
        `UPDATE settlement_lines AS l SET share_rate_ppm = u.r, share_minor = u.s, net_minor = u.n, tax_minor = u.t
           FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(k, r, s, n, t) WHERE l.line_key = u.k`,
        [updates.key.slice(i, i + CHUNK), updates.rate.slice(i, i + CHUNK), updates.share.slice(i, i + CHUNK), updates.net.slice(i, i + CHUNK), updates.tax.slice(i, i + CHUNK)],
      );
    }
    await insertPostings(client, s.statementId, postings);
    await assertBalanced(client, s.statementId, s.period);
    const groupList: StatementGroup[] = [...groups.values()].sort((a, b) => (a.goods === b.goods ? a.taxRatePpm - b.taxRatePpm : a.goods < b.goods ? -1 : 1));
    const total = (f: 'grossMinor' | 'shareMinor' | 'netMinor' | 'taxMinor') => groupList.reduce((a, g) => a + g[f], 0);
    const summary: StatementSummary = {
      statementId: s.statementId,
      period: s.period,
      settlementType: s.settlementType,
      groups: groupList,
      lines: lines.length,
      grossMinor: total('grossMinor'),
      shareMinor: total('shareMinor'),
      netMinor: total('netMinor'),
      taxMinor: total('taxMinor'),
    };
    await client.query('UPDATE settlement_statements SET summary = $2, updated_at = now() WHERE statement_id = $1', [s.statementId, JSON.stringify(summary)]);
    return summary;
  });
}

/** Writes the statement's state and its issued invoices (the invoice number is unique across payment requests). */
export async function saveStatementState(pool: Pool, st: StatementState): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(
      `UPDATE settlement_statements SET step = $2, state = $3, marketplace_bill_minor = $4, difference_minor = $5,
         payment_request_no = $6, updated_at = now() WHERE statement_id = $1`,
      [st.statementId, st.step, JSON.stringify(st), st.marketplaceBillMinor ?? null, st.differenceMinor ?? null, st.paymentRequestNo ?? null],
    );
    for (const inv of st.invoices) {
      if (inv.invoiceNo === undefined || st.paymentRequestNo === undefined) continue;
      await client.query(
        `INSERT INTO settlement_invoices (invoice_no, statement_id, payment_request_no, tax_rate_ppm, amount_minor, remark, mailed_to, issued_at, signed_for_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
         ON CONFLICT (invoice_no) DO UPDATE SET signed_for_at = EXCLUDED.signed_for_at
         WHERE settlement_invoices.statement_id = EXCLUDED.statement_id`,
        [inv.invoiceNo, st.statementId, st.paymentRequestNo, inv.taxRatePpm, inv.amountMinor, inv.remark, inv.mailedTo ?? '', inv.issuedAt, inv.signedForAt ?? null],
      );
    }
  });
}

/** The statement an invoice number is recorded on, if any. */
export async function statementOfInvoice(pool: Pool, invoiceNo: string): Promise<string | undefined> {
  const r = await pool.query<{ statement_id: string }>('SELECT statement_id FROM settlement_invoices WHERE invoice_no = $1', [invoiceNo]);
  return r.rows[0]?.statement_id;
}

/** Moves a statement's lines to a state; PAID also posts each line's payout journal (idempotent), balanced. */
export async function advanceLines(pool: Pool, statementId: string, period: string, state: LineState): Promise<number> {
  return withTransaction(pool, async (client) => {
    const r = await client.query<{ line_key: string; net_minor: string }>(
      `UPDATE settlement_lines SET state = $2, updated_at = now() WHERE statement_id = $1 AND state NOT IN ('PAID', 'WRITTEN_OFF')
       RETURNING line_key, net_minor`,
      [statementId, state],
    );
    if (state === 'PAID') {
      // Written-off lines are not paid: their sale is reversed (writeOffLines), not paid out.
      const all = await client.query<{ line_key: string; net_minor: string }>("SELECT line_key, net_minor FROM settlement_lines WHERE statement_id = $1 AND state <> 'WRITTEN_OFF'", [statementId]);
      await insertPostings(client, statementId, all.rows.flatMap((l) => payoutJournal(l.line_key, period, Number(l.net_minor))));
      await assertBalanced(client, statementId, period);
    }
    return r.rowCount ?? 0;
  });
}

/** The outcome of a write-off: the lines now written off (by this call or a retried earlier one), per order. */
export interface WrittenOff {
  readonly lines: readonly { readonly lineKey: string; readonly orderWorkflowId: string; readonly netMinor: Minor }[];
  /** Lines of the statement still to be paid. */
  readonly remaining: number;
}

/**
 * Writes off a statement's unpaid lines (`lineKeys`, or every unpaid line): marks them WRITTEN_OFF with the reason
 * and posts, per line, a WRITE_OFF journal reversing what its statement journals posted, so the line nets to zero in
 * every account and the statement and period still balance (checked before commit). Idempotent: a retry finds the
 * lines written off and the journals posted (ON CONFLICT DO NOTHING), and answers the same lines.
 */
export async function writeOffLines(pool: Pool, w: { statementId: string; period: string; lineKeys?: readonly string[]; reason: string; actor: string }): Promise<WrittenOff> {
  return withTransaction(pool, async (client) => {
    const keys = w.lineKeys ? [...w.lineKeys] : null;
    await client.query(
      `UPDATE settlement_lines SET state = 'WRITTEN_OFF', ineligible_reason = $3, updated_at = now()
        WHERE statement_id = $1 AND state NOT IN ('PAID', 'WRITTEN_OFF') AND ($2::text[] IS NULL OR line_key = ANY($2))`,
      [w.statementId, keys, `written off by ${w.actor}: ${w.reason}`],
    );
    const off = await client.query<{ line_key: string; order_workflow_id: string; net_minor: string | null }>(
      `SELECT line_key, order_workflow_id, net_minor FROM settlement_lines
        WHERE statement_id = $1 AND state = 'WRITTEN_OFF' AND ($2::text[] IS NULL OR line_key = ANY($2)) ORDER BY line_key`,
      [w.statementId, keys],
    );
    const offKeys = off.rows.map((r) => r.line_key);
    // Each reversal is the negated per-account sum of the line's journals on this statement: it sums to zero, as
    // they do, so the journal balance trigger accepts it.
    await client.query(
      `INSERT INTO ledger_postings (line_key, period, kind, account, amount_minor, statement_id)
       SELECT line_key, $2, 'WRITE_OFF', account, -sum(amount_minor), $1 FROM ledger_postings
        WHERE statement_id = $1 AND period = $2 AND line_key = ANY($3) AND kind <> 'WRITE_OFF'
        GROUP BY line_key, account HAVING sum(amount_minor) <> 0
       ON CONFLICT (line_key, period, kind, account) DO NOTHING`,
      [w.statementId, w.period, offKeys],
    );
    await assertBalanced(client, w.statementId, w.period);
    const left = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM settlement_lines WHERE statement_id = $1 AND state NOT IN ('PAID', 'WRITTEN_OFF')`, [w.statementId]);
    return { lines: off.rows.map((r) => ({ lineKey: r.line_key, orderWorkflowId: r.order_workflow_id, netMinor: Number(r.net_minor ?? 0) })), remaining: Number(left.rows[0]!.n) };
  });
}

/** The order workflows with lines on a statement, and their line keys, a page at a time (ordered by workflow id). */
export async function ordersOfStatement(pool: Pool, statementId: string, after: string, limit: number): Promise<{ orderWorkflowId: string; lineKeys: string[] }[]> {
  const r = await pool.query<{ order_workflow_id: string; keys: string[] }>(
    `SELECT order_workflow_id, array_agg(line_key ORDER BY line_key) AS keys FROM settlement_lines
      WHERE statement_id = $1 AND order_workflow_id > $2 GROUP BY order_workflow_id ORDER BY order_workflow_id LIMIT $3`,
    [statementId, after, limit],
  );
  return r.rows.map((x) => ({ orderWorkflowId: x.order_workflow_id, lineKeys: x.keys }));
}

/** Records the platform-fee invoice request of a general-goods statement (idempotent). */
export async function insertPlatformFeeInvoiceRequest(pool: Pool, statementId: string, feeMinor: Minor, template: InvoiceTemplate): Promise<void> {
  await pool.query(
    `INSERT INTO platform_fee_invoice_requests (statement_id, fee_minor, template) VALUES ($1, $2, $3) ON CONFLICT (statement_id) DO NOTHING`,
    [statementId, feeMinor, JSON.stringify(template)],
  );
}

/** One statement row for the ops API. */
export interface StatementRow {
  statementId: string;
  period: string;
  settlementType: SettlementType;
  step: string;
  summary: StatementSummary | null;
  state: StatementState | null;
  marketplaceBillMinor: number | null;
  differenceMinor: number | null;
  paymentRequestNo: string | null;
  updatedAt: Date;
}

const STATEMENT_COLUMNS = `statement_id AS "statementId", period, settlement_type AS "settlementType", step, summary, state,
  marketplace_bill_minor::float8 AS "marketplaceBillMinor", difference_minor::float8 AS "differenceMinor",
  payment_request_no AS "paymentRequestNo", updated_at AS "updatedAt"`;

/** Sort key of the statement list: period (newest first), then settlement type and statement id. */
export interface StatementListKey {
  readonly period: string;
  readonly settlementType: string;
  readonly statementId: string;
}

/**
 * Statements, newest period first, one page after `after` (keyset); `flagged`: only those whose marketplace bill
 * differs from ours. Type and id compare byte-wise (COLLATE "C"): the order is the same whatever the database's locale.
 */
export async function listStatements(pool: Pool, o: { flagged?: boolean; period?: string; after?: StatementListKey; limit: number }): Promise<StatementRow[]> {
  const r = await pool.query<StatementRow>(
    `SELECT ${STATEMENT_COLUMNS} FROM settlement_statements
      WHERE ($1::boolean IS NOT TRUE OR coalesce(difference_minor, 0) <> 0) AND ($2::text IS NULL OR period = $2)
        AND ($3::text IS NULL OR period < $3 OR (period = $3 AND (settlement_type COLLATE "C", statement_id COLLATE "C") > ($4, $5)))
      ORDER BY period DESC, settlement_type COLLATE "C", statement_id COLLATE "C" LIMIT $6`,
    [o.flagged ?? null, o.period ?? null, o.after?.period ?? null, o.after?.settlementType ?? null, o.after?.statementId ?? null, o.limit],
  );
  return r.rows;
}

/** One statement. */
export async function findStatement(pool: Pool, statementId: string): Promise<StatementRow | undefined> {
  const r = await pool.query<StatementRow>(`SELECT ${STATEMENT_COLUMNS} FROM settlement_statements WHERE statement_id = $1`, [statementId]);
  return r.rows[0];
}

/** Balances per account for a period (ops view and tests): the accounts sum to zero. */
export async function accountBalances(pool: Pool, period: string): Promise<Record<string, number>> {
  const r = await pool.query<{ account: string; total: string }>('SELECT account, sum(amount_minor)::text AS total FROM ledger_postings WHERE period = $1 GROUP BY account', [period]);
  return Object.fromEntries(r.rows.map((x) => [x.account, Number(x.total)]));
}

/**
 * Writes off an order's lines that never reached a statement (a supervision closed without acceptance: the sale
 * will never be settled). Such a line has no journal yet, so there is nothing to reverse. A line already in a
 * statement is left to it (ops write it off there). Idempotent: answers every given line now WRITTEN_OFF
 * outside a statement, by this call or an earlier attempt.
 */
export async function writeOffUnbilledLines(pool: Pool, w: { lineKeys: readonly string[]; reason: string }): Promise<string[]> {
  await pool.query(
    `UPDATE settlement_lines SET state = 'WRITTEN_OFF', ineligible_reason = $2, updated_at = now()
      WHERE line_key = ANY($1) AND statement_id IS NULL AND state IN ('PENDING', 'ELIGIBLE')`,
    [w.lineKeys, w.reason],
  );
  // A statement of its own (a fresh snapshot): an overlapping attempt whose UPDATE found the rows already written
  // off by this one's twin sees them here, committed, and answers them too.
  const r = await pool.query<{ line_key: string }>(
    `SELECT line_key FROM settlement_lines WHERE line_key = ANY($1) AND statement_id IS NULL AND state = 'WRITTEN_OFF' ORDER BY line_key`,
    [w.lineKeys],
  );
  return r.rows.map((x) => x.line_key);
}

/** Where the given lines stand (absent keys are not in the answer). */
export async function linesByKey(pool: Pool, lineKeys: readonly string[]): Promise<{ lineKey: string; state: LineState; statementId: string | null; orderWorkflowId: string }[]> {
  const r = await pool.query<{ lineKey: string; state: LineState; statementId: string | null; orderWorkflowId: string }>(
    `SELECT line_key AS "lineKey", state, statement_id AS "statementId", order_workflow_id AS "orderWorkflowId" FROM settlement_lines WHERE line_key = ANY($1) ORDER BY line_key`,
    [lineKeys],
  );
  return r.rows;
}

/** Statements by step (every statement the table holds), for the gauges. */
export async function statementCountsByStep(pool: Pool): Promise<Map<string, number>> {
  const r = await pool.query<{ step: string; n: string }>('SELECT step, count(*)::text AS n FROM settlement_statements GROUP BY step');
  return new Map(r.rows.map((x) => [x.step, Number(x.n)]));
}

/** Statements not yet ended (PAID, WRITTEN_OFF) whose marketplace bill differs from ours, for the gauges. */
export async function countFlaggedOpenStatements(pool: Pool): Promise<number> {
  const r = await pool.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM settlement_statements WHERE difference_minor IS NOT NULL AND difference_minor <> 0 AND step NOT IN ('PAID', 'WRITTEN_OFF')`,
  );
  return Number(r.rows[0]!.n);
}

/** Lines waiting outside any statement for a §10 condition (test orders aside): how many, and since when the oldest. */
export async function pendingLineStats(pool: Pool): Promise<{ count: number; oldestCreatedAt: Date | null }> {
  const r = await pool.query<{ n: string; oldest: Date | null }>(
    `SELECT count(*)::text AS n, min(created_at) AS oldest FROM settlement_lines WHERE state = 'PENDING' AND statement_id IS NULL AND NOT test_order`,
  );
  return { count: Number(r.rows[0]!.n), oldestCreatedAt: r.rows[0]!.oldest };
}

/** The lines of a statement (tests and the ops API). */
export async function linesOfStatement(pool: Pool, statementId: string): Promise<{ lineKey: string; state: LineState; netMinor: number }[]> {
  const r = await pool.query<{ lineKey: string; state: LineState; netMinor: number }>(
    `SELECT line_key AS "lineKey", state, net_minor::float8 AS "netMinor" FROM settlement_lines WHERE statement_id = $1 ORDER BY line_key`,
    [statementId],
  );
  return r.rows;
}

/** An instance's lines, whatever their state (tests and the history recorder: no index on instance_id, not for hot paths). */
export async function linesOfInstance(pool: Pool, instanceId: string): Promise<{ lineKey: string; state: LineState; statementId: string | null; reason: string | null }[]> {
  const r = await pool.query<{ lineKey: string; state: LineState; statementId: string | null; reason: string | null }>(
    `SELECT line_key AS "lineKey", state, statement_id AS "statementId", ineligible_reason AS reason FROM settlement_lines WHERE instance_id = $1 ORDER BY line_key`,
    [instanceId],
  );
  return r.rows;
}

/** Inserts many lines at once (benchmarks, data loads); existing keys are left as they are. */
export async function insertLinesBulk(pool: Pool, lines: readonly LineRecord[]): Promise<void> {
  for (let i = 0; i < lines.length; i += CHUNK) {
    const part = lines.slice(i, i + CHUNK);
    const col = <T>(f: (l: LineRecord) => T): T[] => part.map(f);
    await pool.query(
      `INSERT INTO settlement_lines (line_key, order_workflow_id, instance_id, order_id, product_id, event_kind, goods,
         settlement_type, tax_rate_ppm, share_rate_ppm, gross_minor, test_order, eligible_at, ineligible_reason, state, event)
       SELECT k, w, i, o, p, e, g, t, tr, sr, gm, tst, ea, NULL, CASE WHEN ea IS NULL THEN 'PENDING' ELSE 'ELIGIBLE' END, '{}'::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::int[], $11::bigint[], $12::boolean[], $13::timestamptz[])
           AS u(k, w, i, o, p, e, g, t, tr, sr, gm, tst, ea)
       ON CONFLICT (line_key) DO NOTHING`,
      [
        col((l) => l.lineKey),
        col((l) => l.orderWorkflowId),
        col((l) => l.instanceId),
        col((l) => l.orderId),
        col((l) => l.productId),
        col((l) => l.eventKind),
        col((l) => l.goods),
        col((l) => l.settlementType),
        col((l) => l.taxRatePpm),
        col((l) => l.shareRatePpm),
        col((l) => l.grossMinor),
        col((l) => l.testOrder),
        col((l) => l.eligibleAt),
      ],
    );
  }
}
