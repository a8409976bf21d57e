import type {
  NotificationRequest,
  ServicePeriod,
  SupervisionAction,
  SupervisionInput,
  SupervisionNode,
  SupervisionOutcome,
  SupervisionState,
  SupervisionTerms,
  Validity,
} from './contract.js';
import { addCalendarPeriod } from '../kernel/period.js';

// Pure rules of service supervision (spec §9): which action is allowed at which node, what it changes, when the
// next reminder or automatic acceptance is due, and a period order's validity. No Temporal, no I/O: every rule is
// unit-tested directly; the workflow calls these and performs the side effects.

const DAY_MS = 86_400_000;

/** How many marketplace event ids a supervision remembers (a flow has a handful of events; appeals add a few). */
export const APPLIED_EVENT_MEMORY = 100;

/** The node a new supervision starts at: hardware has no requirement step (§9). */
export function firstNode(kind: SupervisionTerms['kind']): SupervisionNode {
  return kind === 'HARDWARE' ? 'IMPLEMENTATION' : 'REQUIREMENT_SUBMISSION';
}

/** The state a new supervision starts in. */
export function initialSupervisionState(input: SupervisionInput, nowIso: string): SupervisionState {
  return {
    kind: input.terms.kind,
    node: firstNode(input.terms.kind),
    status: 'PROCESSING',
    startedAt: nowIso,
    requirementRejections: 0,
    acceptanceRejections: 0,
    remindersSent: 0,
    appliedEventIds: [],
    seq: 0,
  };
}

/** True once the supervision has ended (accepted or closed): nothing changes it any more. */
export function isEnded(state: SupervisionState): boolean {
  return state.node === 'COMPLETED' || state.node === 'CLOSED';
}

/** True when the action's marketplace event was applied before: a repeat is answered without effect. */
export function isDuplicate(state: SupervisionState, action: SupervisionAction): boolean {
  return action.eventId !== undefined && state.appliedEventIds.includes(action.eventId);
}

const isIso = (s: unknown): s is string => typeof s === 'string' && s.length > 0 && !Number.isNaN(Date.parse(s));
const text = (s: unknown): s is string => typeof s === 'string' && s.trim().length > 0;

/** Why an action has the wrong shape (the API validates too; the workflow must not trust its callers). */
export function shapeProblem(action: unknown): string | undefined {
  if (!action || typeof action !== 'object') return 'action must be an object';
  const a = action as Record<string, unknown>;
  if (a.source !== 'MERCHANT' && a.source !== 'MARKETPLACE' && a.source !== 'OPS') return 'source must be MERCHANT, MARKETPLACE or OPS';
  if (a.at !== undefined && !isIso(a.at)) return 'at must be an ISO-8601 time';
  if (a.eventId !== undefined && !text(a.eventId)) return 'eventId must be a non-empty string';
  if (a.actor !== undefined && !text(a.actor)) return 'actor must be a non-empty string';
  switch (a.type) {
    case 'SUBMIT_REQUIREMENT':
    case 'ACCEPT':
    case 'SIGN_FOR':
    case 'ACTIVATE_LICENSE':
    case 'CONFIRM_REQUIREMENT':
      return undefined;
    case 'REJECT_ACCEPTANCE':
    case 'REJECT_REQUIREMENT':
      return text(a.reason) ? undefined : 'reason is required';
    case 'COMPLETE_IMPLEMENTATION':
      if (!text(a.acceptanceReport)) return 'acceptanceReport (the delivery/acceptance report reference) is required';
      if (a.actualServiceStartTime !== undefined && !isIso(a.actualServiceStartTime)) return 'actualServiceStartTime must be an ISO-8601 time';
      return undefined;
    case 'RECORD_SHIPMENT':
      return text(a.carrier) && text(a.trackingNumber) ? undefined : 'carrier and trackingNumber are required';
    case 'OPEN_APPEAL':
      if (a.openedBy !== 'USER' && a.openedBy !== 'MERCHANT') return 'openedBy must be USER or MERCHANT';
      return text(a.reason) ? undefined : 'reason is required';
    case 'DECIDE_APPEAL':
      return a.decision === 'RESUME' || a.decision === 'ACCEPT' || a.decision === 'CLOSE' ? undefined : 'decision must be RESUME, ACCEPT or CLOSE';
    default:
      return `unknown action type ${String(a.type).slice(0, 40)}`;
  }
}

/**
 * Why the action is not allowed now, or undefined when it is. The reason is what the merchant reads in the 409:
 * it names the current node and what the node waits for.
 */
export function refusalOf(state: SupervisionState, action: SupervisionAction): string | undefined {
  const shape = shapeProblem(action);
  if (shape) return shape;
  if (isDuplicate(state, action)) return undefined;
  if (isEnded(state)) return `supervision already ${state.node === 'COMPLETED' ? 'completed' : 'closed'} (${state.outcome ?? state.node})`;
  if (state.appeal) {
    if (action.type === 'DECIDE_APPEAL') return undefined;
    return `frozen by an appeal opened by the ${state.appeal.openedBy.toLowerCase()} at ${state.appeal.openedAt}; only an appeal decision is accepted`;
  }
  const at = `at node ${state.node}`;
  switch (action.type) {
    case 'SUBMIT_REQUIREMENT':
      return state.node === 'REQUIREMENT_SUBMISSION' ? undefined : `no requirement is awaited ${at}`;
    case 'CONFIRM_REQUIREMENT':
    case 'REJECT_REQUIREMENT':
      return state.node === 'REQUIREMENT_CONFIRMATION' ? undefined : `no submitted requirement to confirm or reject ${at}`;
    case 'COMPLETE_IMPLEMENTATION':
      if (state.kind === 'HARDWARE') return 'a hardware order is completed by recording its shipment (RECORD_SHIPMENT)';
      return state.node === 'IMPLEMENTATION' ? undefined : `implementation cannot be completed ${at}`;
    case 'RECORD_SHIPMENT':
      if (state.kind !== 'HARDWARE') return 'only hardware orders are shipped; complete the implementation instead';
      return state.node === 'IMPLEMENTATION' ? undefined : `a shipment can only be recorded at node IMPLEMENTATION, not ${state.node}`;
    case 'SIGN_FOR':
      if (state.kind !== 'HARDWARE') return 'only hardware orders are signed for';
      if (state.node !== 'USER_ACCEPTANCE') return `no shipment awaits sign-for ${at}`;
      return state.signFor ? `already signed for at ${state.signFor.at}` : undefined;
    case 'ACCEPT':
    case 'REJECT_ACCEPTANCE':
      return state.node === 'USER_ACCEPTANCE' ? undefined : `nothing awaits the user's acceptance ${at}`;
    case 'ACTIVATE_LICENSE':
      return undefined;
    case 'OPEN_APPEAL':
      return undefined;
    case 'DECIDE_APPEAL':
      return 'no appeal is open';
  }
}

/** Records an applied event id (bounded). */
function remember(state: SupervisionState, eventId: string | undefined): SupervisionState {
  if (eventId === undefined) return state;
  return { ...state, appliedEventIds: [...state.appliedEventIds.filter((id) => id !== eventId), eventId].slice(-APPLIED_EVENT_MEMORY) };
}

/**
 * Applies an allowed action (call `refusalOf` first). `nowIso` is when it arrived; the action's own `at` (the
 * source's event time) wins where the rules depend on it: acceptance time, sign-for time.
 */
export function applyAction(state: SupervisionState, action: SupervisionAction, nowIso: string, period?: ServicePeriod): SupervisionState {
  const at = action.at ?? nowIso;
  const s = remember(state, action.eventId);
  switch (action.type) {
    case 'SUBMIT_REQUIREMENT':
      return {
        ...s,
        node: 'REQUIREMENT_CONFIRMATION',
        requirement: { submittedAt: at, attachments: [...(action.attachments ?? [])], ...(action.note ? { note: action.note } : {}) },
      };
    case 'CONFIRM_REQUIREMENT':
      return { ...s, node: 'IMPLEMENTATION' };
    case 'REJECT_REQUIREMENT':
      return { ...s, node: 'REQUIREMENT_SUBMISSION', requirementRejections: s.requirementRejections + 1, lastRejectionReason: action.reason };
    case 'COMPLETE_IMPLEMENTATION':
      return {
        ...s,
        node: 'USER_ACCEPTANCE',
        implementation: {
          completedAt: at,
          acceptanceReport: action.acceptanceReport,
          ...(action.actualServiceStartTime ? { actualServiceStartTime: new Date(action.actualServiceStartTime).toISOString() } : {}),
        },
      };
    case 'RECORD_SHIPMENT':
      return {
        ...s,
        node: 'USER_ACCEPTANCE',
        shipment: {
          carrier: action.carrier,
          trackingNumber: action.trackingNumber,
          ...(action.remark ? { remark: action.remark } : {}),
          deliveryDocuments: [...(action.deliveryDocuments ?? [])],
          shippedAt: at,
        },
      };
    case 'SIGN_FOR':
      return { ...s, signFor: { at, phoneMismatch: phonesDiffer(action.consigneePhone, action.userPhone) } };
    case 'ACCEPT':
      return complete(s, 'ACCEPTED', at, period);
    case 'REJECT_ACCEPTANCE': {
      // Back to the merchant; a hardware order is shipped again, so the old sign-for no longer counts.
      const { signFor: _dropped, ...rest } = s;
      return { ...rest, node: 'IMPLEMENTATION', acceptanceRejections: s.acceptanceRejections + 1, lastRejectionReason: action.reason };
    }
    case 'ACTIVATE_LICENSE':
      return complete(s, 'LICENSE_ACTIVATED', at, period);
    case 'OPEN_APPEAL':
      return { ...s, appeal: { openedBy: action.openedBy, openedAt: at, reason: action.reason, ...(action.evidence ? { evidence: [...action.evidence] } : {}) } };
    case 'DECIDE_APPEAL': {
      const { appeal: _decided, ...rest } = s;
      if (action.decision === 'ACCEPT') return complete(rest, 'APPEAL_ACCEPTED', at, period);
      if (action.decision === 'CLOSE') return close(rest, 'APPEAL_CLOSED', at);
      // Resumed: a running auto-acceptance clock restarts from now (the flow was frozen, not the user's time).
      return rest.signFor ? { ...rest, signFor: { ...rest.signFor, clockFrom: at } } : rest;
    }
  }
}

/** Ends the supervision with acceptance; a period order's validity is computed from it. */
export function complete(state: SupervisionState, outcome: SupervisionOutcome, acceptedAt: string, period?: ServicePeriod): SupervisionState {
  const validity = period ? computeValidity(period, acceptedAt, state.implementation?.actualServiceStartTime) : undefined;
  return { ...state, node: 'COMPLETED', status: 'COMPLETED', outcome, acceptedAt, endedAt: acceptedAt, ...(validity ? { validity } : {}) };
}

/** Ends the supervision without acceptance (released, unsubscribed, or closed by an appeal decision). */
export function close(state: SupervisionState, outcome: SupervisionOutcome, atIso: string): SupervisionState {
  const { appeal: _gone, ...rest } = state;
  return { ...rest, node: 'CLOSED', status: 'CLOSED', outcome, endedAt: atIso };
}

/**
 * When the next reminder is due (ms), or undefined when none will be: orders unaccepted for `reminderAfterDays`
 * remind the merchant and the account manager, then every `reminderIntervalDays` (counted from the last one sent,
 * so a worker that was down for months sends one reminder, not a burst).
 */
export function nextReminderDueAt(state: SupervisionState, terms: SupervisionTerms): number | undefined {
  if (isEnded(state)) return undefined;
  const first = Date.parse(state.startedAt) + terms.reminderAfterDays * DAY_MS;
  if (state.remindersSent === 0 || state.lastReminderAt === undefined) return first;
  return Math.max(first, Date.parse(state.lastReminderAt) + Math.max(terms.reminderIntervalDays, 1) * DAY_MS);
}

/**
 * When a hardware order is accepted automatically (ms): `autoAcceptDays` after the courier's sign-for, never when
 * the consignee's phone differs from the user's, never while an appeal is open (the flow is frozen; a resumed
 * appeal restarts the clock).
 */
export function autoAcceptDueAt(state: SupervisionState, terms: SupervisionTerms): number | undefined {
  if (state.kind !== 'HARDWARE' || state.node !== 'USER_ACCEPTANCE' || !state.signFor || state.signFor.phoneMismatch || state.appeal) return undefined;
  return Date.parse(state.signFor.clockFrom ?? state.signFor.at) + terms.autoAcceptDays * DAY_MS;
}

/** Records a reminder sent now. */
export function reminderSent(state: SupervisionState, nowIso: string): SupervisionState {
  return { ...state, remindersSent: state.remindersSent + 1, lastReminderAt: nowIso };
}

/** The reminder notifications (merchant and account manager), keyed so a retried activity enqueues them once. */
export function reminderNotifications(
  workflowId: string,
  input: Pick<SupervisionInput, 'key' | 'instanceId' | 'customerId'>,
  state: SupervisionState,
  nowMs: number,
): NotificationRequest[] {
  const n = state.remindersSent + 1;
  const days = Math.floor((nowMs - Date.parse(state.startedAt)) / DAY_MS);
  const subject = `Order ${input.key.orderId} unaccepted for ${days} days`;
  const body =
    `Supervised order ${input.key.orderId} (instance ${input.instanceId}) has waited ${days} days at node ${state.node}` +
    `${state.appeal ? ' with an open appeal' : ''}. It is never closed automatically; please bring it to acceptance.`;
  const data = { node: state.node, days, reminder: n, ...(input.customerId ? { customerId: input.customerId } : {}) };
  return (['MERCHANT', 'ACCOUNT_MANAGER'] as const).map((recipient) => ({
    dedupeKey: `${workflowId}:reminder:${n}:${recipient}`,
    kind: 'SUPERVISION_REMINDER',
    recipient,
    orderId: input.key.orderId,
    instanceId: input.instanceId,
    subject,
    body,
    data,
  }));
}

/** The notices of an automatic acceptance (merchant and customer). */
export function autoAcceptNotifications(workflowId: string, input: Pick<SupervisionInput, 'key' | 'instanceId'>, state: SupervisionState): NotificationRequest[] {
  return (['MERCHANT', 'CUSTOMER'] as const).map((recipient) => ({
    dedupeKey: `${workflowId}:auto-accepted:${recipient}`,
    kind: 'SUPERVISION_AUTO_ACCEPTED',
    recipient,
    orderId: input.key.orderId,
    instanceId: input.instanceId,
    subject: `Order ${input.key.orderId} accepted automatically`,
    body: `Hardware order ${input.key.orderId} was accepted automatically ${state.acceptedAt ?? ''}, 10 days after the courier's sign-for.`,
    data: { signedForAt: state.signFor?.at ?? '', acceptedAt: state.acceptedAt ?? '' },
  }));
}

/**
 * A period order's validity (§9 [S69]): from the actual service start time when the merchant recorded one, else
 * from acceptance. Bought 1 Jan for 1 month and accepted 1 Feb: 1 Feb–1 Mar without a start time, 1 Jan–1 Feb with it.
 */
export function computeValidity(period: ServicePeriod, acceptedAt: string, actualServiceStartTime?: string): Validity | undefined {
  const start = actualServiceStartTime ?? acceptedAt;
  const end = addPeriod(start, period.periodType, period.periodNumber);
  if (end === undefined) return undefined;
  return { start: new Date(start).toISOString(), end, startedFrom: actualServiceStartTime ? 'ACTUAL_START_TIME' : 'ACCEPTANCE' };
}

/** `startIso` plus `n` periods, as ISO text (calendar months clamp to the month's last day; see addCalendarPeriod). */
export function addPeriod(startIso: string, periodType: string, n: number): string | undefined {
  const start = new Date(startIso);
  if (Number.isNaN(start.getTime()) || !Number.isFinite(n) || n < 0) return undefined;
  return addCalendarPeriod(start, periodType, n)?.toISOString();
}

/**
 * True when both phones are known and differ (only then is automatic acceptance withheld). Country code 86 and
 * punctuation are ignored; a masked number (`138****5678`, as logistics data often shows) is compared on the
 * digits both sides reveal.
 */
export function phonesDiffer(consigneePhone: string | undefined, userPhone: string | undefined): boolean {
  const norm = (p: string | undefined) => (p ?? '').replace(/[^\d*]/g, '').replace(/^(?:00)?86(?=[\d*]{11}$)/, '');
  const a = norm(consigneePhone);
  const b = norm(userPhone);
  if (a.replace(/\*/g, '') === '' || b.replace(/\*/g, '') === '') return false;
  if (a.length !== b.length) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== '*' && b[i] !== '*' && a[i] !== b[i]) return true;
  return false;
}

/** One line for the Temporal UI's current details. */
export function describeSupervision(state: SupervisionState, orderId: string): string {
  const parts = [
    `**${state.node}** (${state.status}) order \`${orderId}\``,
    state.kind === 'HARDWARE' ? 'hardware' : undefined,
    state.appeal ? `APPEAL by ${state.appeal.openedBy.toLowerCase()}: ${state.appeal.reason}` : undefined,
    state.shipment ? `shipped ${state.shipment.carrier} ${state.shipment.trackingNumber}` : undefined,
    state.signFor ? `signed for ${state.signFor.at}${state.signFor.phoneMismatch ? ' (phone mismatch: no auto-acceptance)' : ''}` : undefined,
    state.remindersSent ? `${state.remindersSent} reminder(s)` : undefined,
    state.outcome ? `outcome ${state.outcome}` : undefined,
    state.validity ? `valid ${state.validity.start} – ${state.validity.end}` : undefined,
  ];
  return parts.filter(Boolean).join(' · ');
}
