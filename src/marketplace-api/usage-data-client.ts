import { randomBytes } from 'node:crypto';
import { sortedJson, usagePushSignature } from '../koogallery/usage-sign.js';

// Our client for KooGallery's usage-data API (new version, spec §2.5, §8): metered usage pushed as signed JSON,
// at most 1,000 records per call. The answer's shape is UNCONFIRMED (the spec names request-level `MKT.xxxx`
// codes and record-level `001`–`013` codes without their fields): we read `error_code` / `error_msg` at the top
// and a `fail_records` list of {metering_sn, error_code, error_msg}, tolerating `resultCode`/`resultMsg` too. The
// simulator answers in this shape; a real answer that differs lands in the record answers as BAD_RESPONSE,
// never as accepted.

/** Path of the usage-data API below the API base. */
export const USAGE_DATA_PATH = '/api/mkp-openapi-public/global/v1/isv/usage-data';

/** The request-level success code. */
export const USAGE_SUCCESS_CODE = 'MKT.0000';

/** One record of a usage push, as the marketplace reads it (times `yyyyMMdd'T'HHmmss'Z'`). */
export interface UsageDataRecord {
  readonly instance_id: string;
  readonly record_time: string;
  readonly begin_time: string;
  readonly end_time: string;
  /** > 0, at most 4 decimals (Double(12,4) on one page of the spec, String on another: we send the number). */
  readonly usage_value: number;
  readonly metering_sn: string;
  /** Required for stop-when-used-up packages: the package instance being consumed. */
  readonly relate_pkg_instance?: string;
}

/** What one call came back with. */
export type UsagePushAnswer =
  /** The marketplace answered: `code` for the call, and the records it refused (by metering_sn). */
  | { readonly kind: 'answered'; readonly status: number; readonly code: string; readonly message: string; readonly refused: ReadonlyMap<string, { code: string; message: string }> }
  /** No usable answer (network error, timeout, 5xx, 429, an APIG gateway error, unparsable): nothing is known. */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Options of createUsageDataClient. */
export interface UsageDataClientOptions {
  readonly apiBase: string;
  /** The merchant's docking key (KOOGALLERY_ACCESS_KEY): the HMAC key of the `signature` header. */
  readonly key: string;
  readonly timeoutMs: number;
  /** Injectable clock and nonce (tests). */
  readonly now?: () => number;
  readonly nonce?: () => string;
}

/** Formats a time as the usage-data API wants it: `yyyyMMdd'T'HHmmss'Z'` in UTC. */
export function formatUsageTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The signed request of a push: the exact body bytes and the three headers. */
export function signUsagePush(records: readonly UsageDataRecord[], key: string, ts: string, nonce: string): { body: string; headers: Record<string, string> } {
  const body = sortedJson({ usage_records: records });
  return { body, headers: { 'content-type': 'application/json;charset=UTF-8', signature: usagePushSignature(key, ts, nonce, body), ts, nonce } };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/** Reads an answer body (see the file comment for the assumed shape). */
export function readUsagePushAnswer(status: number, body: unknown): UsagePushAnswer {
  if (status >= 500 || status === 429) return { kind: 'unavailable', reason: `HTTP ${status}` };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { kind: 'unavailable', reason: `HTTP ${status}: not a JSON object` };
  const b = body as Record<string, unknown>;
  const code = text(b['error_code']) ?? text(b['resultCode']) ?? text(b['code']);
  const message = text(b['error_msg']) ?? text(b['resultMsg']) ?? text(b['message']) ?? '';
  if (code === undefined) return { kind: 'unavailable', reason: `HTTP ${status}: no error_code` };
  // APIG's own errors (throttling, gateway faults) say nothing about our records: try again later.
  if (code.startsWith('APIGW') && status !== 401 && status !== 403) return { kind: 'unavailable', reason: `${code}: ${message}` };
  const refused = new Map<string, { code: string; message: string }>();
  const list = b['fail_records'] ?? b['failed_records'];
  if (Array.isArray(list)) {
    for (const item of list as unknown[]) {
      if (item === null || typeof item !== 'object') continue;
      const r = item as Record<string, unknown>;
      const sn = text(r['metering_sn']);
      if (sn) refused.set(sn, { code: text(r['error_code']) ?? 'UNKNOWN', message: text(r['error_msg']) ?? '' });
    }
  }
  return { kind: 'answered', status, code, message, refused };
}

/** Builds the client. */
export function createUsageDataClient(o: UsageDataClientOptions) {
  const now = o.now ?? Date.now;
  const nonceOf = o.nonce ?? (() => randomBytes(16).toString('hex'));
  const url = new URL(USAGE_DATA_PATH, o.apiBase).toString();

  /** Pushes up to 1,000 records. Never throws: an unusable outcome is `unavailable`. */
  async function push(records: readonly UsageDataRecord[]): Promise<UsagePushAnswer> {
    const { body, headers } = signUsagePush(records, o.key, String(now()), nonceOf());
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (err) {
      return { kind: 'unavailable', reason: err instanceof Error ? `${err.name}: ${err.message}` : 'fetch failed' };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await res.text());
    } catch {
      return res.status >= 500 || res.status === 429 ? { kind: 'unavailable', reason: `HTTP ${res.status}` } : { kind: 'unavailable', reason: `HTTP ${res.status}: not JSON` };
    }
    return readUsagePushAnswer(res.status, parsed);
  }

  return { push };
}

/** The usage-data client's type. */
export type UsageDataClient = ReturnType<typeof createUsageDataClient>;
