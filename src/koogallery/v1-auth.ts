import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time.js';
import { parseV1TimeStamp } from './time.js';

// SaaS V1 request authentication (spec §2.1): authToken = Base64(HMAC-SHA256(accessKey + timeStamp, canonical)).

/** A raw V1 query string split into decoded parameters. */
export interface ParsedQuery {
  /** Decoded values, a raw '+' kept as '+'; the first value wins for repeated names. */
  params: Record<string, string>;
  /** Names that appeared more than once. */
  duplicates: string[];
  /** For params whose raw value contained '+': the value with '+' read as a space. */
  plusVariants: Record<string, string>;
}

/** Parses a raw query string (no leading '?'); undefined if any percent-escape is malformed. */
export function parseRawQuery(rawQuery: string): ParsedQuery | undefined {
  // Null-prototype records so names like `__proto__` or `toString` are plain data.
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const plusVariants: Record<string, string> = Object.create(null) as Record<string, string>;
  const duplicates: string[] = [];
  if (typeof rawQuery !== 'string') return undefined;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let name: string;
    let value: string;
    let plusValue: string | undefined;
    try {
      name = decodeURIComponent(rawName);
      value = decodeURIComponent(rawValue);
      if (rawValue.includes('+')) plusValue = decodeURIComponent(rawValue.replace(/\+/g, '%20'));
    } catch {
      return undefined;
    }
    if (Object.hasOwn(params, name)) {
      if (!duplicates.includes(name)) duplicates.push(name);
      continue;
    }
    params[name] = value;
    if (plusValue !== undefined) plusVariants[name] = plusValue;
  }
  return { params, duplicates, plusVariants };
}

const byAscii = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The V1 string to sign: every param but authToken, sorted by name (Java TreeMap order), `name=value` joined by '&'. */
export function canonicalV1(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== 'authToken')
    .sort(byAscii)
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

/** Computes the V1 authToken: Base64(HMAC-SHA256(key = accessKey + timeStamp, canonicalV1(params))). */
export function computeV1AuthToken(accessKey: string, params: Record<string, string>): string {
  return createHmac('sha256', accessKey + (params['timeStamp'] ?? ''))
    .update(canonicalV1(params), 'utf8')
    .digest('base64');
}

/** Outcome of verifyV1AuthToken. */
export type V1AuthResult =
  | { ok: true; /** The parameters as signed: the reading of any un-encoded '+' that the token matched. */ params: Record<string, string> }
  | { ok: false; reason: 'missing' | 'mismatch' | 'stale' | 'bad-timestamp' };

/** Verifies a V1 request's authToken in constant time and checks its timeStamp against a local tolerance. */
export function verifyV1AuthToken(
  accessKey: string,
  parsed: Pick<ParsedQuery, 'params' | 'plusVariants'>,
  opts: { nowMs: number; toleranceMs: number },
): V1AuthResult {
  const params = parsed.params;
  const plusVariants = parsed.plusVariants ?? {};
  const received = params['authToken'];
  const timeStamp = params['timeStamp'];
  if (!received || !timeStamp) return { ok: false, reason: 'missing' };
  const ts = parseV1TimeStamp(timeStamp);
  if (!ts) return { ok: false, reason: 'bad-timestamp' };
  // No V1 window is documented (UNCONFIRMED); the tolerance is the caller's local policy.
  if (Math.abs(opts.nowMs - ts.getTime()) > opts.toleranceMs) return { ok: false, reason: 'stale' };

  // Base64 never contains a space, so a space can only be a '+' that some hop decoded.
  const token = received.replace(/ /g, '+');
  // UNCONFIRMED (spec §2.1 note): a '+' that arrived un-encoded may have been signed as '+' or as a space;
  // accept either reading. Both comparisons always run so timing does not reveal which reading matched.
  const literalOk = constantTimeEqual(computeV1AuthToken(accessKey, params), token);
  if (Object.keys(plusVariants).length > 0) {
    const spaced = { ...params, ...plusVariants };
    const spacedOk = constantTimeEqual(computeV1AuthToken(accessKey, spaced), token);
    // Act on what was signed: if only the space reading matched, its values are the request.
    if (!literalOk && spacedOk) return { ok: true, params: spaced };
  }
  return literalOk ? { ok: true, params } : { ok: false, reason: 'mismatch' };
}
