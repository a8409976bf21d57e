import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GoodsType } from '../../../src/settlement/contract.js';
import { settlementTypeOf } from '../../../src/settlement/contract.js';
import { DEFAULT_PLATFORM_FEE_TIERS } from '../../../src/settlement/catalogue-settings.js';
import { withTransaction } from '../../../src/platform/db/transaction.js';
import { accountBalances, advanceLines, assertBalanced, buildStatement, insertPostings, linesOfInstance, linesOfStatement, upsertLine, writeOffUnbilledLines, type LineRecord } from '../../../src/settlement/store.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// The ledger against the real PostgreSQL: generated orders with refunds, built into statements (concurrently, and
// twice), paid; every statement, period and journal balances, nothing is posted twice, and an unbalanced journal is
// refused by the database itself.

let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: testInfra().databaseUrl, max: 6 });
});
afterAll(async () => {
  await pool.end();
});

const line = (scope: string, i: number, over: Partial<LineRecord> & { goods: GoodsType; grossMinor: number }): LineRecord => ({
  lineKey: `${scope}:${i}`,
  orderWorkflowId: `order-${scope}-${Math.floor(i / 2)}`,
  instanceId: `inst-${scope}-${i}`,
  orderId: `o-${i}`,
  productId: `p-${over.goods}`,
  eventKind: over.grossMinor < 0 ? 'REFUND' : 'PURCHASE',
  settlementType: settlementTypeOf(over.goods),
  taxRatePpm: 60_000,
  shareRatePpm: over.goods === 'GENERAL' ? 0 : 200_000,
  testOrder: false,
  eligibleAt: '2031-01-15T00:00:00.000Z',
  ineligibleReason: null,
  event: {},
  ...over,
});

describe('settlement ledger (real PostgreSQL)', () => {
  it('for generated orders, refunds and concurrent builds, every statement and period balances and nothing posts twice', async () => {
    const order = fc.record({
      goods: fc.constantFrom<GoodsType>('GENERAL', 'JOINT_OPERATION', 'HUAWEI', 'YANXUAN'),
      grossMinor: fc.integer({ min: 1, max: 50_000_000 }),
      refund: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
      testOrder: fc.boolean(),
      eligible: fc.boolean(),
      taxRatePpm: fc.constantFrom(0, 60_000, 90_000, 130_000),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(order, { minLength: 1, maxLength: 25 }), async (orders) => {
        const scope = uniqueId('ledger');
        const period = '2031-01';
        const records: LineRecord[] = [];
        orders.forEach((o, k) => {
          const base = { goods: o.goods, taxRatePpm: o.taxRatePpm, testOrder: o.testOrder, eligibleAt: o.eligible ? '2031-01-15T00:00:00.000Z' : null };
          records.push(line(scope, 2 * k, { ...base, grossMinor: o.grossMinor }));
          // A refund (or downgrade) of part of the order: a negative line netted into the same statement.
          if (o.refund) records.push(line(scope, 2 * k + 1, { ...base, grossMinor: -Math.ceil((o.grossMinor * o.refund) / 100) }));
        });
        await Promise.all(records.map((r) => upsertLine(pool, r)));
        for (const type of ['PLATFORM_FEE', 'REVENUE_SPLIT'] as const) {
          const statementId = `st-${scope}-${type}`;
          const input = { statementId, period, settlementType: type, tiers: DEFAULT_PLATFORM_FEE_TIERS, scope: `${scope}:` };
          // Two workers build the same statement at once (a retried activity): one build, one answer.
          const [a, b] = await Promise.all([buildStatement(pool, input), buildStatement(pool, input)]);
          expect(b).toEqual(a);
          const expected = records.filter((r) => r.settlementType === type && !r.testOrder && r.eligibleAt !== null);
          expect(a.lines).toBe(expected.length);
          expect(a.grossMinor).toBe(expected.reduce((s, r) => s + r.grossMinor, 0));
          expect(a.grossMinor).toBe(a.shareMinor + a.netMinor);
          const count = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM ledger_postings WHERE statement_id = $1', [statementId]);
          // Paying twice at once posts each payout journal once.
          await Promise.all([advanceLines(pool, statementId, period, 'PAID'), advanceLines(pool, statementId, period, 'PAID')]);
          const lines = await linesOfStatement(pool, statementId);
          expect(lines.every((l) => l.state === 'PAID')).toBe(true);
          const payouts = lines.filter((l) => l.netMinor !== 0).length;
          const after = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM ledger_postings WHERE statement_id = $1', [statementId]);
          expect(Number(after.rows[0]!.n)).toBe(Number(count.rows[0]!.n) + 2 * payouts);
          await assertBalanced(pool, statementId, period);
        }
        const balances = await accountBalances(pool, period);
        expect(Object.values(balances).reduce((s, v) => s + v, 0)).toBe(0);
      }),
      { numRuns: 10 },
    );
  });

  it('when a journal does not sum to zero, then the database refuses it and nothing is written', async () => {
    const key = uniqueId('bad');
    await expect(
      withTransaction(pool, (c) =>
        insertPostings(c, 'st-bad', [
          { lineKey: key, period: '2031-02', kind: 'SALE', account: 'MARKETPLACE_RECEIVABLE', amountMinor: 100 },
          { lineKey: key, period: '2031-02', kind: 'SALE', account: 'REVENUE', amountMinor: -99 },
        ]),
      ),
    ).rejects.toThrow(/unbalanced journal/);
    const n = await pool.query('SELECT 1 FROM ledger_postings WHERE line_key = $1', [key]);
    expect(n.rowCount).toBe(0);
  });

  it('when a posting is changed or removed, then the database refuses it', async () => {
    const key = uniqueId('imm');
    await withTransaction(pool, (c) =>
      insertPostings(c, 'st-imm', [
        { lineKey: key, period: '2031-03', kind: 'SALE', account: 'MARKETPLACE_RECEIVABLE', amountMinor: 100 },
        { lineKey: key, period: '2031-03', kind: 'SALE', account: 'REVENUE', amountMinor: -100 },
      ]),
    );
    await expect(pool.query('UPDATE ledger_postings SET amount_minor = 0 WHERE line_key = $1', [key])).rejects.toThrow(/immutable/);
    await expect(pool.query('DELETE FROM ledger_postings WHERE line_key = $1', [key])).rejects.toThrow(/immutable/);
  });

  it('when a line is already in a statement, then re-recording it changes nothing', async () => {
    const scope = uniqueId('frozen');
    const r = line(scope, 0, { goods: 'HUAWEI', grossMinor: 10_000, eligibleAt: '2031-04-02T00:00:00.000Z' });
    await upsertLine(pool, r);
    await buildStatement(pool, { statementId: `st-${scope}`, period: '2031-04', settlementType: 'REVENUE_SPLIT', tiers: DEFAULT_PLATFORM_FEE_TIERS, scope: `${scope}:` });
    expect(await upsertLine(pool, { ...r, eligibleAt: null, ineligibleReason: 'x' })).toBe('IN_STATEMENT');
  });

  it('when an order writes off its unbilled lines, then only lines outside a statement move, a retry answers the same, nothing is posted, and re-recording does not revive them', async () => {
    const scope = uniqueId('unbilled');
    const supervised = line(scope, 0, { goods: 'GENERAL', grossMinor: 360_000, eligibleAt: null, ineligibleReason: 'supervision not completed' });
    const billed = line(scope, 1, { goods: 'GENERAL', grossMinor: 10_000, eligibleAt: '2031-05-02T00:00:00.000Z' });
    await upsertLine(pool, supervised);
    await upsertLine(pool, billed);
    await buildStatement(pool, { statementId: `st-${scope}`, period: '2031-05', settlementType: 'PLATFORM_FEE', tiers: DEFAULT_PLATFORM_FEE_TIERS, scope: `${scope}:` });
    const keys = [supervised.lineKey, billed.lineKey, `${scope}:absent`];
    const reason = 'supervision closed RELEASED without acceptance';

    expect(await writeOffUnbilledLines(pool, { lineKeys: keys, reason })).toEqual([supervised.lineKey]);
    // A retried activity (its first result lost) answers the same.
    expect(await writeOffUnbilledLines(pool, { lineKeys: keys, reason })).toEqual([supervised.lineKey]);
    expect(await linesOfInstance(pool, supervised.instanceId)).toEqual([{ lineKey: supervised.lineKey, state: 'WRITTEN_OFF', statementId: null, reason }]);
    expect((await linesOfInstance(pool, billed.instanceId))[0]).toMatchObject({ state: 'IN_STATEMENT', statementId: `st-${scope}` });
    // A late or repeated record of the event leaves it written off.
    expect(await upsertLine(pool, { ...supervised, eligibleAt: '2031-05-20T00:00:00.000Z', ineligibleReason: null })).toBe('WRITTEN_OFF');
    const posted = await pool.query('SELECT 1 FROM ledger_postings WHERE line_key = $1', [supervised.lineKey]);
    expect(posted.rowCount).toBe(0);
  });

  it('when two attempts of the write-off overlap (a retry while the first still runs), then both answer the line', async () => {
    const scope = uniqueId('overlap');
    const records = Array.from({ length: 20 }, (_, i) => line(scope, i, { goods: 'GENERAL', grossMinor: 1_000, eligibleAt: null, ineligibleReason: 'supervision not completed' }));
    await Promise.all(records.map((r) => upsertLine(pool, r)));
    const answers = await Promise.all(records.flatMap((r) => [0, 1].map(() => writeOffUnbilledLines(pool, { lineKeys: [r.lineKey], reason: 'overlap' }))));
    expect(answers).toEqual(records.flatMap((r) => [[r.lineKey], [r.lineKey]]));
  });

  it('when an eligible line is written off before its statement, then the statement does not bill it', async () => {
    const scope = uniqueId('eligible-off');
    const r = line(scope, 0, { goods: 'GENERAL', grossMinor: 20_000, eligibleAt: '2031-07-02T00:00:00.000Z' });
    expect(await upsertLine(pool, r)).toBe('ELIGIBLE');
    expect(await writeOffUnbilledLines(pool, { lineKeys: [r.lineKey], reason: 'supervision closed APPEAL_CLOSED without acceptance' })).toEqual([r.lineKey]);
    const summary = await buildStatement(pool, { statementId: `st-${scope}`, period: '2031-07', settlementType: 'PLATFORM_FEE', tiers: DEFAULT_PLATFORM_FEE_TIERS, scope: `${scope}:` });
    expect(summary.lines).toBe(0);
    expect(await linesOfInstance(pool, r.instanceId)).toEqual([{ lineKey: r.lineKey, state: 'WRITTEN_OFF', statementId: null, reason: 'supervision closed APPEAL_CLOSED without acceptance' }]);
  });
});
