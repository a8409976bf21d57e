import type { Pool } from 'pg';
import { createBatcher, type BatcherWatch } from '../platform/db/batcher.js';

/**
 * V2 replay protection in PostgreSQL, so the rule survives restarts and holds across API replicas: the first
 * claim of a nonce wins, every later one is a replay. Rows are kept a little longer than the signature window
 * (after which the timestamp check rejects the request anyway) and purged in the background.
 */
export interface NonceStore {
  /** True when the nonce had not been seen (and is now recorded); false for a replay. */
  claim(nonce: string, windowMs: number): Promise<boolean>;
  /** Deletes expired nonces; returns how many. */
  purgeExpired(): Promise<number>;
}

/** One claim: the nonce and how long its row is kept, in seconds. */
interface NonceClaim {
  readonly nonce: string;
  readonly keepSeconds: number;
}

// Twice the window: a timestamp may be up to one window in the future as well as in the past.
const keepSecondsFor = (windowMs: number) => (2 * windowMs) / 1000;

/**
 * Claims nonces in one INSERT; returns, in order, whether each claim won. A nonce twice in the batch (a replay
 * arriving with its original) is sent once and only its first claim wins. A batch inserts in the nonces' order, so
 * two replicas' batches holding the same two nonces lock them in the same order and cannot deadlock.
 */
async function claimNonces(pool: Pool, claims: readonly NonceClaim[]): Promise<boolean[]> {
  // One claim (every claim of an idle service, and of a store without group commit): the plain one-row INSERT,
  // the statement B3's floor measures.
  if (claims.length === 1) {
    const r = await pool.query(
      `INSERT INTO koo_nonces (nonce, expires_at) VALUES ($1, now() + make_interval(secs => $2::double precision))
       ON CONFLICT (nonce) DO NOTHING RETURNING 1`,
      [claims[0]!.nonce, claims[0]!.keepSeconds],
    );
    return [r.rowCount === 1];
  }
  const keep = new Map<string, number>();
  for (const c of claims) if (!keep.has(c.nonce)) keep.set(c.nonce, c.keepSeconds);
  const r = await pool.query<{ nonce: string }>(
    `INSERT INTO koo_nonces (nonce, expires_at)
     SELECT n, now() + make_interval(secs => k) FROM unnest($1::text[], $2::double precision[]) AS x(n, k) ORDER BY n
     ON CONFLICT (nonce) DO NOTHING RETURNING nonce`,
    [[...keep.keys()], [...keep.values()]],
  );
  const won = new Set(r.rows.map((row) => row.nonce));
  // delete: the first claim of a nonce takes the win, a second one in the same batch finds it gone.
  return claims.map((c) => won.delete(c.nonce));
}

/**
 * A NonceStore on the `koo_nonces` table. With `groupCommit`, claims that arrive while one is being written go in
 * together in the next INSERT (platform/db/batcher.ts): under load one statement and one commit per batch
 * instead of per call, the same answer per claim. Without it, one INSERT per claim.
 */
export function createNonceStore(pool: Pool, o: { groupCommit?: boolean; watch?: BatcherWatch } = {}): NonceStore {
  const commit = o.groupCommit
    ? createBatcher<NonceClaim, boolean>({
        what: 'nonce claims',
        run: (claims) => claimNonces(pool, claims),
        maxBatch: 500,
        // Each waiting claim is a call the marketplace waits for; its backstop answers it long before this fills.
        maxQueued: 20_000,
        ...(o.watch ? { watch: o.watch } : {}),
      })
    : undefined;
  return {
    async claim(nonce, windowMs) {
      const c = { nonce, keepSeconds: keepSecondsFor(windowMs) };
      return commit ? commit.submit(c) : (await claimNonces(pool, [c]))[0]!;
    },
    async purgeExpired() {
      const r = await pool.query('DELETE FROM koo_nonces WHERE expires_at < now()');
      return r.rowCount ?? 0;
    },
  };
}
