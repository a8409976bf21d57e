import type { SupervisionAction } from '../supervision/contract.js';
import type { MarketplaceOrder, MarketplaceSupervisionEvent } from './order-schema.js';

// Turns the supervision events Query Order reports (our assumed shape, see order-schema.ts) into supervision
// actions from the marketplace. Pure: no I/O, no clock. The event type names are OUR ASSUMPTION (UNCONFIRMED),
// with a few cheap aliases; an unknown type is ignored, never guessed.

/** The marketplace supervision event types we act on (assumed names, UNCONFIRMED). */
export const MARKETPLACE_SUPERVISION_EVENT_TYPES = [
  'REQUIREMENT_SUBMITTED',
  'ACCEPTED',
  'ACCEPTANCE_REJECTED',
  'SIGNED_FOR',
  'LICENSE_ACTIVATED',
  'APPEAL_OPENED',
  'APPEAL_DECIDED',
] as const;
/** One of MARKETPLACE_SUPERVISION_EVENT_TYPES. */
export type MarketplaceSupervisionEventType = (typeof MARKETPLACE_SUPERVISION_EVENT_TYPES)[number];

const TYPE_ALIASES: Readonly<Record<string, MarketplaceSupervisionEventType>> = {
  REQUIREMENT_SUBMITTED: 'REQUIREMENT_SUBMITTED',
  SUBMIT_REQUIREMENT: 'REQUIREMENT_SUBMITTED',
  REQUIREMENT_SUBMIT: 'REQUIREMENT_SUBMITTED',
  ACCEPTED: 'ACCEPTED',
  ACCEPT: 'ACCEPTED',
  ACCEPTANCE_CONFIRMED: 'ACCEPTED',
  CONFIRM_ACCEPTANCE: 'ACCEPTED',
  ACCEPTANCE_REJECTED: 'ACCEPTANCE_REJECTED',
  REJECT_ACCEPTANCE: 'ACCEPTANCE_REJECTED',
  ACCEPTANCE_REJECT: 'ACCEPTANCE_REJECTED',
  SIGNED_FOR: 'SIGNED_FOR',
  SIGN_FOR: 'SIGNED_FOR',
  COURIER_SIGNED: 'SIGNED_FOR',
  LICENSE_ACTIVATED: 'LICENSE_ACTIVATED',
  ACTIVATE_LICENSE: 'LICENSE_ACTIVATED',
  LICENSE_ACTIVATE: 'LICENSE_ACTIVATED',
  APPEAL_OPENED: 'APPEAL_OPENED',
  OPEN_APPEAL: 'APPEAL_OPENED',
  APPEAL_SUBMITTED: 'APPEAL_OPENED',
  APPEAL_DECIDED: 'APPEAL_DECIDED',
  DECIDE_APPEAL: 'APPEAL_DECIDED',
  APPEAL_DECISION: 'APPEAL_DECIDED',
};

const MERCHANT_SIDE = new Set(['MERCHANT', 'ISV', 'SELLER', 'PARTNER', 'SERVICE_PROVIDER']);

const DECISIONS: Readonly<Record<string, 'RESUME' | 'ACCEPT' | 'CLOSE'>> = {
  RESUME: 'RESUME',
  RESUMED: 'RESUME',
  CONTINUE: 'RESUME',
  ACCEPT: 'ACCEPT',
  ACCEPTED: 'ACCEPT',
  PASS: 'ACCEPT',
  CLOSE: 'CLOSE',
  CLOSED: 'CLOSE',
  TERMINATE: 'CLOSE',
  TERMINATED: 'CLOSE',
};

/** Stand-in text when the marketplace gives no reason (the contract requires one). */
export const NO_REASON_GIVEN = 'no reason given by the marketplace';

const MAX_EVENT_ID = 128;

/** The dedupe key of an event that carries no id: `${eventType}:${eventTime}` (canonical type, ISO time). */
export function derivedSupervisionEventId(eventType: string, eventTime: string): string {
  return `${eventType}:${eventTime}`.slice(0, MAX_EVENT_ID);
}

/** An event that produced no action, and why (for logs). */
export interface IgnoredSupervisionEvent {
  readonly eventType: string;
  readonly eventId?: string;
  readonly reason: string;
}

/** supervisionActionsFrom with the events it ignored. */
export interface SupervisionMapping {
  readonly actions: SupervisionAction[];
  readonly ignored: IgnoredSupervisionEvent[];
}

/**
 * Maps the order's supervision events to marketplace actions, oldest first. With `orderLineId`, only events for
 * that line or for the whole order (no line) are taken. Events are deduplicated by event id (first wins).
 */
export function mapSupervisionEvents(order: MarketplaceOrder, orderLineId?: string): SupervisionMapping {
  const actions: SupervisionAction[] = [];
  const ignored: IgnoredSupervisionEvent[] = [];
  const seen = new Set<string>();
  for (const event of order.supervision?.events ?? []) {
    if (orderLineId !== undefined && event.orderLineId !== undefined && event.orderLineId !== orderLineId) continue;
    const type = TYPE_ALIASES[event.eventType];
    const eventId = (event.eventId ?? derivedSupervisionEventId(type ?? event.eventType, event.eventTime)).slice(0, MAX_EVENT_ID);
    if (!type) {
      ignored.push({ eventType: event.eventType, eventId, reason: 'unknown event type' });
      continue;
    }
    if (seen.has(eventId)) continue;
    const action = toAction(type, event, order, { source: 'MARKETPLACE', eventId, at: event.eventTime });
    if (typeof action === 'string') {
      ignored.push({ eventType: event.eventType, eventId, reason: action });
      continue;
    }
    seen.add(eventId);
    actions.push(action);
  }
  // ISO strings from toISOString compare chronologically; sort is stable, so same-time events keep their order.
  actions.sort((a, b) => (a.at! < b.at! ? -1 : a.at! > b.at! ? 1 : 0));
  return { actions, ignored };
}

/** The marketplace actions in the order's supervision events, oldest first (see mapSupervisionEvents). */
export function supervisionActionsFrom(order: MarketplaceOrder, orderLineId?: string): SupervisionAction[] {
  return mapSupervisionEvents(order, orderLineId).actions;
}

type Base = { readonly source: 'MARKETPLACE'; readonly eventId: string; readonly at: string };

/** The action for one event, or why there is none. */
function toAction(
  type: MarketplaceSupervisionEventType,
  e: MarketplaceSupervisionEvent,
  order: MarketplaceOrder,
  base: Base,
): SupervisionAction | string {
  switch (type) {
    case 'REQUIREMENT_SUBMITTED':
      return {
        ...base,
        type: 'SUBMIT_REQUIREMENT',
        ...(e.attachments ? { attachments: e.attachments } : {}),
        ...(e.note !== undefined ? { note: e.note } : {}),
      };
    case 'ACCEPTED':
      return { ...base, type: 'ACCEPT' };
    case 'ACCEPTANCE_REJECTED':
      return { ...base, type: 'REJECT_ACCEPTANCE', reason: e.reason ?? e.note ?? NO_REASON_GIVEN };
    case 'SIGNED_FOR': {
      // UNCONFIRMED whether Query Order's buyerInfo.mobilePhone is plain text (V1 newInstance sends it AES-encrypted,
      // spec §2.4). Compared as received: a ciphertext never equals a phone, which only withholds auto-acceptance.
      const userPhone = order.buyerInfo?.mobilePhone;
      return {
        ...base,
        type: 'SIGN_FOR',
        ...(e.consigneePhone !== undefined ? { consigneePhone: e.consigneePhone } : {}),
        ...(userPhone !== undefined ? { userPhone } : {}),
      };
    }
    case 'LICENSE_ACTIVATED':
      return { ...base, type: 'ACTIVATE_LICENSE' };
    case 'APPEAL_OPENED':
      // The order notification relays the user's side, so an appeal without a recognisable opener is the user's.
      return {
        ...base,
        type: 'OPEN_APPEAL',
        openedBy: e.openedBy !== undefined && MERCHANT_SIDE.has(e.openedBy) ? 'MERCHANT' : 'USER',
        reason: e.reason ?? e.note ?? NO_REASON_GIVEN,
        ...(e.attachments ? { evidence: e.attachments } : {}),
      };
    case 'APPEAL_DECIDED': {
      // Never guessed: a wrong decision would complete or close the order.
      const decision = e.decision !== undefined ? DECISIONS[e.decision] : undefined;
      if (!decision) return e.decision === undefined ? 'appeal decision missing' : 'unknown appeal decision';
      return { ...base, type: 'DECIDE_APPEAL', decision, ...(e.note !== undefined ? { note: e.note } : {}) };
    }
  }
}
