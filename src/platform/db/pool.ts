import pg from 'pg';

/** Creates the process's one PostgreSQL pool. */
/** One round trip to PostgreSQL (the readiness probe): throws when the database cannot be reached. */
export async function pingDatabase(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}

export function createPool(o: { url: string; max: number; applicationName: string }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.max,
    application_name: o.applicationName,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    // A statement that hangs (a lock, a dying server) must not hold a marketplace answer past its 5 s budget.
    statement_timeout: 4000,
  });
  // An idle client's connection can die (server restart); pg emits it on the pool, and unhandled it would crash us.
  pool.on('error', () => undefined);
  // A client in use can emit 'error' too, and more than once as its backend dies (pg_terminate_backend, failover):
  // pool.query listens only `once` and only while its query runs. The failure reaches the caller through the query
  // itself; this listener only keeps a late, second 'error' from being an uncaught exception that kills the process.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

export type { Pool, PoolClient } from 'pg';
