import { createOpenApiCaller, MarketplaceApiError, MarketplaceErrorCode, type OpenApiAnswer, type OpenApiCallerOptions } from './open-api-call.js';
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

export { MarketplaceApiError, MarketplaceErrorCode } from './open-api-call.js';

/** Options of createQueryOrderClient: where and as whom the open API is called. */
export type QueryOrderClientOptions = OpenApiCallerOptions;

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

/** Creates the Query Order client. */
export function createQueryOrderClient(options: QueryOrderClientOptions): QueryOrderClient {
  const caller = createOpenApiCaller(options);

  /** Reads one Query Order answer (transport, authentication and JSON already checked by the caller). */
  function read(a: OpenApiAnswer, orderId: string, orderLineId: string | undefined): MarketplaceOrder {
    const { status, where, code, message } = a;
    const detail = (code ? ` ${code}` : '') + (message ? ` (${message})` : '');
    const envelope = queryOrderEnvelopeSchema.safeParse(a.json);
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
    queryOrder(orderId, orderLineId) {
      const query = { orderId, ...(orderLineId !== undefined ? { orderLineId } : {}) };
      return caller.call({ method: 'GET', path: QUERY_ORDER_PATH, query, label: 'Query Order' }, (a) => read(a, orderId, orderLineId));
    },
  };
}
