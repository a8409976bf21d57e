import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderKey } from '../kernel/order-key.js';
import type { OrderSettlementState } from '../settlement/contract.js';
import type { SupervisionEnded, SupervisionNode, SupervisionOutcome, SupervisionTerms, Validity } from '../supervision/contract.js';

// The order workflow's contract: its id scheme, its input and state types, and every message it accepts.
// Shared by the API (which starts and updates orders) and the workflow (which implements them). Bundle-safe:
// nothing here may import Node modules. Message and type names are wire contracts: never rename them while
// runs are open.

/** Default task queue of the order worker. */
export const ORDER_TASK_QUEUE = 'koogallery-orders';

/** The registered workflow type name (the API starts it by name, never by importing workflow code). */
export const ORDER_WORKFLOW_TYPE = 'orderWorkflow';

/** Which production interface created the order. */
export type InterfaceVersion = 'V1' | 'V2';

/** KooGallery charging modes (V2 names; V1's numeric codes are mapped onto them). */
export type ChargingMode = 'PERIOD' | 'ON_DEMAND' | 'ONE_TIME' | 'ON_DEMAND_PKG';

/** The order's lifecycle phase (also the `OrderPhase` search attribute). */
export type OrderPhase = 'PROVISIONING' | 'ACTIVE' | 'FROZEN' | 'RELEASED' | 'FAILED' | 'REJECTED';

/** Why an instance is frozen. Expiry and arrears are the marketplace's; both must be lifted to run again. */
export type FreezeReason = 'EXPIRED' | 'MARKETPLACE';

/** The business key of one order line: what makes two purchases "the same purchase" (defined in src/kernel, shared with supervision). */
export type { OrderKey };

/**
 * Workflow id for an order line (V2: orderId+orderLineId; V1: orderId; V1 on-demand: orderId+productId, because
 * one on-demand order with several billing items yields one instance per item). Readable in the Temporal UI.
 */
export function orderWorkflowId(key: OrderKey): string {
  switch (key.kind) {
    case 'v2-line':
      // Line ids usually repeat the order id (`CS…-000001`); keep both anyway, the line id alone is not documented unique.
      return `order-${key.orderId}-line-${key.orderLineId}`;
    case 'v1-order':
      return `order-${key.orderId}`;
    case 'v1-on-demand':
      return `order-${key.orderId}-product-${key.productId}`;
  }
}

/** The commercial facts of an order line, from the V1 request or from Query Order (V2). */
export interface OrderDetails {
  readonly customerId?: string;
  readonly customerName?: string;
  readonly productId?: string;
  readonly skuCode?: string;
  readonly chargingMode?: ChargingMode;
  readonly periodType?: string;
  readonly periodNumber?: number;
  /** ISO-8601; absent for one-time and on-demand orders. */
  readonly expireTime?: string;
  readonly trial: boolean;
  /** Quantities and other pricing attributes (amount, diskSize, bandWidth, linearValue). */
  readonly spec: Readonly<Record<string, string | number>>;
  readonly orderAmount?: string;
  /**
   * Set for products listed with service supervision (是否涉及服务监管 = 是), from the merchant's product catalogue
   * at purchase: the order then runs a supervision workflow until acceptance (§9).
   */
  readonly supervision?: SupervisionTerms;
  /**
   * The buyer's mobilePhone/email ({mobilePhone?, email?} JSON) sealed with the data-encryption key: V1 sends them
   * encrypted in newInstance, V2 in Query Order's buyerInfo. Workflow histories are stored as they are, so the plain
   * text never enters a workflow; only the provisioning activity opens it, for the tenant's admin account.
   */
  readonly buyerContactsSealed?: string;
}

/** The order's view of its supervision (the supervision workflow holds the whole story). */
export interface OrderSupervision {
  readonly workflowId: string;
  /** Set when the supervision ended. */
  readonly node?: SupervisionNode;
  readonly outcome?: SupervisionOutcome;
  readonly acceptedAt?: string;
  readonly validity?: Validity;
}

/** What the workflow is started with. */
export interface OrderWorkflowInput {
  readonly key: OrderKey;
  readonly interfaceVersion: InterfaceVersion;
  /** The answer to the marketplace: the first businessId received for this order (or a test order's earlier one). */
  readonly instanceId: string;
  readonly testOrder: boolean;
  /** V1 pushes the order inline; V2 leaves it undefined and the workflow pulls it with Query Order. */
  readonly details?: OrderDetails;
  /** Set when continuing as new. */
  readonly carried?: OrderState;
  /** The instance's last transition seq when a released test order is bought again (its new run continues it). */
  readonly seqBase?: number;
  /**
   * Continue as new once history reaches this many events even if the server has not suggested it yet
   * (tests use a small value; production leaves it to the server's suggestion).
   */
  readonly historyEventLimit?: number;
  /**
   * Settle this order (issue #15): each billable event becomes a settlement line, and the workflow completes only
   * once released and every line is paid or written off. Set by the API from SETTLEMENT_ORDER_LINES.
   */
  readonly settlement?: boolean;
}

/** The workflow's whole state: small, typed, carried across continue-as-new. */
export interface OrderState {
  readonly instanceId: string;
  readonly key: OrderKey;
  readonly interfaceVersion: InterfaceVersion;
  readonly testOrder: boolean;
  readonly phase: OrderPhase;
  readonly details?: OrderDetails;
  readonly freezeReasons: readonly FreezeReason[];
  /** Order ids of renewals/upgrades/refunds already applied, newest last (bounded): repeats are no-ops. */
  readonly appliedOrderIds: readonly string[];
  /** Monotonic transition counter; the read model ignores writes with an older seq. */
  readonly seq: number;
  /** Result code of a purchase that ended without an instance (FAILED / REJECTED). */
  readonly failureCode?: string;
  readonly failureReason?: string;
  readonly frontEndUrl?: string;
  /** Present once a supervised order has started its supervision workflow. */
  readonly supervision?: OrderSupervision;
  /** The order's settlement lines (orders started with `settlement`). */
  readonly settlement?: OrderSettlementState;
}

/** The marketplace result codes the workflow itself decides (the API owns the rest). */
export type WorkflowResultCode = '000000' | '000003' | '000004' | '000005' | '000100' | '000101' | '000102' | '000105';

/** The answer to a marketplace operation, decided by the workflow. */
export interface OperationResult {
  readonly code: WorkflowResultCode;
  readonly instanceId: string;
  readonly phase: OrderPhase;
  readonly message?: string;
}

/** A purchase (newInstance), possibly repeated. */
export interface PurchaseRequest {
  readonly businessId: string;
  readonly testOrder: boolean;
}

/** A renewal, renewal refund, trial conversion or renewal-with-change (refreshInstance). */
export interface RefreshRequest {
  readonly orderId: string;
  readonly orderLineId?: string;
  readonly scene: 'RENEWAL' | 'UNSUBSCRIBE_RENEWAL_PERIOD' | 'TRIAL_TO_FORMAL' | 'RENEWAL_CHANGE';
  /** ISO-8601 new expiry. */
  readonly expireTime: string;
  readonly productId?: string;
  readonly periodType?: string;
  readonly periodNumber?: number;
  readonly orderAmount?: string;
  readonly testOrder: boolean;
}

/** Freeze or unfreeze (V1 expireInstance / instanceStatus, V2 updateInstanceStatus). */
export interface StatusRequest {
  readonly action: 'FREEZE' | 'UNFREEZE';
  readonly reason: FreezeReason;
  readonly testOrder: boolean;
}

/** A paid spec change (V1 upgrade inline; V2 upgradeInstance pulls the new spec with Query Order). */
export interface UpgradeRequest {
  readonly orderId: string;
  readonly orderLineId?: string;
  readonly skuCode?: string;
  readonly productId?: string;
  readonly spec?: Readonly<Record<string, string | number>>;
  readonly testOrder: boolean;
}

/** Release (delete) the instance. */
export interface ReleaseRequest {
  readonly orderId?: string;
  readonly testOrder: boolean;
}

/** Create or confirm the instance; answers when provisioning has finished (or failed). Used with update-with-start. */
export const purchaseUpdate = defineUpdate<OperationResult, [PurchaseRequest]>('purchase');
/** Apply a renewal / refund / trial conversion / renewal change. */
export const refreshUpdate = defineUpdate<OperationResult, [RefreshRequest]>('refresh');
/** Freeze or unfreeze. */
export const setStatusUpdate = defineUpdate<OperationResult, [StatusRequest]>('setStatus');
/** Change the spec. */
export const upgradeUpdate = defineUpdate<OperationResult, [UpgradeRequest]>('upgrade');
/** Release the instance and end the order. */
export const releaseUpdate = defineUpdate<OperationResult, [ReleaseRequest]>('release');
/** The order's supervision ended (accepted or closed); sent by the supervision workflow. */
export const supervisionEndedSignal = defineSignal<[SupervisionEnded]>('supervisionEnded');
/** The order's current state. */
export const getOrderQuery = defineQuery<OrderState>('getOrder');

/** What an activity writes to the read model at a transition. */
export interface TransitionRecord {
  readonly workflowId: string;
  readonly instanceId: string;
  readonly interfaceVersion: InterfaceVersion;
  readonly key: OrderKey;
  readonly phase: OrderPhase;
  readonly event: string;
  readonly seq: number;
  readonly testOrder: boolean;
  readonly details?: OrderDetails;
  readonly resultCode?: string;
  /** Set once, at provisioning; later transitions leave it as it is. */
  readonly access?: ProvisionedAccess;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** What provisioning returns to the workflow: never a plain secret (workflow histories are stored as they are). */
export interface ProvisionedAccess {
  readonly frontEndUrl: string;
  readonly adminUrl?: string;
  readonly memo?: string;
  /** {userName, password} sealed with the data-encryption key. */
  readonly credentialsSealed: string;
}

/** Failure types raised by activities and matched by the workflow (strings cross process boundaries; classes do not). */
export const OrderFailureType = {
  /** Query Order says the order or line does not exist. */
  OrderNotFound: 'MARKETPLACE_ORDER_NOT_FOUND',
  /** The marketplace rejected our AK/SK: retrying will not help until configuration changes. */
  MarketplaceAuthRejected: 'MARKETPLACE_AUTH_REJECTED',
  /** The provisioner refused the request for good (bad spec, quota); the purchase fails. */
  ProvisioningRejected: 'PROVISIONING_REJECTED',
  /** The request cannot be applied (e.g. missing fields the order needs). */
  InvalidOrder: 'INVALID_ORDER',
  /** The provisioner refused the buyer's mobile number for the admin account (missing, invalid or already used). */
  MobileRejected: 'PROVISIONING_MOBILE_REJECTED',
  /** The provisioner refused the buyer's e-mail address for the admin account (missing, invalid or already used). */
  EmailRejected: 'PROVISIONING_EMAIL_REJECTED',
  /** The tenant's access does not fit the marketplace's appInfo limits (a URL, the encrypted credentials, the memo). */
  AppInfoTooLong: 'APP_INFO_TOO_LONG',
} as const;

/** Activity failure types that retrying cannot fix (fed to the retry policy's nonRetryableErrorTypes). */
// An AK/SK rejection is deliberately retryable: once ops fix the credentials the order proceeds instead of failing.
export const NON_RETRYABLE_FAILURE_TYPES: string[] = [
  OrderFailureType.OrderNotFound,
  OrderFailureType.ProvisioningRejected,
  OrderFailureType.InvalidOrder,
  OrderFailureType.MobileRejected,
  OrderFailureType.EmailRejected,
  OrderFailureType.AppInfoTooLong,
];

/** The result code of a purchase that failed with an activity failure of this type (anything else: 000005). */
export function purchaseFailureCode(failureType: string | undefined): WorkflowResultCode {
  switch (failureType) {
    case OrderFailureType.ProvisioningRejected:
      return '000100';
    case OrderFailureType.MobileRejected:
      return '000101';
    case OrderFailureType.EmailRejected:
      return '000102';
    default:
      return '000005';
  }
}

/** The validation error type an update validator throws (the API maps it to a result code). */
export const ORDER_REJECTION_TYPE = 'ORDER_OPERATION_REJECTED';

/** What Temporal says about an order's workflow. */
export type WorkflowView =
  /** Open and answering `getOrderQuery`, or completed with its final state as result (a closed order's last state). */
  | { readonly kind: 'state'; readonly open: boolean; readonly status: string; readonly state: OrderState }
  /** Closed without a state to compare (failed, terminated, cancelled, timed out). */
  | { readonly kind: 'closed'; readonly status: string }
  /** No execution with this workflow id. */
  | { readonly kind: 'missing' }
  /** Could not be asked now (no worker polling, timeout, server unreachable): not a finding. */
  | { readonly kind: 'unavailable'; readonly reason: string };
