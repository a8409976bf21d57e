import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Buffer } from 'node:buffer';

// Huawei Cloud APIG AK/SK request signing ("SDK-HMAC-SHA256"), used when we call KooGallery's open API.
//
// Written here instead of wrapping `AKSKSigner` from @huaweicloud/huaweicloud-sdk-core, which was inspected
// (v3.1.211, auth/AKSKSigner.js) and is awkward to use standalone:
//  - the payload hash is sha256(JSON.stringify(request.data)), so a string body is hashed with added quotes and a
//    Buffer as {"type":"Buffer",...}; only hand-computed hashes via an extra signed X-Sdk-Content-Sha256 header work;
//  - the clock cannot be injected except by pre-setting X-Sdk-Date, which it re-parses with moment;
//  - query parameters come from a separate `queryParams` object rather than the URL we actually send, and the
//    path goes through the deprecated `url.parse`;
//  - it pulls moment + lodash (and the package root pulls axios/log4js) for about sixty lines of crypto.
// The SDK's output for a bodiless GET (our only use) is cross-checked against `verifyApigSignature` in the tests.

/** The algorithm name that starts the Authorization header and the string to sign. */
export const APIG_SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
/** The header carrying the signing time, `yyyyMMddTHHmmssZ` (UTC). */
export const SDK_DATE_HEADER = 'X-Sdk-Date';

const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A request body as sent on the wire; strings are taken as UTF-8. */
export type SignableBody = Buffer | Uint8Array | string | undefined;

/** Header map as either side sees it: node's IncomingHttpHeaders or a plain record. */
export type HeaderMap = Record<string, string | string[] | number | undefined>;

/** RFC 3986 percent-encoding (unreserved characters kept), as the APIG signers use for path and query. */
function apigUrlEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Decodes a percent-encoded segment; malformed escapes are kept literally (the other side would do the same). */
function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Canonical URI: every path segment decoded then re-encoded, always ending with '/'. */
function canonicalUri(pathname: string): string {
  const path = pathname
    .split('/')
    .map((segment) => apigUrlEncode(safeDecode(segment)))
    .join('/');
  return path.endsWith('/') ? path : path + '/';
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Canonical query: parameters sorted by name (values of a repeated name sorted too), names and values encoded. */
function canonicalQuery(search: URLSearchParams): string {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of search) {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  const pairs: string[] = [];
  for (const name of [...grouped.keys()].sort(byCodeUnit)) {
    for (const value of (grouped.get(name) ?? []).sort(byCodeUnit)) {
      pairs.push(`${apigUrlEncode(name)}=${apigUrlEncode(value)}`);
    }
  }
  return pairs.join('&');
}

/** Hex SHA-256 of the body bytes (the well-known empty hash when there is no body). */
function payloadHash(body: SignableBody): string {
  if (body === undefined || body.length === 0) return EMPTY_BODY_SHA256;
  return createHash('sha256')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('hex');
}

/** Headers lower-cased and trimmed; a repeated header is joined with ',' as HTTP allows. */
function normaliseHeaders(headers: HeaderMap): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : String(raw);
    out.set(name.toLowerCase(), value.trim());
  }
  return out;
}

/** `yyyyMMddTHHmmssZ` in UTC. */
export function formatSdkDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** Parses `yyyyMMddTHHmmssZ`; undefined when malformed. */
export function parseSdkDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The string to sign for one request (exported for test vectors and debugging, never logged with the key). */
export function apigStringToSign(input: {
  method: string;
  url: URL;
  signedHeaders: ReadonlyMap<string, string>;
  body: SignableBody;
  sdkDate: string;
}): { stringToSign: string; signedHeaderNames: string; canonicalRequest: string } {
  const names = [...input.signedHeaders.keys()].sort(byCodeUnit);
  const canonicalHeaders = names.map((n) => `${n}:${input.signedHeaders.get(n) ?? ''}\n`).join('');
  const signedHeaderNames = names.join(';');
  // Joined with '\n' after a block that already ends in '\n': the blank line is part of the APIG format.
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalUri(input.url.pathname),
    canonicalQuery(input.url.searchParams),
    canonicalHeaders,
    signedHeaderNames,
    payloadHash(input.body),
  ].join('\n');
  const hashedRequest = createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
  return {
    stringToSign: `${APIG_SIGNING_ALGORITHM}\n${input.sdkDate}\n${hashedRequest}`,
    signedHeaderNames,
    canonicalRequest,
  };
}

const hmacHex = (key: string, message: string): string => createHmac('sha256', key).update(message, 'utf8').digest('hex');

/** Input of signRequest; `headers` are the ones the caller will send (all of them get signed). */
export interface SignRequestInput {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: SignableBody;
  ak: string;
  sk: string;
  now?: Date;
}

/** Signs a request APIG-style and returns the headers to add: `X-Sdk-Date` and `Authorization` (Host is signed from the URL). */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const url = new URL(String(input.url));
  const sdkDate = formatSdkDate(input.now ?? new Date());
  const signed = normaliseHeaders(input.headers ?? {});
  // fetch derives Host from the URL (host includes a non-default port), so sign exactly that value.
  if (!signed.has('host')) signed.set('host', url.host);
  signed.set('x-sdk-date', sdkDate);
  const { stringToSign, signedHeaderNames } = apigStringToSign({
    method: input.method,
    url,
    signedHeaders: signed,
    body: input.body,
    sdkDate,
  });
  const signature = hmacHex(input.sk, stringToSign);
  return {
    [SDK_DATE_HEADER]: sdkDate,
    Authorization: `${APIG_SIGNING_ALGORITHM} Access=${input.ak}, SignedHeaders=${signedHeaderNames}, Signature=${signature}`,
  };
}

/** Input of verifyApigSignature; `url` may be absolute or a path+query (then the Host header supplies the host). */
export interface VerifyApigSignatureInput {
  method: string;
  url: string;
  headers: HeaderMap;
  body?: SignableBody;
  lookupSecret: (ak: string) => string | undefined;
  nowMs: number;
  /** APIG's own window is 15 minutes. */
  toleranceMs?: number;
}

/** Outcome of verifyApigSignature; the reason never contains secrets. */
export type ApigVerifyResult = { ok: true; ak: string } | { ok: false; reason: string };

const AUTHORIZATION = /^SDK-HMAC-SHA256\s+(.*)$/;

/** Parses `Access=..., SignedHeaders=..., Signature=...` (order and spacing tolerated). */
function parseAuthorization(value: string): { access: string; signedHeaders: string[]; signature: string } | undefined {
  const m = AUTHORIZATION.exec(value.trim());
  if (!m?.[1]) return undefined;
  const fields = new Map<string, string>();
  for (const part of m[1].split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const access = fields.get('access');
  const signedHeaders = fields.get('signedheaders');
  const signature = fields.get('signature');
  if (!access || !signedHeaders || !signature) return undefined;
  return { access, signedHeaders: signedHeaders.split(';').map((h) => h.trim().toLowerCase()), signature };
}

// Shares the canonicalisation with signRequest; the independent checks are the hand-built vector and the
// cross-check against the SDK's AKSKSigner in test/unit/marketplace/huawei-signer.test.ts.
/** Verifies an APIG "SDK-HMAC-SHA256" signature (used by the simulator; constant-time compare). */
export function verifyApigSignature(input: VerifyApigSignatureInput): ApigVerifyResult {
  const headers = normaliseHeaders(input.headers);
  const authorization = headers.get('authorization');
  if (!authorization) return { ok: false, reason: 'missing Authorization header' };
  const parsed = parseAuthorization(authorization);
  if (!parsed) return { ok: false, reason: 'malformed Authorization header' };

  const sdkDate = headers.get('x-sdk-date');
  if (!sdkDate) return { ok: false, reason: 'missing X-Sdk-Date header' };
  const signedAt = parseSdkDate(sdkDate);
  if (!signedAt) return { ok: false, reason: 'malformed X-Sdk-Date header' };
  if (Math.abs(input.nowMs - signedAt.getTime()) > (input.toleranceMs ?? 15 * 60_000)) {
    return { ok: false, reason: 'X-Sdk-Date outside the allowed clock skew' };
  }
  // Without these two signed, a signature could be replayed against another host or detached from its date.
  if (!parsed.signedHeaders.includes('x-sdk-date') || !parsed.signedHeaders.includes('host')) {
    return { ok: false, reason: 'SignedHeaders must include host and x-sdk-date' };
  }

  const secret = input.lookupSecret(parsed.access);
  if (secret === undefined) return { ok: false, reason: 'unknown access key' };

  const signedHeaders = new Map<string, string>();
  for (const name of parsed.signedHeaders) {
    const value = headers.get(name);
    if (value === undefined) return { ok: false, reason: `signed header ${name} is missing` };
    signedHeaders.set(name, value);
  }
  let url: URL;
  try {
    url = new URL(input.url, `http://${headers.get('host') ?? 'localhost'}`);
  } catch {
    return { ok: false, reason: 'malformed request URL' };
  }
  const { stringToSign } = apigStringToSign({ method: input.method, url, signedHeaders, body: input.body, sdkDate });
  const expected = Buffer.from(hmacHex(secret, stringToSign), 'utf8');
  const received = Buffer.from(parsed.signature.toLowerCase(), 'utf8');
  if (expected.length !== received.length || !timingSafeEqual(expected, received)) {
    return { ok: false, reason: 'signature mismatch' };
  }
  return { ok: true, ak: parsed.access };
}
