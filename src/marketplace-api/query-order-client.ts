import { signRequest } from './huawei-signer.js';
import { orderInfoSchema, queryOrderEnvelopeSchema, toMarketplaceOrder, type MarketplaceOrder } from './order-schema.js';

export type {
  MarketplaceOrder,
  MarketplaceOrderLine,
  MarketplaceProduct,
  MarketplaceBuyer,
  MarketplaceOrderType,
  MarketplaceChargingMode,
} from './order-schema.js';

// Our client for KooGallery's Query Order open API (spec §4.1): V2 newInstance/refresh/upgrade only carry order ids,
// so every V2 provisioning step starts here. APIG AK/SK signed; one fallback host on transport-level failures.

/** Path of the Query Order open API below the API base. */
export const QUERY_ORDER_PATH = '/api/mkp-openapi-public/global/v1/order/query';

/** Why a Query Order call failed. */
export const MarketplaceErrorCode = {
  /** Network error, timeout, HTTP 5xx or 429: worth retrying later. */
  Unavailable: 'MARKETPLACE_UNAVAILABLE',
  /** HTTP 401/403 or an APIG authentication error: our AK/SK is wrong or not authorised. */
  AuthRejected: 'MARKETPLACE_AUTH_REJECTED',
  /** The order, or the requested order line, does not exist. */
  OrderNotFound: 'MARKETPLACE_ORDER_NOT_FOUND',
  /** The answer could not be parsed or did not match the documented shape. */
  BadResponse: 'MARKETPLACE_BAD_RESPONSE',
} as const;
/** One of the MarketplaceErrorCode values. */
export type MarketplaceErrorCode = (typeof MarketplaceErrorCode)[keyof typeof MarketplaceErrorCode];

/** A failed Query Order call; messages never contain the SK or request headers. */
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

/** Options of createQueryOrderClient. */
export interface QueryOrderClientOptions {
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

/** The Query Order client. */
export interface QueryOrderClient {
  /** Fetches the order and picks out `orderLineId` (or the first line); throws MarketplaceApiError. */
  queryOrder(orderId: string, orderLineId?: string): Promise<MarketplaceOrder>;
}

// UNCONFIRMED which success code Query Order uses: 'MKT.0000' matches the other mkp-openapi answers (§8),
// '000000' the production-interface codes. Both are accepted.
const SUCCESS_CODES = new Set(['MKT.0000', '000000']);
// UNCONFIRMED: no not-found code is documented. Any other non-success resultCode is read as "no such order"
// except these, which look like server-side faults and are worth retrying.
const isServerFaultCode = (code: string): boolean => /^MKT\.9\d{3}$/.test(code) || code === '000005';
// APIG authentication failures are APIGW.03xx (e.g. APIGW.0301 "Incorrect IAM authentication information").
const isApigAuthCode = (code: string): boolean => /^APIGW\.03\d{2}$/.test(code);

const MAX_MESSAGE_TEXT = 200;
const clip = (s: string): string => (s.length > MAX_MESSAGE_TEXT ? s.slice(0, MAX_MESSAGE_TEXT) + '…' : s);

/** Extracts resultCode/resultMsg or APIG's error_code/error_msg from a JSON answer, if any. */
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

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

const describeError = (err: unknown): string =>
  err instanceof Error ? (err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timed out' : err.message) : String(err);

/** Creates the Query Order client. */
export function createQueryOrderClient(options: QueryOrderClientOptions): QueryOrderClient {
  const { apiBase, fallbackBase, ak, sk, timeoutMs = 3000, fetchImpl = fetch, now = () => new Date() } = options;

  /** One signed attempt against one base; throws MarketplaceApiError (tagged for fallback). */
  async function attempt(base: string, orderId: string, orderLineId: string | undefined): Promise<MarketplaceOrder> {
    const url = new URL(base.replace(/\/+$/, '') + QUERY_ORDER_PATH);
    url.searchParams.set('orderId', orderId);
    if (orderLineId !== undefined) url.searchParams.set('orderLineId', orderLineId);
    const where = `${url.origin}${QUERY_ORDER_PATH}`;
    const headers = signRequest({ method: 'GET', url, ak, sk, now: now() });

    let status: number;
    let text: string;
    try {
      // One signal for the whole exchange, so a server that stalls mid-body also times out.
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await fetchImpl(url, { method: 'GET', headers: { ...headers, Accept: 'application/json' }, signal });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw new MarketplaceApiError(
        MarketplaceErrorCode.Unavailable,
        `Query Order at ${where} failed: ${describeError(err)}`,
        { cause: err },
      );
    }

    const parsed = parseJson(text);
    const { code, message } = parsed.ok ? readCodes(parsed.value) : {};
    const detail = (code ? ` ${code}` : '') + (message ? ` (${message})` : '');

    if (status >= 500 || status === 429) {
      throw new MarketplaceApiError(MarketplaceErrorCode.Unavailable, `Query Order at ${where} answered HTTP ${status}${detail}`, {
        status,
        ...(code ? { resultCode: code } : {}),
      });
    }
    if (status === 401 || status === 403 || (code !== undefined && isApigAuthCode(code))) {
      throw new MarketplaceApiError(
        MarketplaceErrorCode.AuthRejected,
        `Query Order at ${where} rejected our AK/SK signature: HTTP ${status}${detail}`,
        { status, ...(code ? { resultCode: code } : {}) },
      );
    }
    if (!parsed.ok) {
      throw new MarketplaceApiError(MarketplaceErrorCode.BadResponse, `Query Order at ${where} answered HTTP ${status} with non-JSON`, {
        status,
      });
    }
    const envelope = queryOrderEnvelopeSchema.safeParse(parsed.value);
    if (!envelope.success) {
      // An APIG error other than authentication (e.g. APIGW.0101 API not found) lands here: a configuration fault.
      throw new MarketplaceApiError(
        MarketplaceErrorCode.BadResponse,
        `Query Order at ${where} answered HTTP ${status} without a resultCode${detail}`,
        { status, ...(code ? { resultCode: code } : {}) },
      );
    }
    const { resultCode } = envelope.data;
    if (!SUCCESS_CODES.has(resultCode)) {
      const errorCode = isServerFaultCode(resultCode) ? MarketplaceErrorCode.Unavailable : MarketplaceErrorCode.OrderNotFound;
      throw new MarketplaceApiError(errorCode, `Query Order for ${orderId} answered ${resultCode}${message ? ` (${message})` : ''}`, {
        status,
        resultCode,
      });
    }
    if (status < 200 || status >= 300) {
      throw new MarketplaceApiError(MarketplaceErrorCode.BadResponse, `Query Order at ${where} answered HTTP ${status} with a success code`, {
        status,
        resultCode,
      });
    }
    if (envelope.data.orderInfo === undefined || envelope.data.orderInfo === null) {
      throw new MarketplaceApiError(MarketplaceErrorCode.OrderNotFound, `Query Order for ${orderId} succeeded without orderInfo`, {
        status,
        resultCode,
      });
    }
    const info = orderInfoSchema.safeParse(envelope.data.orderInfo);
    if (!info.success) {
      const issues = info.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new MarketplaceApiError(MarketplaceErrorCode.BadResponse, `Query Order for ${orderId} has an invalid orderInfo: ${issues}`, {
        status,
        resultCode,
      });
    }
    const order = toMarketplaceOrder(info.data, orderLineId);
    if (!order) {
      throw new MarketplaceApiError(
        MarketplaceErrorCode.OrderNotFound,
        orderLineId === undefined
          ? `Order ${orderId} has no order lines`
          : `Order ${orderId} has no order line ${orderLineId}`,
        { status, resultCode },
      );
    }
    return order;
  }

  return {
    async queryOrder(orderId, orderLineId) {
      try {
        return await attempt(apiBase, orderId, orderLineId);
      } catch (err) {
        // Only outages (network, timeout, 5xx) move us to the other host; a 429 is a rate limit shared by both,
        // and a business answer (not found, auth, MKT.9xxx) would be the same there.
        const outage =
          err instanceof MarketplaceApiError &&
          err.code === MarketplaceErrorCode.Unavailable &&
          (err.status === undefined || err.status >= 500);
        if (!fallbackBase || !outage) throw err;
        try {
          return await attempt(fallbackBase, orderId, orderLineId);
        } catch (fallbackErr) {
          if (fallbackErr instanceof MarketplaceApiError) {
            throw new MarketplaceApiError(
              fallbackErr.code,
              `${fallbackErr.message} (after primary: ${err.message})`,
              {
                ...(fallbackErr.status !== undefined ? { status: fallbackErr.status } : {}),
                ...(fallbackErr.resultCode !== undefined ? { resultCode: fallbackErr.resultCode } : {}),
                cause: fallbackErr,
              },
            );
          }
          throw fallbackErr;
        }
      }
    },
  };
}
