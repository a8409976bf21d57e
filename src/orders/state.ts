import type {
  FreezeReason,
  OperationResult,
  OrderDetails,
  OrderPhase,
  OrderState,
  OrderWorkflowInput,
  RefreshRequest,
  StatusRequest,
  WorkflowResultCode,
} from './contract.js';

// Pure transitions of an order's state: no Temporal, no I/O, so every rule here is unit-tested directly.
// The workflow calls these and performs the side effects they ask for.

/** How many applied order ids an order remembers for idempotency (renewals are at most monthly). */
export const APPLIED_ORDER_MEMORY = 200;

/** The state a new order starts in. */
export function initialOrderState(input: OrderWorkflowInput): OrderState {
  return {
    instanceId: input.instanceId,
    key: input.key,
    interfaceVersion: input.interfaceVersion,
    testOrder: input.testOrder,
    phase: 'PROVISIONING',
    ...(input.details ? { details: input.details } : {}),
    freezeReasons: [],
    appliedOrderIds: [],
    // A released test order bought again continues its instance's counter, or the read model would ignore it.
    seq: input.seqBase ?? 0,
  };
}

/** True once the instance no longer exists for the marketplace (or never came to be). */
export function isGone(phase: OrderPhase): boolean {
  return phase === 'RELEASED' || phase === 'REJECTED' || phase === 'FAILED';
}

/** The answer for an operation in the current state. */
export function answer(state: OrderState, code: WorkflowResultCode, message?: string): OperationResult {
  return { code, instanceId: state.instanceId, phase: state.phase, ...(message ? { message } : {}) };
}

/** The answer to a purchase once provisioning has settled. */
export function purchaseAnswer(state: OrderState): OperationResult {
  switch (state.phase) {
    case 'ACTIVE':
    case 'FROZEN':
    case 'RELEASED':
      // A repeat of a purchase whose instance was later released still names that instance (idempotent newInstance).
      return answer(state, '000000');
    case 'REJECTED':
    case 'FAILED':
      return answer(state, (state.failureCode as WorkflowResultCode | undefined) ?? '000005', state.failureReason);
    case 'PROVISIONING':
      return answer(state, '000004');
  }
}

/** The answer to an operation on an instance that is gone: test orders succeed (dial tests replay them). */
export function goneAnswer(state: OrderState, testOrder: boolean): OperationResult {
  // UNCONFIRMED how the marketplace's twice-daily dial tests treat a released debug instance; the spec insists
  // they must always succeed, so debug calls on a gone instance answer success without any effect.
  if (testOrder || state.testOrder) return answer(state, '000000', 'test order: no effect');
  return answer(state, '000003', 'instance no longer exists');
}

/** Records an applied order id (bounded), so repeats of the same renewal/upgrade are no-ops. */
export function rememberOrder(state: OrderState, orderId: string): OrderState {
  const ids = [...state.appliedOrderIds.filter((id) => id !== orderId), orderId];
  return { ...state, appliedOrderIds: ids.slice(-APPLIED_ORDER_MEMORY) };
}

/** The phase that follows from the freeze reasons (only for an instance that exists). */
export function phaseFromFreezeReasons(reasons: readonly FreezeReason[]): OrderPhase {
  return reasons.length > 0 ? 'FROZEN' : 'ACTIVE';
}

/** What the provisioner must do after a transition. */
export type TenantEffect = 'none' | 'freeze' | 'resume';

function effectOf(before: OrderPhase, after: OrderPhase): TenantEffect {
  if (before === 'ACTIVE' && after === 'FROZEN') return 'freeze';
  if (before === 'FROZEN' && after === 'ACTIVE') return 'resume';
  return 'none';
}

/** Applies a renewal, renewal refund, trial conversion or renewal change (the spec change itself is the workflow's). */
export function applyRefresh(state: OrderState, req: RefreshRequest, nowMs: number): { state: OrderState; effect: TenantEffect } {
  const details: OrderDetails = {
    ...(state.details ?? { trial: false, spec: {} }),
    expireTime: req.expireTime,
    ...(req.productId ? { productId: req.productId } : {}),
    ...(req.periodType ? { periodType: req.periodType } : {}),
    ...(req.periodNumber !== undefined ? { periodNumber: req.periodNumber } : {}),
    ...(req.scene === 'TRIAL_TO_FORMAL' ? { trial: false } : {}),
  };
  // A renewal that moves expiry into the future lifts an expiry freeze; a marketplace freeze (arrears) stays.
  const expiresInFuture = Date.parse(req.expireTime) > nowMs;
  const freezeReasons = expiresInFuture ? state.freezeReasons.filter((r) => r !== 'EXPIRED') : state.freezeReasons;
  const phase = phaseFromFreezeReasons(freezeReasons);
  const next = rememberOrder({ ...state, details, freezeReasons, phase }, req.orderId);
  return { state: next, effect: effectOf(state.phase, phase) };
}

/** Applies a freeze or unfreeze. */
export function applyStatus(state: OrderState, req: StatusRequest, nowMs: number): { state: OrderState; effect: TenantEffect } {
  let reasons: FreezeReason[];
  if (req.action === 'FREEZE') {
    // V2 says only FREEZE (expiry, arrears or violation alike); an instance past its expiry is taken as expired,
    // so that its renewal lifts the freeze even if the marketplace never sends UNFREEZE.
    const expired = state.details?.expireTime !== undefined && Date.parse(state.details.expireTime) <= nowMs;
    const reason: FreezeReason = req.reason === 'EXPIRED' || expired ? 'EXPIRED' : 'MARKETPLACE';
    reasons = state.freezeReasons.includes(reason) ? [...state.freezeReasons] : [...state.freezeReasons, reason];
  } else {
    // V2 UNFREEZE and V1 NORMAL come from the marketplace and lift every freeze it imposed.
    reasons = [];
  }
  const phase = phaseFromFreezeReasons(reasons);
  return { state: { ...state, freezeReasons: reasons, phase }, effect: effectOf(state.phase, phase) };
}

/** One line for the Temporal UI's current details: what this order is now. */
export function describeOrder(state: OrderState): string {
  const d = state.details;
  const parts = [
    `**${state.phase}** instance \`${state.instanceId}\``,
    d?.chargingMode ? `${d.chargingMode}${d.periodType ? ` ${d.periodNumber ?? ''} ${d.periodType}` : ''}` : undefined,
    d?.productId ? `product ${d.productId}${d.skuCode ? ` / ${d.skuCode}` : ''}` : undefined,
    d?.customerId ? `customer ${d.customerId}` : undefined,
    d?.expireTime ? `expires ${d.expireTime}` : undefined,
    d?.trial ? 'trial' : undefined,
    state.freezeReasons.length ? `frozen: ${state.freezeReasons.join(', ')}` : undefined,
    state.supervision ? `supervision ${state.supervision.outcome ?? 'in progress'}` : undefined,
    state.testOrder ? 'TEST ORDER' : undefined,
    state.failureReason ? `failure: ${state.failureReason}` : undefined,
  ];
  return parts.filter(Boolean).join(' · ');
}
