// `npm run secrets:reseal -- [--check]` (in the image: `node dist/src/orders/reseal-cli.js`): moves every sealed
// value the database holds to the current DATA_ENCRYPTION_KEY, the step of a key rotation between switching the key
// and dropping the previous one (README "Key rotation"). One JSON line per column, then a summary.
// Exit 0: every value is under the current key. 1 (--check only): some are still under a previous key.
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
  const reports: ColumnReport[] = [];
  try {
    for (const column of orderSealedColumns(pool)) {
      const report = await resealColumn(column, box, { write: !check });
      reports.push(report);
      console.log(JSON.stringify({ msg: check ? 'checked' : 'resealed', ...report }));
    }
  } catch (err) {
    console.error(JSON.stringify({ msg: 'reseal failed', error: (err as Error).message }));
    return 2;
  } finally {
    await pool.end();
  }
  const sum = (k: 'stale' | 'resealed' | 'unreadable' | 'changedMeanwhile') => reports.reduce((n, r) => n + r[k], 0);
  const left = check ? sum('stale') : sum('stale') - sum('resealed') - sum('changedMeanwhile');
  console.log(
    JSON.stringify({
      msg: 'reseal done',
      mode: check ? 'check' : 'write',
      database: redactUrl(config.database.url),
      previousKeys: config.dataEncryptionPreviousKeys.length,
      underPreviousKeys: left,
      resealed: sum('resealed'),
      unreadable: sum('unreadable'),
    }),
  );
  if (sum('unreadable') > 0) return 2;
  return left > 0 ? 1 : 0;
}

process.exitCode = await main().catch((err: unknown) => {
  // A configuration error names its settings and never a value.
  console.error(JSON.stringify({ msg: 'reseal failed', error: err instanceof Error ? err.message : String(err) }));
  return 2;
});
