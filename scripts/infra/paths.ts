import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where built tools (Temporal CLI, test-server jars) are cached across clones: outside the repo. */
export const cacheDir = process.env.KOO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'koogallery-orders');

/** Local state of `npm start` and `npm test` (dev-server database, logs): inside the repo, git-ignored. */
export const dataDir = process.env.KOO_DATA_DIR ?? join(repoRoot, '.data');

/** Logs of the processes the scripts start. */
export const logDir = join(dataDir, 'logs');
