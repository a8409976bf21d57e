import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FreezeReason, OrderPhase, OrderState, RefreshRequest, StatusRequest } from '../../../src/orders/contract.js';
import {
  APPLIED_ORDER_MEMORY,
  answer,
  applyRefresh,
  applyStatus,
  describeOrder,
  goneAnswer,
  initialOrderState,
  isGone,
  phaseFromFreezeReasons,
  purchaseAnswer,
  rememberOrder,
} from '../../../src/orders/state.js';
import { anOrderDetails, aV1OrderInput, aV2OrderInput } from '../../support/factories.js';

// The order's pure transitions, without Temporal: every rule the workflow relies on, plus a property over
// arbitrary sequences of marketplace operations.

const NOW = Date.parse('2030-06-01T00:00:00.000Z');
const PAST = '2030-05-01T00:00:00.000Z';
const FUTURE = '2031-06-01T00:00:00.000Z';
const LATER_FUTURE = '2032-06-01T00:00:00.000Z';

const DETAILS = anOrderDetails({ expireTime: FUTURE, orderAmount: '99.000' });

const V2_INPUT = aV2OrderInput('CS2211181819B4LVS', { instanceId: 'biz-first-1' });

/** A provisioned order (phase consistent with its freeze reasons unless overridden). */
function liveState(overrides: Partial<OrderState> = {}): OrderState {
  const reasons = overrides.freezeReasons ?? [];
  return {
    ...initialOrderState({ ...V2_INPUT, details: DETAILS }),
    phase: reasons.length > 0 ? 'FROZEN' : 'ACTIVE',
    seq: 2,
    ...overrides,
  };
}

function renewal(overrides: Partial<RefreshRequest> = {}): RefreshRequest {
  return { orderId: 'CS-RENEW-1', scene: 'RENEWAL', expireTime: LATER_FUTURE, testOrder: false, ...overrides };
}

const freeze = (reason: FreezeReason = 'MARKETPLACE'): StatusRequest => ({ action: 'FREEZE', reason, testOrder: false });
const unfreeze: StatusRequest = { action: 'UNFREEZE', reason: 'MARKETPLACE', testOrder: false };

describe('initialOrderState', () => {
  it('when a V2 order starts without details, then it is PROVISIONING with seq 0, no freeze and nothing applied', () => {
    const state = initialOrderState(V2_INPUT);
    expect(state).toEqual({
      instanceId: 'biz-first-1',
      key: { kind: 'v2-line', orderId: 'CS2211181819B4LVS', orderLineId: 'CS2211181819B4LVS-000001' },
      interfaceVersion: 'V2',
      testOrder: false,
      phase: 'PROVISIONING',
      freezeReasons: [],
      appliedOrderIds: [],
      seq: 0,
    });
    expect(Object.keys(state)).not.toContain('details');
  });

  it('when a V1 test order starts with inline details, then it carries them and the test flag', () => {
    const state = initialOrderState(aV1OrderInput('CS1906666666ABCDE', { instanceId: 'biz-v1', testOrder: true, details: DETAILS }));
    expect(state.details).toEqual(DETAILS);
    expect(state.testOrder).toBe(true);
    expect(state.interfaceVersion).toBe('V1');
    expect(state.key).toEqual({ kind: 'v1-order', orderId: 'CS1906666666ABCDE' });
    expect(state.phase).toBe('PROVISIONING');
    expect(state.seq).toBe(0);
  });

  it('when the input carries earlier state (continue-as-new), then the initial state still ignores it', () => {
    // The workflow picks `carried` itself; initialOrderState must build a fresh state from the input fields only.
    const state = initialOrderState({ ...V2_INPUT, carried: liveState({ seq: 40 }) });
    expect(state.seq).toBe(0);
    expect(state.phase).toBe('PROVISIONING');
  });
});

describe('isGone', () => {
  it.each<[OrderPhase, boolean]>([
    ['PROVISIONING', false],
    ['ACTIVE', false],
    ['FROZEN', false],
    ['RELEASED', true],
    ['REJECTED', true],
    ['FAILED', true],
  ])('when the phase is %s, then gone is %s', (phase, gone) => {
    expect(isGone(phase)).toBe(gone);
  });
});

describe('answer', () => {
  it('when a message is given, then the answer names code, instance, phase and message', () => {
    expect(answer(liveState({ phase: 'FROZEN', freezeReasons: ['EXPIRED'] }), '000000', 'ok')).toEqual({ code: '000000', instanceId: 'biz-first-1', phase: 'FROZEN', message: 'ok' });
  });

  it('when no message is given, then the answer has no message key at all', () => {
    const a = answer(liveState(), '000003');
    expect(a).toEqual({ code: '000003', instanceId: 'biz-first-1', phase: 'ACTIVE' });
    expect('message' in a).toBe(false);
  });
});

describe('purchaseAnswer', () => {
  it.each<OrderPhase>(['ACTIVE', 'FROZEN', 'RELEASED'])('when the order is %s, then a (repeated) purchase answers 000000 with the instance', (phase) => {
    expect(purchaseAnswer(liveState({ phase }))).toEqual({ code: '000000', instanceId: 'biz-first-1', phase });
  });

  it('when provisioning is still running, then the purchase answers 000004 (processing)', () => {
    expect(purchaseAnswer(initialOrderState(V2_INPUT))).toEqual({ code: '000004', instanceId: 'biz-first-1', phase: 'PROVISIONING' });
  });

  it('when provisioning failed with a code, then the purchase answers that code and the reason', () => {
    const state = liveState({ phase: 'FAILED', failureCode: '000100', failureReason: 'no capacity' });
    expect(purchaseAnswer(state)).toEqual({ code: '000100', instanceId: 'biz-first-1', phase: 'FAILED', message: 'no capacity' });
  });

  it('when the purchase was rejected, then it answers the rejection code (000105: trial benefit held)', () => {
    const state = liveState({ phase: 'REJECTED', failureCode: '000105', failureReason: 'benefit held' });
    expect(purchaseAnswer(state)).toEqual({ code: '000105', instanceId: 'biz-first-1', phase: 'REJECTED', message: 'benefit held' });
  });

  it('when a failed order has no code, then the purchase answers 000005 without a message', () => {
    expect(purchaseAnswer(liveState({ phase: 'FAILED' }))).toEqual({ code: '000005', instanceId: 'biz-first-1', phase: 'FAILED' });
  });
});

describe('goneAnswer', () => {
  it('when a real operation reaches a gone real order, then it answers 000003', () => {
    expect(goneAnswer(liveState({ phase: 'RELEASED' }), false)).toEqual({ code: '000003', instanceId: 'biz-first-1', phase: 'RELEASED', message: 'instance no longer exists' });
  });

  it('when a test operation (testFlag=1) reaches a gone real order, then it answers 000000 without effect', () => {
    expect(goneAnswer(liveState({ phase: 'FAILED' }), true)).toEqual({ code: '000000', instanceId: 'biz-first-1', phase: 'FAILED', message: 'test order: no effect' });
  });

  it('when any operation reaches a gone test order, then it answers 000000 even if the request says real', () => {
    expect(goneAnswer(liveState({ phase: 'RELEASED', testOrder: true }), false)).toEqual({ code: '000000', instanceId: 'biz-first-1', phase: 'RELEASED', message: 'test order: no effect' });
  });
});

describe('rememberOrder', () => {
  it('when a new order id is remembered, then it is appended newest last and the input is not mutated', () => {
    const before = liveState({ appliedOrderIds: ['a', 'b'] });
    const after = rememberOrder(before, 'c');
    expect(after.appliedOrderIds).toEqual(['a', 'b', 'c']);
    expect(before.appliedOrderIds).toEqual(['a', 'b']);
    expect(after.seq).toBe(before.seq);
  });

  it('when a remembered id is remembered again, then it appears once and moves to the newest end', () => {
    expect(rememberOrder(liveState({ appliedOrderIds: ['a', 'b', 'c'] }), 'a').appliedOrderIds).toEqual(['b', 'c', 'a']);
  });

  it(`when more than ${APPLIED_ORDER_MEMORY} ids are remembered, then only the newest ${APPLIED_ORDER_MEMORY} are kept`, () => {
    expect(APPLIED_ORDER_MEMORY).toBe(200);
    let state = liveState();
    for (let i = 0; i < APPLIED_ORDER_MEMORY + 5; i++) state = rememberOrder(state, `order-${i}`);
    expect(state.appliedOrderIds).toHaveLength(APPLIED_ORDER_MEMORY);
    expect(state.appliedOrderIds[0]).toBe('order-5');
    expect(state.appliedOrderIds.at(-1)).toBe(`order-${APPLIED_ORDER_MEMORY + 4}`);
    expect(state.appliedOrderIds).not.toContain('order-4');
  });
});

describe('phaseFromFreezeReasons', () => {
  it('when there is no freeze reason, then the instance is ACTIVE; with any reason it is FROZEN', () => {
    expect(phaseFromFreezeReasons([])).toBe('ACTIVE');
    expect(phaseFromFreezeReasons(['EXPIRED'])).toBe('FROZEN');
    expect(phaseFromFreezeReasons(['MARKETPLACE'])).toBe('FROZEN');
    expect(phaseFromFreezeReasons(['EXPIRED', 'MARKETPLACE'])).toBe('FROZEN');
  });
});

describe('applyRefresh', () => {
  it('when an active order is renewed, then expiry moves, the renewal is remembered and the tenant is left alone', () => {
    const before = liveState({ appliedOrderIds: ['CS-OLD'] });
    const { state, effect } = applyRefresh(before, renewal(), NOW);
    expect(effect).toBe('none');
    expect(state.phase).toBe('ACTIVE');
    expect(state.details?.expireTime).toBe(LATER_FUTURE);
    expect(state.appliedOrderIds).toEqual(['CS-OLD', 'CS-RENEW-1']);
    // seq is the workflow's to bump at the transition; the pure step leaves it alone.
    expect(state.seq).toBe(2);
    // The rest of the commercial facts survive.
    expect(state.details).toMatchObject({ customerId: 'cust-1', productId: 'OFFI-MONTH', skuCode: 'sku-basic', spec: { amount: 5 }, trial: false });
    expect(before.details?.expireTime).toBe(FUTURE);
  });

  it('when an expiry-frozen order is renewed into the future, then the freeze is lifted and the tenant resumed', () => {
    const { state, effect } = applyRefresh(liveState({ freezeReasons: ['EXPIRED'], details: { ...DETAILS, expireTime: PAST } }), renewal(), NOW);
    expect(state.freezeReasons).toEqual([]);
    expect(state.phase).toBe('ACTIVE');
    expect(effect).toBe('resume');
  });

  it('when a marketplace-frozen (arrears) order is renewed into the future, then it stays FROZEN', () => {
    const { state, effect } = applyRefresh(liveState({ freezeReasons: ['MARKETPLACE'] }), renewal(), NOW);
    expect(state.freezeReasons).toEqual(['MARKETPLACE']);
    expect(state.phase).toBe('FROZEN');
    expect(effect).toBe('none');
    expect(state.details?.expireTime).toBe(LATER_FUTURE);
  });

  it('when an order frozen for expiry and arrears is renewed, then only the expiry freeze is lifted', () => {
    const { state, effect } = applyRefresh(liveState({ freezeReasons: ['EXPIRED', 'MARKETPLACE'] }), renewal(), NOW);
    expect(state.freezeReasons).toEqual(['MARKETPLACE']);
    expect(state.phase).toBe('FROZEN');
    expect(effect).toBe('none');
  });

  it('when an expiry-frozen order is "renewed" to a time not after now, then it stays frozen', () => {
    for (const expireTime of [PAST, new Date(NOW).toISOString()]) {
      const { state, effect } = applyRefresh(liveState({ freezeReasons: ['EXPIRED'] }), renewal({ expireTime }), NOW);
      expect(state.freezeReasons).toEqual(['EXPIRED']);
      expect(state.phase).toBe('FROZEN');
      expect(effect).toBe('none');
      expect(state.details?.expireTime).toBe(expireTime);
    }
  });

  it('when a renewal is refunded (UNSUBSCRIBE_RENEWAL_PERIOD), then expiry moves back and the refund order is remembered', () => {
    const renewed = applyRefresh(liveState(), renewal({ orderId: 'CS-RENEW-1', expireTime: LATER_FUTURE }), NOW).state;
    const { state, effect } = applyRefresh(renewed, renewal({ orderId: 'CS-REFUND-1', scene: 'UNSUBSCRIBE_RENEWAL_PERIOD', expireTime: FUTURE, orderAmount: '-99.000' }), NOW);
    expect(state.details?.expireTime).toBe(FUTURE);
    expect(state.appliedOrderIds).toEqual(['CS-RENEW-1', 'CS-REFUND-1']);
    expect(state.phase).toBe('ACTIVE');
    expect(effect).toBe('none');
  });

  it('when a trial converts to formal, then the trial flag is cleared and the new product and period are taken', () => {
    const trial = liveState({ details: { ...DETAILS, trial: true, productId: 'OFFI-TRIAL', periodType: 'day', periodNumber: 7 } });
    const { state } = applyRefresh(trial, renewal({ scene: 'TRIAL_TO_FORMAL', productId: 'OFFI-YEAR', periodType: 'year', periodNumber: 1 }), NOW);
    expect(state.details?.trial).toBe(false);
    expect(state.details?.productId).toBe('OFFI-YEAR');
    expect(state.details?.periodType).toBe('year');
    expect(state.details?.periodNumber).toBe(1);
    expect(state.details?.customerId).toBe('cust-1');
  });

  it('when a trial is merely renewed (not converted), then it stays a trial', () => {
    const trial = liveState({ details: { ...DETAILS, trial: true } });
    expect(applyRefresh(trial, renewal(), NOW).state.details?.trial).toBe(true);
  });

  it('when a renewal names no product or period, then the existing ones are kept; a periodNumber of 0 is still taken', () => {
    const kept = applyRefresh(liveState(), renewal(), NOW).state.details;
    expect(kept).toMatchObject({ productId: 'OFFI-MONTH', periodType: 'month', periodNumber: 1 });
    const changed = applyRefresh(liveState(), renewal({ productId: 'OFFI-QUARTER', periodType: 'month', periodNumber: 0 }), NOW).state.details;
    expect(changed).toMatchObject({ productId: 'OFFI-QUARTER', periodType: 'month', periodNumber: 0 });
  });

  it('when the order has no details yet, then a renewal creates minimal ones (no trial, empty spec)', () => {
    const { details: _dropped, ...rest } = liveState();
    const { state } = applyRefresh(rest as OrderState, renewal(), NOW);
    expect(state.details).toEqual({ trial: false, spec: {}, expireTime: LATER_FUTURE });
  });
});

describe('applyStatus', () => {
  it('when a live instance (expiry in the future) is frozen, then the reason is MARKETPLACE and the tenant is frozen', () => {
    const { state, effect } = applyStatus(liveState(), freeze('MARKETPLACE'), NOW);
    expect(state.freezeReasons).toEqual(['MARKETPLACE']);
    expect(state.phase).toBe('FROZEN');
    expect(effect).toBe('freeze');
  });

  it('when an instance past its expiry is frozen (V2 FREEZE says no reason), then the reason is EXPIRED', () => {
    const { state, effect } = applyStatus(liveState({ details: { ...DETAILS, expireTime: PAST } }), freeze('MARKETPLACE'), NOW);
    expect(state.freezeReasons).toEqual(['EXPIRED']);
    expect(state.phase).toBe('FROZEN');
    expect(effect).toBe('freeze');
  });

  it('when an instance expiring exactly now is frozen, then it counts as expired', () => {
    const { state } = applyStatus(liveState({ details: { ...DETAILS, expireTime: new Date(NOW).toISOString() } }), freeze('MARKETPLACE'), NOW);
    expect(state.freezeReasons).toEqual(['EXPIRED']);
  });

  it('when the request says EXPIRED (V1 expireInstance), then EXPIRED is taken even for a live instance', () => {
    expect(applyStatus(liveState(), freeze('EXPIRED'), NOW).state.freezeReasons).toEqual(['EXPIRED']);
  });

  it('when an instance without expiry (one-time, on-demand) is frozen, then the reason is MARKETPLACE', () => {
    const { expireTime: _none, ...onDemand } = DETAILS;
    expect(applyStatus(liveState({ details: { ...onDemand, chargingMode: 'ON_DEMAND' } }), freeze('MARKETPLACE'), NOW).state.freezeReasons).toEqual(['MARKETPLACE']);
  });

  it('when a frozen instance is frozen again for the same reason, then nothing changes and the tenant is not frozen twice', () => {
    const once = applyStatus(liveState(), freeze(), NOW).state;
    const { state, effect } = applyStatus(once, freeze(), NOW);
    expect(state.freezeReasons).toEqual(['MARKETPLACE']);
    expect(state.phase).toBe('FROZEN');
    expect(effect).toBe('none');
  });

  it('when a frozen instance is frozen for another reason, then both reasons are kept and the tenant is left as it is', () => {
    const once = applyStatus(liveState(), freeze('MARKETPLACE'), NOW).state;
    const { state, effect } = applyStatus(once, freeze('EXPIRED'), NOW);
    expect(state.freezeReasons).toEqual(['MARKETPLACE', 'EXPIRED']);
    expect(effect).toBe('none');
  });

  it('when a frozen instance is unfrozen, then every freeze reason is cleared and the tenant resumed', () => {
    const { state, effect } = applyStatus(liveState({ freezeReasons: ['EXPIRED', 'MARKETPLACE'] }), unfreeze, NOW);
    expect(state.freezeReasons).toEqual([]);
    expect(state.phase).toBe('ACTIVE');
    expect(effect).toBe('resume');
  });

  it('when an active instance is unfrozen, then nothing happens', () => {
    const before = liveState({ appliedOrderIds: ['x'] });
    const { state, effect } = applyStatus(before, unfreeze, NOW);
    expect(state).toEqual(before);
    expect(effect).toBe('none');
  });

  it('when an expired instance is frozen and then renewed, then the renewal resumes it without any UNFREEZE', () => {
    const frozen = applyStatus(liveState({ details: { ...DETAILS, expireTime: PAST } }), freeze('MARKETPLACE'), NOW).state;
    const { state, effect } = applyRefresh(frozen, renewal(), NOW);
    expect(state.phase).toBe('ACTIVE');
    expect(effect).toBe('resume');
  });
});

describe('describeOrder', () => {
  it('when the order has every detail, then the line names phase, instance, plan, product, customer, expiry, trial, freeze, test and failure', () => {
    const state = liveState({
      phase: 'FROZEN',
      freezeReasons: ['EXPIRED', 'MARKETPLACE'],
      testOrder: true,
      failureReason: 'boom',
      details: { ...DETAILS, trial: true },
    });
    expect(describeOrder(state)).toBe(
      `**FROZEN** instance \`biz-first-1\` · PERIOD 1 month · product OFFI-MONTH / sku-basic · customer cust-1 · expires ${FUTURE} · trial · frozen: EXPIRED, MARKETPLACE · TEST ORDER · failure: boom`,
    );
  });

  it('when the order has no details yet, then the line names only phase and instance', () => {
    expect(describeOrder(initialOrderState(V2_INPUT))).toBe('**PROVISIONING** instance `biz-first-1`');
  });

  it('when the plan has no period and the product no SKU, then those parts are short', () => {
    const { skuCode: _s, periodType: _p, periodNumber: _n, expireTime: _e, ...rest } = DETAILS;
    expect(describeOrder(liveState({ details: { ...rest, chargingMode: 'ONE_TIME' } }))).toBe('**ACTIVE** instance `biz-first-1` · ONE_TIME · product OFFI-MONTH · customer cust-1');
  });
});

describe('refresh/status sequences (property)', () => {
  const reasonArb = fc.constantFrom<FreezeReason>('EXPIRED', 'MARKETPLACE');
  // Offsets around "now" (days), so renewals land in the past, exactly now, or the future.
  const timeArb = fc.integer({ min: -400, max: 400 }).map((days) => new Date(NOW + days * 86_400_000).toISOString());
  const refreshArb = fc.record({
    kind: fc.constant('refresh' as const),
    req: fc.record({
      orderId: fc.constantFrom('o1', 'o2', 'o3', 'o4', 'o5'),
      scene: fc.constantFrom<RefreshRequest['scene']>('RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'TRIAL_TO_FORMAL', 'RENEWAL_CHANGE'),
      expireTime: timeArb,
      productId: fc.option(fc.constantFrom('P1', 'P2'), { nil: undefined }),
      testOrder: fc.boolean(),
    }),
  });
  const statusArb = fc.record({
    kind: fc.constant('status' as const),
    req: fc.record({ action: fc.constantFrom<StatusRequest['action']>('FREEZE', 'UNFREEZE'), reason: reasonArb, testOrder: fc.boolean() }),
  });
  const startArb = fc.record({
    reasons: fc.uniqueArray(reasonArb, { maxLength: 2 }),
    expireTime: fc.option(timeArb, { nil: undefined }),
    trial: fc.boolean(),
  });

  it('when any sequence of refreshes and status changes is applied, then phase always follows the freeze reasons and is never RELEASED', () => {
    fc.assert(
      fc.property(startArb, fc.array(fc.oneof(refreshArb, statusArb), { maxLength: 40 }), fc.integer({ min: 0, max: 30 }), (start, ops, driftDays) => {
        const { expireTime: _e, ...base } = DETAILS;
        let state = liveState({
          freezeReasons: start.reasons,
          details: { ...base, trial: start.trial, ...(start.expireTime ? { expireTime: start.expireTime } : {}) },
        });
        let now = NOW;
        for (const op of ops) {
          const before = state;
          const result = op.kind === 'refresh' ? applyRefresh(state, op.req, now) : applyStatus(state, op.req, now);
          state = result.state;
          expect(state.phase).not.toBe('RELEASED');
          expect(state.phase).toBe(state.freezeReasons.length > 0 ? 'FROZEN' : 'ACTIVE');
          expect(new Set(state.freezeReasons).size).toBe(state.freezeReasons.length);
          expect(state.freezeReasons.every((r) => r === 'EXPIRED' || r === 'MARKETPLACE')).toBe(true);
          // The effect is exactly the tenant change the phase change calls for.
          const expected = before.phase === 'ACTIVE' && state.phase === 'FROZEN' ? 'freeze' : before.phase === 'FROZEN' && state.phase === 'ACTIVE' ? 'resume' : 'none';
          expect(result.effect).toBe(expected);
          // A refresh never freezes; the pure steps never touch seq or identity.
          if (op.kind === 'refresh') expect(result.effect).not.toBe('freeze');
          expect(state.seq).toBe(2);
          expect(state.instanceId).toBe('biz-first-1');
          expect(new Set(state.appliedOrderIds).size).toBe(state.appliedOrderIds.length);
          now += driftDays * 86_400_000;
        }
      }),
      { numRuns: 300 },
    );
  });
});
