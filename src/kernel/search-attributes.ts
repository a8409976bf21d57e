import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Custom search attributes: the columns ops filter on in the Temporal UI. The dev-server start script,
// docker-compose and the workflow upserts all read this one list; a name here is a wire contract.

/** Marketplace order id (the purchase order for an instance). */
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
/** Marketplace order line id (V2). */
export const OrderLineIdKey = defineSearchAttributeKey('OrderLineId', SearchAttributeType.KEYWORD);
/** The instanceId we answered the marketplace with. */
export const InstanceIdKey = defineSearchAttributeKey('InstanceId', SearchAttributeType.KEYWORD);
/** The buyer's Huawei Cloud account id. */
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
/** Product (spec) id. */
export const ProductIdKey = defineSearchAttributeKey('ProductId', SearchAttributeType.KEYWORD);
/** PERIOD | ON_DEMAND | ONE_TIME | ON_DEMAND_PKG. */
export const ChargingModeKey = defineSearchAttributeKey('ChargingMode', SearchAttributeType.KEYWORD);
/** The order's lifecycle phase: PROVISIONING, ACTIVE, FROZEN, RELEASED, FAILED. */
export const OrderPhaseKey = defineSearchAttributeKey('OrderPhase', SearchAttributeType.KEYWORD);
/** The service-supervision node, for supervised orders. */
export const SupervisionNodeKey = defineSearchAttributeKey('SupervisionNode', SearchAttributeType.KEYWORD);
/** Settlement state of the order. */
export const SettlementStateKey = defineSearchAttributeKey('SettlementState', SearchAttributeType.KEYWORD);
/** True for marketplace debug/dial-test orders (testFlag=1); settlement ignores them. */
export const TestOrderKey = defineSearchAttributeKey('TestOrder', SearchAttributeType.BOOL);
/** Which production-interface version created the order: V1 or V2. */
export const InterfaceVersionKey = defineSearchAttributeKey('InterfaceVersion', SearchAttributeType.KEYWORD);
// License products (issue #13). SQL visibility has 10 Keyword slots and the ones above take all of them; these are an
// Int and a KeywordList, which have 3 slots each.
/** How many licenses a license instance has issued (1 for an activated license code). */
export const LicenseCountKey = defineSearchAttributeKey('LicenseCount', SearchAttributeType.INT);
/** The device fingerprints licensed (latest first, bounded; a long one as `sha256:<hex>`), to find a device's instance. */
export const LicenseFingerprintsKey = defineSearchAttributeKey('LicenseFingerprints', SearchAttributeType.KEYWORD_LIST);

/** Every custom search attribute, for registration with a server. */
export const ALL_SEARCH_ATTRIBUTE_KEYS = [
  OrderIdKey,
  OrderLineIdKey,
  InstanceIdKey,
  CustomerIdKey,
  ProductIdKey,
  ChargingModeKey,
  OrderPhaseKey,
  SupervisionNodeKey,
  SettlementStateKey,
  TestOrderKey,
  InterfaceVersionKey,
  LicenseCountKey,
  LicenseFingerprintsKey,
] as const;

/** Name → CLI type (`temporal server start-dev --search-attribute Name=Type`). */
export function searchAttributeCliSpecs(): string[] {
  const cliType: Record<string, string> = { KEYWORD: 'Keyword', BOOL: 'Bool', INT: 'Int', TEXT: 'Text', DATETIME: 'Datetime', DOUBLE: 'Double', KEYWORD_LIST: 'KeywordList' };
  return ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => `${k.name}=${cliType[k.type] ?? 'Keyword'}`);
}
