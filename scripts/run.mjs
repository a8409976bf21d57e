#!/usr/bin/env node
// Entry point of `npm start`, `npm test` and `npm run bench` (and so of .ci/run). Plain JavaScript with no
// dependencies, because on a fresh clone nothing is installed yet: it makes sure the Node it runs on satisfies
// package.json's engines (installing the pinned Node 22 into the tool cache and running itself again under it when
// the machine's Node is older), installs the npm dependencies when they are missing or stale, then hands over to the
// TypeScript script of the same name (run through tsx).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { constants, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decide, ensureNode, reexecCommand } from './node-runtime.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const command = process.argv[2];
const scripts = { start: 'scripts/start.ts', test: 'scripts/test.ts', bench: 'bench/run.ts' };
if (!(command in scripts)) {
  console.error(`usage: node scripts/run.mjs ${Object.keys(scripts).join('|')} [args...]`);
  process.exit(2);
}

/**
 * Runs a child with our stdio and ends with it. A terminal's Ctrl-C reaches the whole foreground process group, so
 * the child usually gets every signal itself; we forward SIGINT/SIGTERM anyway for a supervisor that signals our
 * pid alone. The child therefore may see one signal twice: scripts/start.ts treats signals that arrive together as
 * one request to stop.
 */
function relay(cmd, args, env) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

const engines = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines?.node;
const plan = decide({ runningVersion: process.version, enginesRange: engines, env: process.env, platform: process.platform, arch: process.arch });
if (plan.action === 'fail') {
  console.error(`[run] ${plan.reason}`);
  process.exit(1);
}
if (plan.action === 'reexec') {
  let binDir;
  try {
    binDir = ensureNode({ pkg: plan.pkg, version: plan.version, env: process.env, home: homedir(), log: (m) => console.log(`[run] ${m}`) });
  } catch (err) {
    console.error(`[run] Node ${process.version} is older than ${engines} and Node ${plan.version} could not be installed: ${err.message}`);
    process.exit(1);
  }
  console.log(`[run] Node ${process.version} is older than ${engines} (package.json engines): running under Node ${plan.version} from ${binDir}`);
  const again = reexecCommand({ binDir, script: fileURLToPath(import.meta.url), args: process.argv.slice(2), env: process.env });
  relay(again.command, again.args, again.env);
} else {
  installDependenciesIfStale();
  relay(process.execPath, ['--import', 'tsx', join(root, scripts[command]), ...process.argv.slice(3)], process.env);
}

function installDependenciesIfStale() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);
  if (!stale) return;
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
