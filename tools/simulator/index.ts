// The KooGallery simulator: the marketplace's open API (Query Order) and a marketplace stand-in that calls our
// production interface, plus named end-to-end scenarios.

export {
  OrderBook,
  OrderBookError,
  MOCK_ORDER_IDS,
  addPeriod,
  addSupervisionEventsInputSchema,
  createOrderInputSchema,
  supervisionEventInputSchema,
  firstLineId,
  generateOrderId,
  type AddSupervisionEventsInput,
  type CreateOrderInput,
  type SimSupervision,
  type SimSupervisionEvent,
  type SimSupervisionEventInput,
  type OrderBookOptions,
  type SimOrderInfo,
  type SimOrderLine,
  type SimProductInfo,
} from './order-book.js';
export {
  SIM_QUERY_ORDER_CODES,
  SimFaults,
  createOpenApiServer,
  type OpenApiServer,
  type OpenApiServerOptions,
  type RecordedCall,
} from './open-api-server.js';
export {
  ProductionCallError,
  createProductionClient,
  encodeQuery,
  formatV1TimeStamp,
  ORDER_NOTIFICATION_PATH,
  type NewInstanceOutcome,
  type NewInstanceV2Options,
  type OrderNotificationInput,
  type ProductionAnswer,
  type ProductionClient,
  type ProductionClientOptions,
  type RawRequest,
  type RetryOptions,
  type V2CallOptions,
} from './production-client.js';
export {
  SCENARIOS,
  SCENARIO_DESCRIPTIONS,
  type Scenario,
  type ScenarioContext,
  type ScenarioOrderSource,
  type ScenarioReport,
  type ScenarioStep,
} from './scenarios.js';
export { createSimAdminClient, type SimAdminClient } from './sim-admin-client.js';
export { LicenseCodeBook, SIM_LICENSE_CODE_ERRORS, type CreateLicenseCodeInput, type SimLicenseCode } from './license-codes.js';
