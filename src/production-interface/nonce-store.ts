import type { Pool } from 'pg';

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

/** A NonceStore on the `koo_nonces` table. */
export function createNonceStore(pool: Pool): NonceStore {
  return {
    async claim(nonce, windowMs) {
      const r = await pool.query(
        `INSERT INTO koo_nonces (nonce, expires_at) VALUES ($1, now() + make_interval(secs => $2::double precision))
         ON CONFLICT (nonce) DO NOTHING RETURNING 1`,
        // Twice the window: a timestamp may be up to one window in the future as well as in the past.
        [nonce, (2 * windowMs) / 1000],
      );
      return r.rowCount === 1;
    },
    async purgeExpired() {
      const r = await pool.query('DELETE FROM koo_nonces WHERE expires_at < now()');
      return r.rowCount ?? 0;
    },
  };
}
