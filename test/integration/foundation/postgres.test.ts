import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, pendingMigrations } from '../../../src/platform/db/migrate.js';
import { findInstance, findInstanceAccess, findInstanceVersions, recordTransition, replaceSealedInstanceCredentials } from '../../../src/orders/store.js';
import { createNonceStore } from '../../../src/production-interface/nonce-store.js';
import { testInfra, uniqueId } from '../../setup/infra.js';

/** The fields every transition of one V2 instance carries, with the given spec. */
const aTransitionBase = (instanceId: string, spec: Record<string, string | number>) => ({
  workflowId: `wf-${instanceId}`,
  instanceId,
  interfaceVersion: 'V2' as const,
  key: { kind: 'v2-line' as const, orderId: 'CSORDER', orderLineId: 'CSORDER-000001' },
  testOrder: false,
  details: { trial: false, spec, customerId: 'cust-1', chargingMode: 'PERIOD' as const },
});

describe('PostgreSQL (real server)', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: testInfra().databaseUrl, max: 4 });
  });
  afterAll(async () => {
    await pool.end();
  });

  it('when migrations run again, then nothing is pending and nothing is re-applied', async () => {
    expect(await migrate(pool)).toEqual([]);
    expect(await pendingMigrations(pool)).toEqual([]);
    const applied = await pool.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(applied.rows.map((r) => r.version)).toEqual(loadMigrations().map((m) => m.version));
  });

  it('when a migration file changed after it was applied, then migrate refuses', async () => {
    const tampered = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'different' } : m));
    await expect(migrate(pool, tampered)).rejects.toThrow(/changed after it was applied/);
  });

  it('when a stored detail carries lone surrogates, then jsonb keeps U+FFFD instead of refusing the row', async () => {
    const instanceId = uniqueId('inst');
    const base = aTransitionBase(instanceId, { name: 'a\uD800b', ['k\uDC00']: 'x\uD83D\uDE00' });
    await recordTransition(pool, { ...base, phase: 'PROVISIONING', event: 'PURCHASE_RECEIVED', seq: 1, detail: { note: '\uDFFF' } });
    const row = await pool.query<{ spec: Record<string, string> }>('SELECT spec FROM instances WHERE instance_id = $1', [instanceId]);
    expect(row.rows[0]?.spec).toEqual({ name: 'a\uFFFDb', 'k\uFFFD': 'x\uD83D\uDE00' });
  });

  it('when transitions are written out of order, then the read model keeps the newest', async () => {
    const instanceId = uniqueId('inst');
    const base = aTransitionBase(instanceId, { amount: 3 });
    await recordTransition(pool, { ...base, phase: 'ACTIVE', event: 'PROVISIONED', seq: 2, access: { frontEndUrl: 'https://t.example', credentialsSealed: 'v1.sealed' } });
    await recordTransition(pool, { ...base, phase: 'PROVISIONING', event: 'PURCHASE_RECEIVED', seq: 1 });
    await recordTransition(pool, { ...base, phase: 'ACTIVE', event: 'PROVISIONED', seq: 2 }); // a retried write
    const row = await findInstance(pool, instanceId);
    expect(row?.phase).toBe('ACTIVE');
    expect(row?.seq).toBe(2);
    expect(row?.frontEndUrl).toBe('https://t.example');
    expect(row?.spec).toEqual({ amount: 3 });
    const timeline = await pool.query('SELECT seq, event FROM instance_transitions WHERE instance_id = $1 ORDER BY seq', [instanceId]);
    expect(timeline.rows).toEqual([
      { seq: 1, event: 'PURCHASE_RECEIVED' },
      { seq: 2, event: 'PROVISIONED' },
    ]);
  });

  it.each([
    ['one INSERT per claim', false],
    ['group commit', true],
  ])('when a nonce is claimed twice (even concurrently), then exactly one claim wins (%s)', async (_mode, groupCommit) => {
    const store = createNonceStore(pool, { groupCommit });
    const nonce = uniqueId('nonce');
    const claims = await Promise.all(Array.from({ length: 10 }, () => store.claim(nonce, 60_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.claim(nonce, 60_000)).toBe(false);
  });

  it('when an instance row is written in any way, then its version moves; a write that changed nothing stored leaves it', async () => {
    const instanceId = uniqueId('inst-version');
    const base = aTransitionBase(instanceId, { amount: 1 });
    const version = async () => (await findInstanceVersions(pool, [instanceId]))[0]?.version;
    await recordTransition(pool, { ...base, seq: 1, phase: 'ACTIVE', event: 'PROVISIONED', access: { frontEndUrl: 'https://v.example', credentialsSealed: 'sealed-1' } });
    const v1 = await version();
    expect(v1).toMatch(/^\d+$/);
    expect((await findInstanceAccess(pool, [instanceId]))[0]?.version).toBe(v1);
    // A late, older transition is not applied: the row, and so its version, stay.
    await recordTransition(pool, { ...base, seq: 1, phase: 'ACTIVE', event: 'PROVISIONED' });
    expect(await version()).toBe(v1);
    // A reseal (same secret, new ciphertext) leaves seq alone but is a write of the row.
    expect(await replaceSealedInstanceCredentials(pool, [{ id: instanceId, was: 'sealed-1', sealed: 'sealed-2' }])).toEqual(new Set([instanceId]));
    const v2 = await version();
    expect(v2).not.toBe(v1);
    await recordTransition(pool, { ...base, seq: 2, phase: 'FROZEN', event: 'FROZEN' });
    expect(await version()).not.toBe(v2);
  });
});
