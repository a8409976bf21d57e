// The Node.js this project runs on, for scripts/run.mjs. Plain JavaScript with no dependencies (it runs before
// `npm ci`). When the Node that started us is older than package.json's `engines.node`, the pinned Node below is
// installed from the npm registry (the `node-<os>-<arch>` packages carry the official binary; nothing else can be
// downloaded here) into the tool cache, and run.mjs runs itself again under it. The functions above the line are
// pure and unit-tested (test/unit/node-runtime.test.ts); the ones below it touch the disk and the registry.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/** The Node release installed when the running one is too old: the current Node 22 LTS. Bump deliberately. */
export const PINNED_NODE_VERSION = '22.23.5';

/** Set in the environment of a run.mjs started again under the installed Node, so it never loops. */
export const REEXEC_MARKER = 'KOO_NODE_REEXEC';

/** `v22.12.0`, `22.12` or `22` as [major, minor, patch]; undefined when it is not a version. */
export function parseVersion(text) {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(String(text).trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
}

/** The minimum version of an `engines.node` range of the form `>=X[.Y[.Z]]` (the only form this project uses). */
export function minimumOfRange(range) {
  const m = /^>=\s*(\S+)$/.exec(String(range).trim());
  const version = m ? parseVersion(m[1]) : undefined;
  if (!version) throw new Error(`engines.node "${range}" is not of the form >=X.Y.Z`);
  return version;
}

/** True when version a is older than version b (both [major, minor, patch]). */
export function olderThan(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/** The npm package that ships the Node binary for this platform, or undefined where there is none we support. */
export function nodePackageFor(platform, arch) {
  const os = { linux: 'linux', darwin: 'darwin' }[platform];
  return os && (arch === 'x64' || arch === 'arm64') ? `node-${os}-${arch}` : undefined;
}

/** Where installed Node releases live: the same tool cache as scripts/infra/paths.ts (`KOO_CACHE_DIR` wins). */
export function nodeCacheRoot(env, home) {
  return join(env.KOO_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(home, '.cache'), 'koogallery-orders'), 'node');
}

/**
 * What to do about the running Node: `{ action: 'run' }` when it satisfies `engines.node`; `{ action: 'reexec' }`
 * when it is older and we may switch; `{ action: 'fail', reason }` when we cannot (already switched once, or no
 * binary package for this platform).
 */
export function decide({ runningVersion, enginesRange, env, platform, arch }) {
  const running = parseVersion(runningVersion);
  const minimum = minimumOfRange(enginesRange);
  if (running && !olderThan(running, minimum)) return { action: 'run' };
  const need = `Node ${enginesRange} (package.json engines)`;
  if (env[REEXEC_MARKER]) return { action: 'fail', reason: `still on Node ${runningVersion} after switching; this project needs ${need}` };
  const pkg = nodePackageFor(platform, arch);
  if (!pkg) return { action: 'fail', reason: `Node ${runningVersion} is too old and there is no Node package for ${platform}-${arch}: install ${need}` };
  if (olderThan(parseVersion(PINNED_NODE_VERSION), minimum)) return { action: 'fail', reason: `the pinned Node ${PINNED_NODE_VERSION} does not satisfy ${need}` };
  return { action: 'reexec', pkg, version: PINNED_NODE_VERSION };
}

/**
 * The command that runs `script args` again under the Node in `binDir`, with `binDir` first on PATH so that every
 * `node`, `npm` and `npx` the script and its children start (npm ci, tsx, tsc, vitest, the worker, the API) is
 * that Node too.
 */
export function reexecCommand({ binDir, script, args, env }) {
  const pathKey = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  return {
    command: join(binDir, 'node'),
    args: [script, ...args],
    env: { ...env, [pathKey]: [binDir, env[pathKey]].filter(Boolean).join(delimiter), [REEXEC_MARKER]: '1' },
  };
}

/** A POSIX shim that runs an npm entry point (npm-cli.js, npx-cli.js) with the Node next to it. */
export function npmShim(cliJs) {
  return `#!/bin/sh\n# Written by scripts/node-runtime.mjs: the npm we were started with, run by the Node in this folder.\nexec "$(dirname "$0")/node" "${cliJs}" "$@"\n`;
}

// ------------------------------------------------------------------------------------------------ side effects

/** Runs `node --version` from a folder; the version without its `v`, or undefined when it does not run. */
function runs(binDir) {
  const r = spawnSync(join(binDir, 'node'), ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, '') : undefined;
}

/** The npm CLI we were started with (its JavaScript runs on any supported Node): npm's own variable, else PATH. */
function currentNpmCli() {
  const candidates = [process.env.npm_execpath];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'npm'))) candidates.push(realpathSync(join(dir, 'npm')));
  }
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'));
  const cli = candidates.find((c) => c && /npm-cli\.js$/.test(c) && existsSync(c));
  if (!cli) throw new Error('cannot find the npm CLI (npm-cli.js) to run with the installed Node');
  return cli;
}

/**
 * Makes `<cache>/node/<version>/bin` hold a working `node` of that version (installing it from the npm package when
 * missing or broken) plus `npm`/`npx` shims, and returns that folder. Installs into a temporary folder and renames
 * it into place, so an interrupted install or a concurrent run never leaves a half-written Node behind.
 */
export function ensureNode({ pkg, version, env, home, log }) {
  const root = nodeCacheRoot(env, home);
  const dir = join(root, version);
  const binDir = join(dir, 'bin');
  if (runs(binDir) !== version) {
    log(`installing Node ${version} from the npm package ${pkg}@${version} into ${dir} (once, ~50 MB)…`);
    mkdirSync(root, { recursive: true });
    const tmp = mkdtempSync(join(root, `.install-${version}-`));
    try {
      const pack = spawnSync('npm', ['pack', `${pkg}@${version}`, '--silent', '--pack-destination', tmp], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
      if (pack.status !== 0 || !tarball) throw new Error(`npm pack ${pkg}@${version} failed (status ${pack.status})`);
      const untar = spawnSync('tar', ['-xzf', join(tmp, tarball), '-C', tmp], { stdio: 'inherit' });
      if (untar.status !== 0) throw new Error(`could not unpack ${tarball} (tar status ${untar.status})`);
      const unpacked = join(tmp, 'package');
      const got = runs(join(unpacked, 'bin'));
      if (got !== version) throw new Error(`the Node in ${pkg}@${version} does not run here (it answered ${got ?? 'nothing'})`);
      rmSync(dir, { recursive: true, force: true });
      try {
        renameSync(unpacked, dir);
      } catch (err) {
        // Another run installed the same release at the same moment: use theirs.
        if (runs(binDir) !== version) throw err;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  // The package ships node alone. npm is JavaScript: the npm we were started with runs on the new Node. Rewritten
  // whenever it differs, since the npm we were started with may have moved.
  const npmCli = currentNpmCli();
  for (const [name, cli] of [['npm', npmCli], ['npx', join(dirname(npmCli), 'npx-cli.js')]]) {
    const file = join(binDir, name);
    const text = npmShim(cli);
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
      writeFileSync(file, text);
      chmodSync(file, 0o755);
    }
  }
  return binDir;
}
