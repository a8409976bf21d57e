import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settlementTypeOf } from '../../../src/settlement/contract.js';
import { DEFAULT_PLATFORM_FEE_TIERS } from '../../../src/settlement/catalogue-settings.js';
import { buildStatement, linesOfInstance, upsertLine, type LineRecord } from '../../../src/settlement/store.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

// Migration 012 moves the purchase lines that supervisions closed without acceptance left PENDING before the order
// wrote them off in the store itself. Applied once by the migrator; run here again on rows made for it (it is
// written to match nothing twice), against the real schema.

const MIGRATION = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'migrations', '012_write_off_unaccepted_supervised_lines.sql'), 'utf8');

let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: testInfra().databaseUrl, max: 2 });
});
afterAll(async () => {
  await pool.end();
});

/** An order with a supervised purchase line (PENDING unless eligible) and a supervision ended with `outcome`. */
async function supervisedOrder(scope: string, name: string, outcome: string | null, eligibleAt: string | null = null): Promise<LineRecord> {
  const orderWorkflowId = `order-${scope}-${name}`;
  const line: LineRecord = {
    lineKey: `${scope}-${name}:o-${name}:PURCHASE`,
    orderWorkflowId,
    instanceId: `inst-${scope}-${name}`,
    orderId: `o-${name}`,
    productId: 'p-gen',
    eventKind: 'PURCHASE',
    goods: 'GENERAL',
    settlementType: settlementTypeOf('GENERAL'),
    taxRatePpm: 60_000,
    shareRatePpm: 0,
    grossMinor: 360_000,
    testOrder: false,
    eligibleAt,
    ineligibleReason: eligibleAt ? null : 'supervision not completed',
    event: {},
  };
  await upsertLine(pool, line);
  await pool.query(
    `INSERT INTO supervisions (workflow_id, order_workflow_id, instance_id, order_id, kind, node, status, started_at, outcome, state, seq)
     VALUES ($1, $2, $3, $4, 'GENERAL', $5, $6, now(), $7, '{}'::jsonb, 1)`,
    [`supervision-${orderWorkflowId}`, orderWorkflowId, line.instanceId, line.orderId, outcome ? 'CLOSED' : 'IMPLEMENTATION', outcome === null ? 'PROCESSING' : outcome === 'ACCEPTED' ? 'COMPLETED' : 'CLOSED', outcome],
  );
  return line;
}

const stateOf = async (l: LineRecord) => (await linesOfInstance(pool, l.instanceId)).map((x) => ({ state: x.state, reason: x.reason }));

describe('migration 012: purchase lines of supervisions closed without acceptance', () => {
  it('when it runs, then those lines are written off with the reason, and lines of open or accepted supervisions, or in a statement, are not', async () => {
    const scope = uniqueId('m012');
    const released = await supervisedOrder(scope, 'released', 'RELEASED');
    const appealClosed = await supervisedOrder(scope, 'appeal', 'APPEAL_CLOSED');
    const open = await supervisedOrder(scope, 'open', null);
    const accepted = await supervisedOrder(scope, 'accepted', 'ACCEPTED', '2031-06-02T00:00:00.000Z');
    // Billed before its supervision was (oddly) closed: the statement owns it.
    const billed = await supervisedOrder(scope, 'billed', 'APPEAL_CLOSED', '2031-06-03T00:00:00.000Z');
    await buildStatement(pool, { statementId: `st-${scope}`, period: '2031-06', settlementType: 'PLATFORM_FEE', tiers: DEFAULT_PLATFORM_FEE_TIERS, scope: `${scope}-billed:` });

    await pool.query(MIGRATION);
    expect(await stateOf(released)).toEqual([{ state: 'WRITTEN_OFF', reason: 'supervision closed RELEASED without acceptance' }]);
    expect(await stateOf(appealClosed)).toEqual([{ state: 'WRITTEN_OFF', reason: 'supervision closed APPEAL_CLOSED without acceptance' }]);
    expect(await stateOf(open)).toEqual([{ state: 'PENDING', reason: 'supervision not completed' }]);
    expect(await stateOf(accepted)).toEqual([{ state: 'ELIGIBLE', reason: null }]);
    expect((await stateOf(billed))[0]?.state).toBe('IN_STATEMENT');

    // Again (the test database is shared: only this test's rows are looked at): nothing of them moves.
    const updatedAt = async () => (await pool.query<{ at: Date }>('SELECT max(updated_at) AS at FROM settlement_lines WHERE starts_with(line_key, $1)', [scope])).rows[0]!.at;
    const before = await updatedAt();
    await pool.query(MIGRATION);
    expect(await updatedAt()).toEqual(before);
  });
});
