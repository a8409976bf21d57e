import type { Pool, PoolClient } from 'pg';

/**
 * Runs `fn` in a transaction on one checked-out client. A checked-out client has no pool listener: if its backend
 * dies between two statements (server restart, pg_terminate_backend), pg emits 'error' on the client, and with no
 * listener that crashes the process. We listen for the checkout's lifetime, roll back on failure, and release a
 * broken client with the error so the pool discards it instead of handing it out again.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken ??= rollbackErr as Error;
    });
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken ?? false);
  }
}
