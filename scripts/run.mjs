#!/usr/bin/env node
// Entry point of `npm start`, `npm test` and `npm run bench`. Plain JavaScript with no dependencies, because on a
// fresh clone nothing is installed yet: it installs the npm dependencies when they are missing or stale, then hands
// over to the TypeScript script of the same name (run through tsx).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const command = process.argv[2];
const scripts = { start: 'scripts/start.ts', test: 'scripts/test.ts', bench: 'bench/run.ts' };
if (!(command in scripts)) {
  console.error(`usage: node scripts/run.mjs ${Object.keys(scripts).join('|')} [args...]`);
  process.exit(2);
}

function dependenciesStale() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return true;
  const lock = join(root, 'package-lock.json');
  return existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000;
}

if (dependenciesStale()) {
  console.log('[run] installing npm dependencies (npm ci)…');
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (ci.status !== 0) {
    // No silent fallback to `npm install`: it would rewrite package-lock.json in the user's checkout and hide a
    // lock file that CI and the Dockerfile (which run `npm ci`) refuse.
    console.error('[run] npm ci failed. If it says the lock file is out of sync, regenerate it with');
    console.error('[run]   rm package-lock.json && npm install --package-lock-only && npm ci');
    console.error('[run] and commit package-lock.json.');
    process.exit(ci.status ?? 1);
  }
}

const child = spawn(process.execPath, ['--import', 'tsx', join(root, scripts[command]), ...process.argv.slice(3)], {
  cwd: root,
  stdio: 'inherit',
});
// Ctrl-C reaches the whole foreground process group; the child handles it and exits, and we exit with it.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
