// S1 (issue #15): a monthly statement over 100,000 eligible lines builds and balances in ≤ 60 s.
// Run: TEST_DATABASE_URL=… npx tsx bench/s1-settlement-statement.ts [lines]   (default 100000; a migrated database)
// Loads the lines (not timed), then times buildStatement: claim, split, 300,000+ postings checked by the balance
// trigger, the statement/period balance check, the summary — one transaction — and then the payout of every line.
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { DEFAULT_PLATFORM_FEE_TIERS } from '../src/settlement/catalogue-settings.js';
import type { GoodsType } from '../src/settlement/contract.js';
import { advanceLines, assertBalanced, buildStatement, insertLinesBulk, type LineRecord } from '../src/settlement/store.js';

const n = Number(process.argv[2] ?? 100_000);
const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://koogallery:koogallery@127.0.0.1:5432/koogallery_orders_test';
const pool = new pg.Pool({ connectionString: url, max: 2 });
const scope = `bench-s1-${Date.now().toString(36)}`;
const goods: GoodsType[] = ['JOINT_OPERATION', 'HUAWEI', 'YANXUAN'];
const lines: LineRecord[] = Array.from({ length: n }, (_, i) => {
  const g = goods[i % 3]!;
  return {
    lineKey: `${scope}:${i}`,
    orderWorkflowId: `order-${scope}-${Math.floor(i / 3)}`,
    instanceId: `i-${i}`,
    orderId: `o-${i}`,
    productId: `p-${g}`,
    eventKind: i % 10 === 9 ? 'REFUND' : 'PURCHASE',
    goods: g,
    settlementType: 'REVENUE_SPLIT',
    taxRatePpm: i % 2 === 0 ? 60_000 : 130_000,
    shareRatePpm: 200_000,
    grossMinor: (i % 10 === 9 ? -1 : 1) * (1_000 + ((i * 7919) % 5_000_000)),
    testOrder: false,
    eligibleAt: '2040-01-15T00:00:00.000Z',
    ineligibleReason: null,
    event: {},
  };
});

const t0 = performance.now();
await insertLinesBulk(pool, lines);
const loadMs = performance.now() - t0;
const statementId = `settlement-statement-2040-01-REVENUE_SPLIT-${scope}`;
const t1 = performance.now();
const summary = await buildStatement(pool, { statementId, period: '2040-01', settlementType: 'REVENUE_SPLIT', tiers: DEFAULT_PLATFORM_FEE_TIERS, scope: `${scope}:` });
const buildMs = performance.now() - t1;
const t2 = performance.now();
await advanceLines(pool, statementId, '2040-01', 'PAID');
const payMs = performance.now() - t2;
await assertBalanced(pool, statementId, '2040-01');
await pool.end();
const result = { id: 'S1', lines: summary.lines, groups: summary.groups.length, loadMs: Math.round(loadMs), buildAndBalanceMs: Math.round(buildMs), payoutAndBalanceMs: Math.round(payMs), limitMs: 60_000, pass: buildMs <= 60_000, at: new Date().toISOString() };
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/S1.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
if (summary.lines !== n) throw new Error(`statement holds ${summary.lines} lines, expected ${n}`);
