import { describe, expect, it } from 'vitest';
import type { StatementState, StatementSummary } from '../../../src/settlement/contract.js';
import { applyStatementAction, billDateOf, initialStatementState, monthlyRunPlan, previousPeriod } from '../../../src/settlement/state.js';

const summary = (type: 'REVENUE_SPLIT' | 'PLATFORM_FEE'): StatementSummary => ({
  statementId: `s-${type}`,
  period: '2027-01',
  settlementType: type,
  groups: [
    { goods: 'JOINT_OPERATION', taxRatePpm: 60_000, lines: 2, grossMinor: 20_000, shareMinor: 4_000, netMinor: 16_000, taxMinor: 906 },
    { goods: 'HUAWEI', taxRatePpm: 130_000, lines: 1, grossMinor: 10_000, shareMinor: 1_000, netMinor: 9_000, taxMinor: 1_035 },
  ],
  lines: 3,
  grossMinor: 30_000,
  shareMinor: 5_000,
  netMinor: 25_000,
  taxMinor: 1_941,
});
const AT = '2027-02-03T00:00:00.000Z';
function step(s: StatementState, a: Parameters<typeof applyStatementAction>[1]): StatementState {
  const r = applyStatementAction(s, a, AT);
  if (!r.ok) throw new Error(r.reason);
  return r.state;
}

describe('statement steps', () => {
  it('when the 3rd is a weekend or a holiday, then the bill date is the next working day', () => {
    expect(billDateOf('2027-01', [])).toBe('2027-02-03'); // Wednesday
    expect(billDateOf('2027-01', ['2027-02-03', '2027-02-04'])).toBe('2027-02-05');
    expect(billDateOf('2027-03', [])).toBe('2027-04-05'); // 3 Apr 2027 is a Saturday
    expect(previousPeriod(new Date('2027-01-03T00:00:00Z'))).toBe('2026-12');
  });

  it('when the schedule fires before the bill date, then the run bills nothing; on and after it, the previous month', () => {
    const holidays = ['2027-02-03'];
    expect(monthlyRunPlan(new Date('2027-02-03T01:00:00Z'), holidays)).toEqual({ period: '2027-01', billDate: '2027-02-04', due: false });
    expect(monthlyRunPlan(new Date('2027-02-04T01:00:00Z'), holidays)).toEqual({ period: '2027-01', billDate: '2027-02-04', due: true });
    expect(monthlyRunPlan(new Date('2027-02-09T01:00:00Z'), holidays).due).toBe(true);
  });

  it('when a revenue-split statement goes through every step, then invoices per tax rate carry the remark', () => {
    let s = initialStatementState(summary('REVENUE_SPLIT'), AT);
    s = step(s, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 25_100, actor: 'op' });
    expect(s.differenceMinor).toBe(100);
    s = step(s, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: 'PR-1', actor: 'op' });
    expect(s.invoices.map((i) => [i.taxRatePpm, i.amountMinor, i.remark])).toEqual([
      [60_000, 16_000, '申付单号 PR-1; 对账期次 2027-01'],
      [130_000, 9_000, '申付单号 PR-1; 对账期次 2027-01'],
    ]);
    s = step(s, { type: 'ISSUE_INVOICE', taxRatePpm: 60_000, invoiceNo: 'INV-1', mailedTo: 'ap@example.com', actor: 'op' });
    expect(s.step).toBe('INVOICE_NOTICE_RECEIVED');
    // Nothing after the invoice notice proceeds before every invoice is issued and signed for.
    expect(applyStatementAction(s, { type: 'RECORD_COUNTERSIGN', actor: 'op' }, AT)).toMatchObject({ ok: false });
    expect(applyStatementAction(s, { type: 'RECORD_PAYMENT', actor: 'op' }, AT)).toMatchObject({ ok: false, reason: expect.stringMatching(/not all issued and signed for/) });
    expect(applyStatementAction(s, { type: 'ISSUE_INVOICE', taxRatePpm: 130_000, invoiceNo: 'INV-1', mailedTo: 'x', actor: 'op' }, AT)).toMatchObject({ ok: false });
    expect(applyStatementAction(s, { type: 'ISSUE_INVOICE', taxRatePpm: 130_000, invoiceNo: 'INV-OLD', mailedTo: 'x', actor: 'op' }, AT, ['INV-OLD'])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/two payment requests/),
    });
    s = step(s, { type: 'ISSUE_INVOICE', taxRatePpm: 130_000, invoiceNo: 'INV-2', mailedTo: 'ap@example.com', actor: 'op' });
    expect(s.step).toBe('INVOICES_ISSUED');
    s = step(s, { type: 'RECORD_SIGN_FOR', invoiceNo: 'INV-1', actor: 'op' });
    expect(applyStatementAction(s, { type: 'RECORD_PAYMENT', actor: 'op' }, AT).ok).toBe(false);
    s = step(s, { type: 'RECORD_SIGN_FOR', invoiceNo: 'INV-2', actor: 'op' });
    s = step(s, { type: 'RECORD_COUNTERSIGN', actor: 'op' });
    s = step(s, { type: 'RECORD_PAYMENT', actor: 'op' });
    expect(s.step).toBe('PAID');
    expect(s.history.map((h) => h.step)).toEqual(['BILL_GENERATED', 'COUNTERSIGN_PENDING', 'INVOICE_NOTICE_RECEIVED', 'INVOICES_ISSUED', 'INVOICES_SIGNED_FOR', 'COUNTERSIGNED', 'PAID']);
  });

  it('when general goods are settled, then there is no invoice notice and countersign follows the bill', () => {
    let s = initialStatementState(summary('PLATFORM_FEE'), AT);
    s = step(s, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 25_000, actor: 'op' });
    expect(applyStatementAction(s, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: 'PR', actor: 'op' }, AT).ok).toBe(false);
    s = step(s, { type: 'RECORD_COUNTERSIGN', actor: 'op' });
    s = step(s, { type: 'RECORD_PAYMENT', actor: 'op' });
    expect(s.step).toBe('PAID');
  });
  it('when a write-off comes before payment with a reason it is admitted; paid, written off, without a reason or repeating a line it is refused', () => {
    const built = initialStatementState(summary('REVENUE_SPLIT'), AT);
    const wo = (s: StatementState, over: object = {}) => applyStatementAction(s, { type: 'WRITE_OFF', reason: 'never paid', actor: 'op', ...over }, AT);
    expect(wo(built)).toEqual({ ok: true, state: built });
    expect(wo(built, { reason: '  ' })).toMatchObject({ ok: false, reason: expect.stringMatching(/reason/) });
    expect(wo(built, { lineKeys: [] })).toMatchObject({ ok: false });
    const withOne: StatementState = { ...built, writeOffs: [{ lineKeys: ['k1'], reason: 'r', at: AT, actor: 'op', netMinor: 1 }] };
    expect(wo(withOne, { lineKeys: ['k2', 'k1'] })).toMatchObject({ ok: false, reason: expect.stringMatching(/already written off: k1/) });
    expect(wo(withOne, { lineKeys: ['k2'] }).ok).toBe(true);
    expect(wo({ ...built, step: 'PAID' })).toMatchObject({ ok: false, reason: expect.stringMatching(/PAID/) });
    expect(wo({ ...built, step: 'WRITTEN_OFF' })).toMatchObject({ ok: false });
    // A statement written off takes no further step.
    expect(applyStatementAction({ ...built, step: 'WRITTEN_OFF' }, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 1, actor: 'op' }, AT).ok).toBe(false);
  });
});
