import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNonceStore, type NonceStore } from '../../../src/production-interface/nonce-store.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { recordingPool } from '../../support/recording-pool.js';

// The nonce store by group commit (the API's): claims arriving together share one INSERT, and each claim still gets
// the answer it would get alone: the first claim of a nonce wins, every later one, in the batch or not, is a replay.

let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: testInfra().databaseUrl, max: 4 });
});
afterAll(async () => {
  await pool.end();
});

describe('nonce store, group commit', () => {
  it('when 200 calls claim distinct nonces at once, then every claim wins, in a handful of INSERTs', async () => {
    const { pool: recorded, statements: inserts } = recordingPool(pool, (sql) => sql.includes('INSERT INTO koo_nonces'));
    const store = createNonceStore(recorded, { groupCommit: true });
    const nonces = Array.from({ length: 200 }, (_, i) => uniqueId(`gc-${i}`));
    const claims = await Promise.all(nonces.map((n) => store.claim(n, 60_000)));
    expect(claims.every((c) => c === true)).toBe(true);
    // The first alone, the other 199 while it was in flight: one more INSERT (batches of up to 500).
    expect(inserts.length).toBe(2);
    const stored = await pool.query<{ n: string; keep: number }>(
      `SELECT count(*)::int AS n, round(extract(epoch FROM min(expires_at) - now()))::int AS keep FROM koo_nonces WHERE nonce = ANY($1)`,
      [nonces],
    );
    // Kept for twice the window (120 s), give or take the test's own seconds.
    expect(stored.rows[0]).toMatchObject({ n: 200 });
    expect(stored.rows[0]!.keep).toBeGreaterThan(100);
    expect(stored.rows[0]!.keep).toBeLessThanOrEqual(120);
  });

  it('when a nonce comes twice in one batch and another was seen before, then only the first claim of each new nonce wins', async () => {
    const store = createNonceStore(pool, { groupCommit: true });
    const seen = uniqueId('gc-seen');
    expect(await store.claim(seen, 60_000)).toBe(true);
    const twice = uniqueId('gc-twice');
    const fresh = uniqueId('gc-fresh');
    const first = store.claim(uniqueId('gc-lead'), 60_000);
    // Claimed while the first INSERT is in flight: one batch.
    const batch = [twice, seen, fresh, twice].map((n) => store.claim(n, 60_000));
    expect(await first).toBe(true);
    expect(await Promise.all(batch)).toEqual([true, false, true, false]);
  });

  it('when two replicas claim the same nonces in opposite orders at once, then each nonce is won exactly once and nothing deadlocks', async () => {
    const replicas = [recordingPool(pool, () => false), recordingPool(pool, () => false)];
    const [replicaA, replicaB] = replicas.map((r) => createNonceStore(r.pool, { groupCommit: true })) as [NonceStore, NonceStore];
    for (let round = 0; round < 20; round++) {
      const nonces = Array.from({ length: 50 }, (_, i) => uniqueId(`gc-race-${round}-${i}`));
      const claimAll = (store: NonceStore, order: string[]) => [store.claim(uniqueId('gc-lead'), 60_000), ...order.map((n) => store.claim(n, 60_000))];
      const a = claimAll(replicaA, nonces);
      const b = claimAll(replicaB, [...nonces].reverse());
      const [wonA, wonB] = await Promise.all([Promise.all(a), Promise.all(b)]);
      const byNonceA = wonA.slice(1);
      const byNonceB = wonB.slice(1).reverse();
      expect(nonces.map((_, i) => Number(byNonceA[i]) + Number(byNonceB[i]))).toEqual(nonces.map(() => 1));
    }
    // Not even one deadlock (40P01) that the one-by-one retry of a failed batch would have hidden.
    expect(replicas.flatMap((r) => r.failures)).toEqual([]);
  });

  it('when one claim of a batch cannot be stored, then only that claim fails and its neighbours are answered', async () => {
    const store = createNonceStore(pool, { groupCommit: true });
    const first = store.claim(uniqueId('gc-lead'), 60_000);
    const good = [uniqueId('gc-ok'), uniqueId('gc-ok')];
    // PostgreSQL refuses NUL in text: the batch fails and is claimed again one by one.
    const batch = [good[0]!, 'bad\u0000nonce', good[1]!].map((n) => store.claim(n, 60_000));
    const settled = await Promise.allSettled([first, ...batch]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<boolean>).value)).toEqual([true, true, true]);
    expect(await store.claim(good[0]!, 60_000)).toBe(false);
  });
});
