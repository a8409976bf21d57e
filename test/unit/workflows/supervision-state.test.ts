import { describe, expect, it } from 'vitest';
import type { SupervisionAction, SupervisionInput, SupervisionState, SupervisionTerms } from '../../../src/supervision/contract.js';
import {
  addPeriod,
  applyAction,
  autoAcceptDueAt,
  computeValidity,
  initialSupervisionState,
  isEnded,
  nextReminderDueAt,
  phonesDiffer,
  refusalOf,
  reminderNotifications,
  reminderSent,
  shapeProblem,
} from '../../../src/supervision/state.js';
import { aSupervisionInput, aSupervisionTerms } from '../../support/factories.js';

const DAY = 86_400_000;
const T0 = '2026-01-01T00:00:00.000Z';
const GENERAL = aSupervisionTerms('GENERAL');
const HARDWARE = aSupervisionTerms('HARDWARE');

function input(terms: SupervisionTerms): SupervisionInput {
  return aSupervisionInput({ kind: 'v2-line', orderId: 'O1', orderLineId: 'L1' }, { terms });
}

/** Applies actions in turn, failing the test on any refusal. */
function run(state: SupervisionState, ...actions: SupervisionAction[]): SupervisionState {
  return actions.reduce((s, a) => {
    const why = refusalOf(s, a);
    if (why) throw new Error(`${a.type} refused: ${why}`);
    return applyAction(s, a, T0);
  }, state);
}

const M = 'MERCHANT' as const;
const U = 'MARKETPLACE' as const;

describe('supervision nodes (general flow)', () => {
  it('when a general order starts, then it waits for the requirement; hardware starts at implementation', () => {
    expect(initialSupervisionState(input(GENERAL), T0).node).toBe('REQUIREMENT_SUBMISSION');
    expect(initialSupervisionState(input(HARDWARE), T0).node).toBe('IMPLEMENTATION');
  });

  it('when the requirement is submitted, confirmed, implemented and accepted, then the order is completed', () => {
    const s0 = initialSupervisionState(input(GENERAL), T0);
    const s1 = run(s0, { type: 'SUBMIT_REQUIREMENT', source: U, attachments: ['req.pdf'] });
    expect(s1.node).toBe('REQUIREMENT_CONFIRMATION');
    const s2 = run(s1, { type: 'CONFIRM_REQUIREMENT', source: M });
    expect(s2.node).toBe('IMPLEMENTATION');
    const s3 = run(s2, { type: 'COMPLETE_IMPLEMENTATION', source: M, acceptanceReport: 'report-1' });
    expect(s3).toMatchObject({ node: 'USER_ACCEPTANCE', status: 'PROCESSING' });
    const s4 = run(s3, { type: 'ACCEPT', source: U, at: '2026-02-01T00:00:00.000Z' });
    expect(s4).toMatchObject({ node: 'COMPLETED', status: 'COMPLETED', outcome: 'ACCEPTED', acceptedAt: '2026-02-01T00:00:00.000Z' });
    expect(isEnded(s4)).toBe(true);
  });

  it('when the merchant rejects the requirement, then it goes back to the user; a rejected acceptance goes back to the merchant', () => {
    const s = run(initialSupervisionState(input(GENERAL), T0), { type: 'SUBMIT_REQUIREMENT', source: U }, { type: 'REJECT_REQUIREMENT', source: M, reason: 'unclear' });
    expect(s).toMatchObject({ node: 'REQUIREMENT_SUBMISSION', requirementRejections: 1, lastRejectionReason: 'unclear' });
    const back = run(
      s,
      { type: 'SUBMIT_REQUIREMENT', source: U },
      { type: 'CONFIRM_REQUIREMENT', source: M },
      { type: 'COMPLETE_IMPLEMENTATION', source: M, acceptanceReport: 'r' },
      { type: 'REJECT_ACCEPTANCE', source: U, reason: 'incomplete' },
    );
    expect(back).toMatchObject({ node: 'IMPLEMENTATION', acceptanceRejections: 1 });
  });

  it('when an action does not fit the node, then it is refused with a reason naming the node', () => {
    const s = initialSupervisionState(input(GENERAL), T0);
    expect(refusalOf(s, { type: 'CONFIRM_REQUIREMENT', source: M })).toMatch(/REQUIREMENT_SUBMISSION/);
    expect(refusalOf(s, { type: 'ACCEPT', source: U })).toMatch(/REQUIREMENT_SUBMISSION/);
    expect(refusalOf(s, { type: 'RECORD_SHIPMENT', source: M, carrier: 'SF', trackingNumber: '1' })).toMatch(/only hardware/);
    expect(refusalOf(s, { type: 'DECIDE_APPEAL', source: 'OPS', decision: 'RESUME' })).toMatch(/no appeal/);
  });

  it('when an action is malformed, then its shape is refused', () => {
    expect(shapeProblem({ type: 'REJECT_REQUIREMENT', source: M })).toMatch(/reason/);
    expect(shapeProblem({ type: 'COMPLETE_IMPLEMENTATION', source: M, acceptanceReport: 'r', actualServiceStartTime: 'yesterday' })).toMatch(/actualServiceStartTime/);
    expect(shapeProblem({ type: 'NUKE', source: M })).toMatch(/unknown action/);
    expect(shapeProblem({ type: 'ACCEPT', source: 'SOMEONE' })).toMatch(/source/);
    expect(shapeProblem({ type: 'ACCEPT', source: U })).toBeUndefined();
  });

  it('when a marketplace event repeats, then it is not refused and changes nothing', () => {
    const s = run(initialSupervisionState(input(GENERAL), T0), { type: 'SUBMIT_REQUIREMENT', source: U, eventId: 'e1' });
    expect(refusalOf(s, { type: 'SUBMIT_REQUIREMENT', source: U, eventId: 'e1' })).toBeUndefined();
    expect(s.appliedEventIds).toEqual(['e1']);
  });

  it('when the supervision has completed, then every action is refused', () => {
    const s = run(initialSupervisionState(input(GENERAL), T0), { type: 'ACTIVATE_LICENSE', source: U });
    expect(s.outcome).toBe('LICENSE_ACTIVATED');
    expect(refusalOf(s, { type: 'SUBMIT_REQUIREMENT', source: U })).toMatch(/already completed/);
  });
});

describe('appeals', () => {
  it('when an appeal is open, then only a decision is accepted; RESUME continues at the same node', () => {
    const s = run(initialSupervisionState(input(GENERAL), T0), { type: 'SUBMIT_REQUIREMENT', source: U }, { type: 'OPEN_APPEAL', source: M, openedBy: 'MERCHANT', reason: 'user unreachable' });
    expect(s.appeal?.openedBy).toBe('MERCHANT');
    expect(refusalOf(s, { type: 'CONFIRM_REQUIREMENT', source: M })).toMatch(/frozen by an appeal/);
    expect(refusalOf(s, { type: 'OPEN_APPEAL', source: U, openedBy: 'USER', reason: 'x' })).toMatch(/frozen/);
    const resumed = run(s, { type: 'DECIDE_APPEAL', source: 'OPS', decision: 'RESUME' });
    expect(resumed.appeal).toBeUndefined();
    expect(resumed.node).toBe('REQUIREMENT_CONFIRMATION');
  });

  it('when an appeal is decided ACCEPT or CLOSE, then the supervision ends that way', () => {
    const open = run(initialSupervisionState(input(GENERAL), T0), { type: 'OPEN_APPEAL', source: U, openedBy: 'USER', reason: 'stalled' });
    expect(run(open, { type: 'DECIDE_APPEAL', source: 'OPS', decision: 'ACCEPT' })).toMatchObject({ node: 'COMPLETED', outcome: 'APPEAL_ACCEPTED' });
    expect(run(open, { type: 'DECIDE_APPEAL', source: 'OPS', decision: 'CLOSE' })).toMatchObject({ node: 'CLOSED', status: 'CLOSED', outcome: 'APPEAL_CLOSED' });
  });
});

describe('hardware', () => {
  const shipped = () =>
    run(initialSupervisionState(input(HARDWARE), T0), { type: 'RECORD_SHIPMENT', source: M, carrier: 'SF Express', trackingNumber: 'SF123', deliveryDocuments: ['dn.pdf'] });

  it('when the shipment is recorded, then the order waits for acceptance; implementation completion is refused', () => {
    expect(shipped()).toMatchObject({ node: 'USER_ACCEPTANCE', shipment: { carrier: 'SF Express', trackingNumber: 'SF123' } });
    const s = initialSupervisionState(input(HARDWARE), T0);
    expect(refusalOf(s, { type: 'COMPLETE_IMPLEMENTATION', source: M, acceptanceReport: 'r' })).toMatch(/RECORD_SHIPMENT/);
    expect(refusalOf(s, { type: 'SIGN_FOR', source: U })).toMatch(/no shipment/);
  });

  it('when the courier signs for it, then auto-acceptance is due 10 days later; never on a phone mismatch or during an appeal', () => {
    const signed = run(shipped(), { type: 'SIGN_FOR', source: U, at: '2026-03-01T08:00:00.000Z', consigneePhone: '+86 138-0000-1234', userPhone: '13800001234' });
    expect(autoAcceptDueAt(signed, HARDWARE)).toBe(Date.parse('2026-03-11T08:00:00.000Z'));
    const mismatch = run(shipped(), { type: 'SIGN_FOR', source: U, at: '2026-03-01T08:00:00.000Z', consigneePhone: '13900009999', userPhone: '13800001234' });
    expect(mismatch.signFor?.phoneMismatch).toBe(true);
    expect(autoAcceptDueAt(mismatch, HARDWARE)).toBeUndefined();
    const appealed = run(signed, { type: 'OPEN_APPEAL', source: U, openedBy: 'USER', reason: 'damaged' });
    expect(autoAcceptDueAt(appealed, HARDWARE)).toBeUndefined();
    expect(refusalOf(signed, { type: 'SIGN_FOR', source: U })).toMatch(/already signed/);
  });

  it('when phones are compared, then country code, punctuation and masking are tolerated and unknown phones never count as different', () => {
    expect(phonesDiffer('138****1234', '13800001234')).toBe(false);
    expect(phonesDiffer('138****1235', '13800001234')).toBe(true);
    expect(phonesDiffer('0086 13800001234', '138-0000-1234')).toBe(false);
    expect(phonesDiffer(undefined, '13800001234')).toBe(false);
    expect(phonesDiffer('', '')).toBe(false);
  });
});

describe('reminders (no 365-day close)', () => {
  it('when an order stays unaccepted, then the first reminder is due at day 180 and the next ones every interval after the last', () => {
    const s = initialSupervisionState(input(GENERAL), T0);
    expect(nextReminderDueAt(s, GENERAL)).toBe(Date.parse(T0) + 180 * DAY);
    const late = Date.parse(T0) + 250 * DAY;
    const after = reminderSent(s, new Date(late).toISOString());
    // Sent late (the worker was down): the next is an interval after that one, not a burst of catch-up reminders.
    expect(nextReminderDueAt(after, GENERAL)).toBe(late + 30 * DAY);
  });

  it('when it has ended, then no reminder is due, and nothing ever closes an open one', () => {
    const done = run(initialSupervisionState(input(GENERAL), T0), { type: 'ACTIVATE_LICENSE', source: U });
    expect(nextReminderDueAt(done, GENERAL)).toBeUndefined();
  });

  it('when reminders are built, then the merchant and the account manager each get one with a stable dedupe key', () => {
    const s = initialSupervisionState(input(GENERAL), T0);
    const n = reminderNotifications('supervision-order-O1-line-L1', input(GENERAL), s, Date.parse(T0) + 181 * DAY);
    expect(n.map((x) => x.recipient)).toEqual(['MERCHANT', 'ACCOUNT_MANAGER']);
    expect(n[0]!.dedupeKey).toBe('supervision-order-O1-line-L1:reminder:1:MERCHANT');
    expect(n[0]!.subject).toContain('181 days');
  });
});

describe('period validity (§9 [S69])', () => {
  it('when bought on 1 Jan for one month and accepted on 1 Feb, then validity is 1 Feb–1 Mar without a start time and 1 Jan–1 Feb with it', () => {
    const period = { periodType: 'month', periodNumber: 1 };
    expect(computeValidity(period, '2026-02-01T00:00:00.000Z')).toEqual({ start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z', startedFrom: 'ACCEPTANCE' });
    expect(computeValidity(period, '2026-02-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')).toEqual({
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-02-01T00:00:00.000Z',
      startedFrom: 'ACTUAL_START_TIME',
    });
  });

  it('when the implementation recorded an actual start time, then acceptance uses it', () => {
    const s = run(
      initialSupervisionState(input(GENERAL), T0),
      { type: 'SUBMIT_REQUIREMENT', source: U },
      { type: 'CONFIRM_REQUIREMENT', source: M },
      { type: 'COMPLETE_IMPLEMENTATION', source: M, acceptanceReport: 'r', actualServiceStartTime: '2026-01-05T00:00:00Z' },
    );
    const done = applyAction(s, { type: 'ACCEPT', source: U, at: '2026-02-10T00:00:00.000Z' }, T0, { periodType: 'year', periodNumber: 1 });
    expect(done.validity).toEqual({ start: '2026-01-05T00:00:00.000Z', end: '2027-01-05T00:00:00.000Z', startedFrom: 'ACTUAL_START_TIME' });
  });

  it('when months differ in length, then the end clamps to the last day of the month', () => {
    expect(addPeriod('2026-01-31T10:00:00.000Z', 'month', 1)).toBe('2026-02-28T10:00:00.000Z');
    expect(addPeriod('2028-02-29T00:00:00.000Z', 'year', 1)).toBe('2029-02-28T00:00:00.000Z');
    expect(addPeriod('2026-01-01T00:00:00.000Z', 'DAY', 3)).toBe('2026-01-04T00:00:00.000Z');
    expect(addPeriod('2026-01-01T00:00:00.000Z', 'fortnight', 1)).toBeUndefined();
  });
});
