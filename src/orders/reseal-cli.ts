// `npm run secrets:reseal -- [--check]` (in the image: `node dist/src/orders/reseal-cli.js`): moves every sealed
// value the database holds to the current DATA_ENCRYPTION_KEY, the step of a key rotation between switching the key
// and dropping the previous one (README "Key rotation"). One JSON line per column and pass (the writing pass, then a
// check pass that counts what is left), then a summary.
// Exit 0: every value is under the current key. 1: some are still under a previous key (after writing: rows the
// service wrote again meanwhile; run it again).
// 2: a value no configured key opens (the ids are listed), a usage or configuration error, or the database.
import { parseArgs } from 'node:util';
import { loadConfig, redactUrl } from '../platform/config.js';
import { createPool } from '../platform/db/pool.js';
import { sealedBoxOf } from '../platform/sealed-box.js';
import { orderSealedColumns, resealColumn, type ColumnReport } from './reseal.js';

const USAGE = 'usage: npm run secrets:reseal -- [--check]   (--check counts what is left under previous keys, writes nothing)';

async function main(): Promise<number> {
  let check: boolean;
  try {
    check = parseArgs({ options: { check: { type: 'boolean', default: false } }, strict: true }).values.check === true;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const box = sealedBoxOf(config);
  const pool = createPool({ url: config.database.url, max: 2, applicationName: 'koogallery-reseal' });
  const written: ColumnReport[] = [];
  const checked: ColumnReport[] = [];
  try {
    const columns = orderSealedColumns(pool);
    if (!check) {
      for (const column of columns) {
        const report = await resealColumn(column, box, { write: true });
        written.push(report);
        console.log(JSON.stringify({ msg: 'resealed', ...report }));
      }
    }
    // What is left is counted, not inferred: a row the service rewrote meanwhile may hold an old value again (a
    // late read-model write from a workflow's history).
    for (const column of columns) {
      const report = await resealColumn(column, box, { write: false });
      checked.push(report);
      console.log(JSON.stringify({ msg: 'checked', ...report }));
    }
  } catch (err) {
    console.error(JSON.stringify({ msg: 'reseal failed', error: (err as Error).message }));
    return 2;
  } finally {
    await pool.end();
  }
  const sum = (reports: readonly ColumnReport[], k: 'stale' | 'resealed' | 'unreadable') => reports.reduce((n, r) => n + r[k], 0);
  const left = sum(checked, 'stale');
  const unreadable = sum(checked, 'unreadable');
  console.log(
    JSON.stringify({
      msg: 'reseal done',
      mode: check ? 'check' : 'write',
      database: redactUrl(config.database.url),
      previousKeys: config.dataEncryptionPreviousKeys.length,
      underPreviousKeys: left,
      resealed: sum(written, 'resealed'),
      unreadable,
    }),
  );
  if (unreadable > 0) return 2;
  return left > 0 ? 1 : 0;
}

process.exitCode = await main().catch((err: unknown) => {
  // A configuration error names its settings and never a value.
  console.error(JSON.stringify({ msg: 'reseal failed', error: err instanceof Error ? err.message : String(err) }));
  return 2;
});
