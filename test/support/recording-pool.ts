import type pg from 'pg';

/** A pool that records what reached PostgreSQL through it; see recordingPool. */
export interface RecordingPool {
  readonly pool: pg.Pool;
  /** The text of each statement that `records` selected, in the order sent. */
  readonly statements: string[];
  /** The SQLSTATE of each statement PostgreSQL refused (any statement), in the order refused. */
  readonly failures: string[];
}

/** `pool` with its `query` recorded: the statements `records` selects, and the codes of refused ones. */
export function recordingPool(pool: pg.Pool, records: (sql: string) => boolean): RecordingPool {
  const statements: string[] = [];
  const failures: string[] = [];
  const recorded = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (text: string, values?: unknown[]) => {
        if (records(text)) statements.push(text);
        return target.query(text, values).catch((err: unknown) => {
          failures.push(String((err as { code?: string }).code));
          throw err;
        });
      };
    },
  });
  return { pool: recorded, statements, failures };
}
