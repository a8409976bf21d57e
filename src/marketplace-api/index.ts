// Our side of KooGallery's open API (merchant → marketplace): APIG AK/SK signing and the Query Order client.

export {
  APIG_SIGNING_ALGORITHM,
  SDK_DATE_HEADER,
  formatSdkDate,
  parseSdkDate,
  signRequest,
  verifyApigSignature,
  type SignRequestInput,
  type VerifyApigSignatureInput,
  type ApigVerifyResult,
  type HeaderMap,
  type SignableBody,
} from './huawei-signer.js';
export {
  QUERY_ORDER_PATH,
  MarketplaceErrorCode,
  MarketplaceApiError,
  createQueryOrderClient,
  type QueryOrderClient,
  type QueryOrderClientOptions,
} from './query-order-client.js';
export {
  MARKETPLACE_ORDER_TYPES,
  MARKETPLACE_CHARGING_MODES,
  type MarketplaceOrder,
  type MarketplaceOrderLine,
  type MarketplaceProduct,
  type MarketplaceBuyer,
  type MarketplaceOrderType,
  type MarketplaceChargingMode,
} from './order-schema.js';
