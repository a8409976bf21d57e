// `npm run migrate` / `node dist/src/platform/db/migrate-cli.js`: applies pending migrations to DATABASE_URL and exits.
import { loadConfig, redactUrl } from '../config.js';
import { migrate } from './migrate.js';
import { createPool } from './pool.js';

const config = loadConfig();
const pool = createPool({ url: config.database.url, max: 1, applicationName: 'koogallery-migrate' });
try {
  const applied = await migrate(pool);
  console.log(JSON.stringify({ msg: 'migrations applied', database: redactUrl(config.database.url), applied }));
} catch (err) {
  console.error(JSON.stringify({ msg: 'migration failed', error: (err as Error).message }));
  process.exitCode = 1;
} finally {
  await pool.end();
}
