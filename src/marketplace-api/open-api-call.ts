import { signRequest } from './huawei-signer.js';

// One call to KooGallery's open API (merchant → marketplace): APIG AK/SK signed (SDK-HMAC-SHA256), bounded in time,
// with one fallback host on outages, and every failure that is not the API's own answer classified. Query Order and
// the license-code APIs (license/activate, license/heartbeat) read their answers on top of this.

/** Why an open-API call failed. */
export const MarketplaceErrorCode = {
  /** Network error, timeout, HTTP 5xx or 429: worth retrying later. */
  Unavailable: 'MARKETPLACE_UNAVAILABLE',
  /** HTTP 401/403 or an APIG authentication error: our AK/SK is wrong or not authorised. */
  AuthRejected: 'MARKETPLACE_AUTH_REJECTED',
  /** The order, or the requested order line, does not exist. */
  OrderNotFound: 'MARKETPLACE_ORDER_NOT_FOUND',
  /** The answer could not be parsed or did not match the documented shape. */
  BadResponse: 'MARKETPLACE_BAD_RESPONSE',
  /** license/activate or license/heartbeat refused the license code (unknown, used up, released...). */
  LicenseCodeRefused: 'MARKETPLACE_LICENSE_CODE_REFUSED',
} as const;
/** One of the MarketplaceErrorCode values. */
export type MarketplaceErrorCode = (typeof MarketplaceErrorCode)[keyof typeof MarketplaceErrorCode];

/** A failed open-API call; messages never contain the SK or request headers. */
export class MarketplaceApiError extends Error {
  readonly code: MarketplaceErrorCode;
  /** True only for MARKETPLACE_UNAVAILABLE. */
  readonly retryable: boolean;
  /** HTTP status, when an answer arrived. */
  readonly status: number | undefined;
  /** The marketplace's resultCode / APIG error_code, when the answer carried one. */
  readonly resultCode: string | undefined;

  constructor(
    code: MarketplaceErrorCode,
    message: string,
    details: { status?: number; resultCode?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MarketplaceApiError';
    this.code = code;
    this.retryable = code === MarketplaceErrorCode.Unavailable;
    this.status = details.status;
    this.resultCode = details.resultCode;
  }
}

/** Where and as whom the open API is called. */
export interface OpenApiCallerOptions {
  /** e.g. https://mkt.myhuaweicloud.com */
  apiBase: string;
  /** e.g. https://mkt.myhuaweicloud.cn; tried once when the primary is unreachable, times out or answers 5xx. */
  fallbackBase?: string;
  ak: string;
  sk: string;
  /** Per attempt, covering headers and body. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
  /** Clock for the signature date (tests). */
  now?: () => Date;
}

/** A JSON answer that was neither an outage nor an authentication failure: the API's own, to be read by the caller. */
export interface OpenApiAnswer {
  readonly status: number;
  readonly json: unknown;
  /** resultCode or APIG/open-API error_code, when the answer carried one. */
  readonly code?: string;
  /** resultMsg / error_msg, clipped. */
  readonly message?: string;
  /** `origin + path`, for messages. */
  readonly where: string;
}

/** One request. */
export interface OpenApiRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Sent as JSON (and signed as those bytes). */
  readonly body?: unknown;
  /** What is called, for messages ("Query Order", "license/activate"). */
  readonly label: string;
}

// APIG authentication failures are APIGW.03xx (e.g. APIGW.0301 "Incorrect IAM authentication information").
const isApigAuthCode = (code: string): boolean => /^APIGW\.03\d{2}$/.test(code);

const MAX_MESSAGE_TEXT = 200;
const clip = (s: string): string => (s.length > MAX_MESSAGE_TEXT ? s.slice(0, MAX_MESSAGE_TEXT) + '…' : s);

/** Extracts resultCode/resultMsg or the error_code/error_msg of APIG and the license APIs from a JSON answer. */
function readCodes(json: unknown): { code?: string; message?: string } {
  if (json === null || typeof json !== 'object') return {};
  const o = json as Record<string, unknown>;
  const code = o['resultCode'] ?? o['error_code'];
  const message = o['resultMsg'] ?? o['error_msg'];
  return {
    ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
    ...(typeof message === 'string' ? { message: clip(message) } : {}),
  };
}

const describeError = (err: unknown): string =>
  err instanceof Error ? (err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timed out' : err.message) : String(err);

/** Creates the caller. */
export function createOpenApiCaller(options: OpenApiCallerOptions) {
  const { apiBase, fallbackBase, ak, sk, timeoutMs = 3000, fetchImpl = fetch, now = () => new Date() } = options;

  /** One signed attempt against one base. */
  async function attempt(base: string, req: OpenApiRequest): Promise<OpenApiAnswer> {
    const url = new URL(base.replace(/\/+$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const where = `${url.origin}${req.path}`;
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const contentType: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json' };
    const headers = signRequest({ method: req.method, url, ak, sk, now: now(), headers: contentType, ...(body !== undefined ? { body } : {}) });

    let status: number;
    let text: string;
    try {
      // One signal for the whole exchange, so a server that stalls mid-body also times out.
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await fetchImpl(url, { method: req.method, headers: { ...contentType, ...headers, Accept: 'application/json' }, signal, ...(body !== undefined ? { body } : {}) });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw new MarketplaceApiError(MarketplaceErrorCode.Unavailable, `${req.label} at ${where} failed: ${describeError(err)}`, { cause: err });
    }

    let json: unknown;
    let parsed = true;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      parsed = false;
    }
    const { code, message } = parsed ? readCodes(json) : {};
    const detail = (code ? ` ${code}` : '') + (message ? ` (${message})` : '');

    if (status >= 500 || status === 429) {
      throw new MarketplaceApiError(MarketplaceErrorCode.Unavailable, `${req.label} at ${where} answered HTTP ${status}${detail}`, {
        status,
        ...(code ? { resultCode: code } : {}),
      });
    }
    if (status === 401 || status === 403 || (code !== undefined && isApigAuthCode(code))) {
      throw new MarketplaceApiError(MarketplaceErrorCode.AuthRejected, `${req.label} at ${where} rejected our AK/SK signature: HTTP ${status}${detail}`, {
        status,
        ...(code ? { resultCode: code } : {}),
      });
    }
    if (!parsed) {
      throw new MarketplaceApiError(MarketplaceErrorCode.BadResponse, `${req.label} at ${where} answered HTTP ${status} with non-JSON`, { status });
    }
    return { status, json, where, ...(code !== undefined ? { code } : {}), ...(message !== undefined ? { message } : {}) };
  }

  return {
    /**
     * Calls the primary host, then the fallback on an outage, and hands the answer to `read` (which throws
     * MarketplaceApiError for answers it refuses). Business answers are never retried on the other host.
     */
    async call<T>(req: OpenApiRequest, read: (answer: OpenApiAnswer) => T): Promise<T> {
      try {
        return read(await attempt(apiBase, req));
      } catch (err) {
        // Only outages (network, timeout, 5xx) move us to the other host; a 429 is a rate limit shared by both,
        // and a business answer (not found, auth, MKT.9xxx) would be the same there.
        const outage = err instanceof MarketplaceApiError && err.code === MarketplaceErrorCode.Unavailable && (err.status === undefined || err.status >= 500);
        if (!fallbackBase || !outage) throw err;
        try {
          return read(await attempt(fallbackBase, req));
        } catch (fallbackErr) {
          if (!(fallbackErr instanceof MarketplaceApiError)) throw fallbackErr;
          throw new MarketplaceApiError(fallbackErr.code, `${fallbackErr.message} (after primary: ${err.message})`, {
            ...(fallbackErr.status !== undefined ? { status: fallbackErr.status } : {}),
            ...(fallbackErr.resultCode !== undefined ? { resultCode: fallbackErr.resultCode } : {}),
            cause: fallbackErr,
          });
        }
      }
    },
  };
}

/** The caller's type. */
export type OpenApiCaller = ReturnType<typeof createOpenApiCaller>;
