import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { run, say } from './proc.js';

// Debian's Chromium for browser tests (the Temporal UI test). Never a browser downloaded by a test tool: the one
// from the distribution's archive, installed with apt only when it is missing.

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The flags every headless run uses: no sandbox (containers run as root), no GPU, no background traffic. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The outcome of ensureChromium(): a path to launch, or why there is none. */
export type ChromiumAvailability = { readonly ok: true; readonly path: string; readonly installedHere: boolean } | { readonly ok: false; readonly reason: string };

/**
 * Makes /usr/bin/chromium available: returns at once when it exists; otherwise, as root, runs `apt-get update`
 * and `apt-get install -y chromium`. Never throws: callers skip their test with `reason` when it is not ok.
 */
export function ensureChromium(o: { path?: string } = {}): ChromiumAvailability {
  const path = o.path ?? CHROMIUM_PATH;
  if (existsSync(path)) return { ok: true, path, installedHere: false };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { ok: false, reason: `${path} is missing and installing it needs root (run: apt-get update && apt-get install -y chromium)` };
  }
  if (run('sh', ['-c', 'command -v apt-get']).status !== 0) return { ok: false, reason: `${path} is missing and apt-get is not available` };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  say('chromium', 'installing Debian chromium (apt-get update && apt-get install -y chromium)');
  const update = run('apt-get', ['update'], { env });
  if (update.status !== 0) return { ok: false, reason: `apt-get update failed: ${lastLines(update.stderr)}` };
  const install = run('apt-get', ['install', '-y', 'chromium'], { env });
  if (install.status !== 0) return { ok: false, reason: `apt-get install chromium failed: ${lastLines(install.stderr || install.stdout)}` };
  if (!existsSync(path)) return { ok: false, reason: `apt-get installed chromium but ${path} does not exist` };
  say('chromium', `installed ${path}`);
  return { ok: true, path, installedHere: true };
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

// `tsx scripts/infra/chromium.ts` installs it ahead of a test run.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = ensureChromium();
  if (r.ok) say('chromium', `${r.path}${r.installedHere ? ' (installed now)' : ' (already present)'}`);
  else {
    say('chromium', r.reason);
    process.exitCode = 1;
  }
}
