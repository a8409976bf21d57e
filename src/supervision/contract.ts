import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderKey } from '../kernel/order-key.js';

// The service-supervision workflow's contract (spec §9): its id scheme, input, state, and every message it
// accepts. Shared by the order workflow (which starts it), the API (merchant actions, marketplace notifications)
// and the workflow itself. Bundle-safe. Message, node and type names are wire contracts: never rename them while
// runs are open.

/** The registered workflow type name. */
export const SUPERVISION_WORKFLOW_TYPE = 'supervisionWorkflow';

/**
 * Which flow a supervised product follows. GENERAL: requirement → confirmation → implementation → acceptance
 * (License, manual service, app orchestration, data files, SaaS with offline implementation). HARDWARE: starts at
 * implementation (shipment) and can be auto-accepted 10 days after the courier's sign-for.
 */
export type SupervisionKind = 'GENERAL' | 'HARDWARE';

/** The supervision node (also the `SupervisionNode` search attribute). */
export type SupervisionNode =
  /** Waiting for the user to submit the requirement (提交需求). */
  | 'REQUIREMENT_SUBMISSION'
  /** Waiting for the merchant to confirm or reject the requirement (商家确认需求). */
  | 'REQUIREMENT_CONFIRMATION'
  /** The merchant implements the service or ships the hardware (服务商实施服务). */
  | 'IMPLEMENTATION'
  /** Waiting for the user to accept (用户确认验收). */
  | 'USER_ACCEPTANCE'
  /** Accepted (by the user, automatically, by license activation or by an appeal decision): 已完成. */
  | 'COMPLETED'
  /** Ended without acceptance: unsubscribed/released, or closed by an appeal decision. */
  | 'CLOSED';

/** Every node, in flow order. */
export const SUPERVISION_NODES: readonly SupervisionNode[] = [
  'REQUIREMENT_SUBMISSION',
  'REQUIREMENT_CONFIRMATION',
  'IMPLEMENTATION',
  'USER_ACCEPTANCE',
  'COMPLETED',
  'CLOSED',
];

/** What the marketplace shows for the order: 处理中 until acceptance, 已完成 after. */
export type SupervisionStatus = 'PROCESSING' | 'COMPLETED' | 'CLOSED';

/** How a supervision ended. */
export type SupervisionOutcome = 'ACCEPTED' | 'AUTO_ACCEPTED' | 'LICENSE_ACTIVATED' | 'APPEAL_ACCEPTED' | 'APPEAL_CLOSED' | 'RELEASED';

/** Who performed an action: the merchant (ops API), the marketplace (order notification), or ops entering either side. */
export type ActionSource = 'MERCHANT' | 'MARKETPLACE' | 'OPS';

/** The rules an order was sold under, stamped on the order at purchase (from configuration). */
export interface SupervisionTerms {
  readonly kind: SupervisionKind;
  /** Reminders start once an order has been unaccepted this long (the 2024-03-05 notice: 180 days). */
  readonly reminderAfterDays: number;
  /** Then repeat at this interval while it stays unaccepted. */
  readonly reminderIntervalDays: number;
  /** Hardware: accepted automatically this long after the courier's sign-for (§9: 10 days). */
  readonly autoAcceptDays: number;
}

/** Supervision workflow id: one per order line, derived from the order workflow's id. */
export function supervisionWorkflowId(orderWorkflowId: string): string {
  return `supervision-${orderWorkflowId}`;
}

/** A period order's service period, for validity computed at acceptance. */
export interface ServicePeriod {
  /** `year` | `month` | `week` | `day` | `hour` (case-insensitive). */
  readonly periodType: string;
  readonly periodNumber: number;
}

/** What the supervision workflow is started with. */
export interface SupervisionInput {
  readonly orderWorkflowId: string;
  readonly instanceId: string;
  readonly key: OrderKey;
  readonly terms: SupervisionTerms;
  readonly testOrder: boolean;
  readonly customerId?: string;
  readonly productId?: string;
  /** Set for period orders: validity starts at acceptance unless an actual service start time was recorded. */
  readonly period?: ServicePeriod;
  /** Set when continuing as new. */
  readonly carried?: SupervisionState;
  /** Continue as new at this history length even before the server suggests it (tests use a small value). */
  readonly historyEventLimit?: number;
}

/** An open appeal (申诉): the flow is frozen until it is decided. */
export interface Appeal {
  readonly openedBy: 'USER' | 'MERCHANT';
  readonly openedAt: string;
  readonly reason: string;
  readonly evidence?: readonly string[];
}

/** The merchant's shipment of a hardware order. */
export interface Shipment {
  readonly carrier: string;
  readonly trackingNumber: string;
  readonly remark?: string;
  readonly deliveryDocuments: readonly string[];
  readonly shippedAt: string;
}

/** The courier's sign-for of a hardware shipment. */
export interface SignFor {
  readonly at: string;
  /** True when the logistics data's consignee phone differs from the user's: no automatic acceptance then. */
  readonly phoneMismatch: boolean;
  /**
   * Where the automatic-acceptance clock counts from: the sign-for, or the end of an appeal that froze the flow
   * (the user gets the whole period again after a freeze, rather than an acceptance the moment it thaws).
   */
  readonly clockFrom?: string;
}

/** The validity of a period order, computed at acceptance. */
export interface Validity {
  readonly start: string;
  readonly end: string;
  /** Which rule gave the start: the recorded actual service start time, or the acceptance time. */
  readonly startedFrom: 'ACTUAL_START_TIME' | 'ACCEPTANCE';
}

/** The supervision's whole state: small, typed, carried across continue-as-new. */
export interface SupervisionState {
  readonly kind: SupervisionKind;
  readonly node: SupervisionNode;
  readonly status: SupervisionStatus;
  /** ISO time the supervision started (the reminder clock counts from here). */
  readonly startedAt: string;
  readonly appeal?: Appeal;
  readonly requirement?: { readonly submittedAt: string; readonly attachments: readonly string[]; readonly note?: string };
  readonly requirementRejections: number;
  readonly implementation?: { readonly completedAt: string; readonly acceptanceReport?: string; readonly actualServiceStartTime?: string };
  readonly shipment?: Shipment;
  readonly signFor?: SignFor;
  readonly acceptanceRejections: number;
  readonly lastRejectionReason?: string;
  readonly acceptedAt?: string;
  readonly validity?: Validity;
  readonly outcome?: SupervisionOutcome;
  readonly endedAt?: string;
  readonly remindersSent: number;
  readonly lastReminderAt?: string;
  /** Event ids of marketplace notifications already applied (bounded): a repeated notification is a no-op. */
  readonly appliedEventIds: readonly string[];
  /** Monotonic transition counter; the read model ignores writes with an older seq. */
  readonly seq: number;
}

interface ActionBase {
  readonly source: ActionSource;
  /**
   * Who entered the action: the name of the ops operator whose token authenticated the call. Absent for the
   * marketplace's events, and in histories recorded before operators were named (so they replay unchanged).
   */
  readonly actor?: string;
  /** Dedupe key of a marketplace event (notifications are delivered at least once). */
  readonly eventId?: string;
  /** ISO time the event happened at its source (e.g. the courier's sign-for); defaults to when it arrives. */
  readonly at?: string;
}

/** Every action on a supervision; the validator refuses one that is not allowed at the current node. */
export type SupervisionAction =
  // user side (the marketplace's order notification, or ops entering it)
  | (ActionBase & { readonly type: 'SUBMIT_REQUIREMENT'; readonly attachments?: readonly string[]; readonly note?: string })
  | (ActionBase & { readonly type: 'ACCEPT' })
  | (ActionBase & { readonly type: 'REJECT_ACCEPTANCE'; readonly reason: string })
  | (ActionBase & { readonly type: 'SIGN_FOR'; readonly consigneePhone?: string; readonly userPhone?: string })
  | (ActionBase & { readonly type: 'ACTIVATE_LICENSE' })
  // merchant side (the ops API)
  | (ActionBase & { readonly type: 'CONFIRM_REQUIREMENT' })
  | (ActionBase & { readonly type: 'REJECT_REQUIREMENT'; readonly reason: string })
  | (ActionBase & { readonly type: 'COMPLETE_IMPLEMENTATION'; readonly acceptanceReport: string; readonly actualServiceStartTime?: string })
  | (ActionBase & {
      readonly type: 'RECORD_SHIPMENT';
      readonly carrier: string;
      readonly trackingNumber: string;
      readonly remark?: string;
      readonly deliveryDocuments?: readonly string[];
    })
  // either side, and the marketplace's operations manager's decision
  | (ActionBase & { readonly type: 'OPEN_APPEAL'; readonly openedBy: 'USER' | 'MERCHANT'; readonly reason: string; readonly evidence?: readonly string[] })
  | (ActionBase & { readonly type: 'DECIDE_APPEAL'; readonly decision: 'RESUME' | 'ACCEPT' | 'CLOSE'; readonly note?: string });

/** Every action type. */
export type SupervisionActionType = SupervisionAction['type'];

/** Every action type, for validation at the API's edge. */
export const SUPERVISION_ACTION_TYPES: readonly SupervisionActionType[] = [
  'SUBMIT_REQUIREMENT',
  'ACCEPT',
  'REJECT_ACCEPTANCE',
  'SIGN_FOR',
  'ACTIVATE_LICENSE',
  'CONFIRM_REQUIREMENT',
  'REJECT_REQUIREMENT',
  'COMPLETE_IMPLEMENTATION',
  'RECORD_SHIPMENT',
  'OPEN_APPEAL',
  'DECIDE_APPEAL',
];

/** The reply to an action: the state after it (an already-applied event id answers the state as it is). */
export interface SupervisionActionResult {
  readonly applied: boolean;
  readonly state: SupervisionState;
}

/** Apply a merchant, user or ops action; the validator refuses an action not allowed at the current node. */
export const supervisionActionUpdate = defineUpdate<SupervisionActionResult, [SupervisionAction]>('supervisionAction');
/** The order was released or unsubscribed: the supervision ends without acceptance. Sent by the order workflow. */
export const closeSupervisionSignal = defineSignal<[{ readonly reason: 'RELEASED'; readonly orderId?: string }]>('closeSupervision');
/** The supervision's current state. */
export const getSupervisionQuery = defineQuery<SupervisionState>('getSupervision');

/** What the supervision workflow tells its order when it ends (so the order's expiry follows a period's validity). */
export interface SupervisionEnded {
  readonly supervisionWorkflowId: string;
  readonly node: SupervisionNode;
  readonly outcome: SupervisionOutcome;
  readonly acceptedAt?: string;
  readonly validity?: Validity;
}

/** The validation error type of a refused action (the API maps it to 409 with its message as the reason). */
export const SUPERVISION_REJECTION_TYPE = 'SUPERVISION_ACTION_REFUSED';

/** What an activity writes to the supervision read model at a transition. */
export interface SupervisionRecord {
  readonly workflowId: string;
  readonly orderWorkflowId: string;
  readonly instanceId: string;
  readonly key: OrderKey;
  readonly testOrder: boolean;
  readonly customerId?: string;
  readonly productId?: string;
  readonly event: string;
  /** The ops operator who entered the action that made this transition (see ActionBase.actor). */
  readonly actor?: string;
  readonly state: SupervisionState;
}

// What the supervision asks the notification context to send (a notificationWorkflow per message and channel).
export type { NotificationRecipient, NotificationRequest } from '../notifications/contract.js';

/**
 * The supervision terms for a product, or undefined when it is not supervised: the port through which the orders
 * context asks at purchase (built from configuration by catalogue.ts's createSupervisionCatalogue).
 */
export type SupervisionCatalogue = (productId: string | undefined) => SupervisionTerms | undefined;
