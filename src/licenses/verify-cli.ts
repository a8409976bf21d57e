// `npm run license:verify -- <file|-> [--jwks <file|url>] [--at <time>] [--no-time]`: verifies one license offline.
// Exit 0 and the claims on stdout when it verifies; exit 1 and the reason on stderr when it does not; exit 2 for a
// usage error. The JWKS comes from --jwks, else $LICENSE_JWKS (a file or an http(s) URL), else from this service's
// own configured keys (LICENSE_SIGNING_KEYS, which is how a developer checks what the local service issued).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { publicJwk } from './key-settings.js';
import { verifyLicense, type Jwks } from './verify.js';

const USAGE = 'usage: npm run license:verify -- <license file | -> [--jwks <file|url>] [--at <ISO time>] [--no-time]';

async function readSource(source: string): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`GET ${source} answered HTTP ${res.status}`);
    return res.text();
  }
  return readFileSync(source === '-' ? 0 : source, 'utf8');
}

async function loadJwks(source: string | undefined): Promise<Jwks> {
  if (source !== undefined) return JSON.parse(await readSource(source)) as Jwks;
  // Imported only here: reading the service's configuration is the fallback, not what a customer does.
  const { loadConfig } = await import('../platform/config.js');
  return { keys: loadConfig().licenses.keys.map(publicJwk) };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [file] = args.positionals;
  if (file === undefined || args.positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const at = args.values['no-time'] ? false : args.values.at !== undefined ? new Date(args.values.at) : new Date();
  if (at instanceof Date && Number.isNaN(at.getTime())) {
    console.error(`--at: not a time: ${args.values.at}\n${USAGE}`);
    return 2;
  }
  let token: string;
  let jwks: Jwks;
  try {
    token = await readSource(file);
    jwks = await loadJwks(args.values.jwks ?? process.env.LICENSE_JWKS);
  } catch (err) {
    console.error(`license:verify: ${(err as Error).message}`);
    return 2;
  }
  const result = await verifyLicense(token, jwks, { at });
  if (!result.ok) {
    console.error(`INVALID: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`);
    return 1;
  }
  console.log(JSON.stringify({ valid: true, kid: result.kid, claims: result.claims }, null, 2));
  return 0;
}

function parse() {
  return parseArgs({
    allowPositionals: true,
    options: { jwks: { type: 'string' }, at: { type: 'string' }, 'no-time': { type: 'boolean' } },
  });
}

process.exitCode = await main();
