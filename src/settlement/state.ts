import type { LineState, RequiredInvoice, StatementAction, StatementState, StatementStep, StatementSummary } from './contract.js';

// The statement's steps as pure transitions (workflow-safe): which people's step may come next, and what it
// changes. A refused step returns its reason and changes nothing; the workflow's update validator asks first.

/** The bill date of a period (YYYY-MM): the 3rd of the next month, or the next working day (weekends, holidays). */
export function billDateOf(period: string, holidays: readonly string[]): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  const d = new Date(Date.UTC(y, m, 3));
  const off = new Set(holidays);
  for (;;) {
    const iso = d.toISOString().slice(0, 10);
    const dow = d.getUTCDay();
    if (dow !== 0 && dow !== 6 && !off.has(iso)) return iso;
    d.setUTCDate(d.getUTCDate() + 1);
  }
}

/** The period billed by a run on `date`: the previous month. */
export function previousPeriod(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - 1, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** What a monthly run on `now` bills: the previous month, once its bill date has come (else nothing yet). */
export function monthlyRunPlan(now: Date, holidays: readonly string[], period?: string): { period: string; billDate: string; due: boolean } {
  const p = period ?? previousPeriod(now);
  const billDate = billDateOf(p, holidays);
  return { period: p, billDate, due: period !== undefined || now.toISOString().slice(0, 10) >= billDate };
}

/** The remark every VAT special invoice of a payment request must carry (§10: 申付单号 + 对账期次). */
export function invoiceRemark(paymentRequestNo: string, period: string): string {
  return `申付单号 ${paymentRequestNo}; 对账期次 ${period}`;
}

/** The statement's first state, once built. */
export function initialStatementState(summary: StatementSummary, at: string): StatementState {
  return {
    statementId: summary.statementId,
    period: summary.period,
    settlementType: summary.settlementType,
    step: 'BILL_GENERATED',
    summary,
    invoices: [],
    history: [{ step: 'BILL_GENERATED', at, actor: 'system' }],
  };
}

/** The line state that a statement step means for its lines. */
export function lineStateOf(step: StatementStep): LineState {
  switch (step) {
    case 'BILL_GENERATED':
    case 'COUNTERSIGN_PENDING':
    case 'INVOICE_NOTICE_RECEIVED':
      return 'IN_STATEMENT';
    case 'INVOICES_ISSUED':
    case 'INVOICES_SIGNED_FOR':
      return 'INVOICED';
    case 'COUNTERSIGNED':
      return 'COUNTERSIGNED';
    case 'PAID':
      return 'PAID';
    case 'WRITTEN_OFF':
      return 'WRITTEN_OFF';
  }
}

/** The outcome of a people's step. */
export type ActionOutcome = { readonly ok: true; readonly state: StatementState } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): ActionOutcome => ({ ok: false, reason });

function moved(s: StatementState, step: StatementStep, at: string, actor: string, patch: Partial<StatementState> = {}): ActionOutcome {
  return { ok: true, state: { ...s, ...patch, step, history: [...s.history, { step, at, actor }] } };
}

/**
 * Applies a people's step. `usedInvoiceNos` are invoice numbers recorded on other statements' payment requests:
 * one invoice never covers two payment requests.
 */
export function applyStatementAction(s: StatementState, a: StatementAction, at: string, usedInvoiceNos: readonly string[] = []): ActionOutcome {
  const revenueSplit = s.settlementType === 'REVENUE_SPLIT';
  switch (a.type) {
    case 'RECORD_MARKETPLACE_BILL': {
      if (s.step !== 'BILL_GENERATED') return refuse(`the marketplace's bill is recorded at BILL_GENERATED; the statement is at ${s.step}`);
      if (!Number.isSafeInteger(a.amountMinor)) return refuse('amountMinor must be an integer amount of fen');
      const ours = s.summary?.netMinor ?? 0;
      // Bills go straight to countersign since 2024-12-24: no merchant bill confirmation step.
      return moved(s, 'COUNTERSIGN_PENDING', at, a.actor, { marketplaceBillMinor: a.amountMinor, differenceMinor: a.amountMinor - ours });
    }
    case 'RECORD_INVOICE_NOTICE': {
      if (!revenueSplit) return refuse('general goods get no invoice notice: the merchant invoices the customer; record the countersign');
      if (s.step !== 'COUNTERSIGN_PENDING') return refuse(`the invoice notice is recorded at COUNTERSIGN_PENDING; the statement is at ${s.step}`);
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(a.paymentRequestNo)) return refuse('paymentRequestNo must be 1–64 letters, digits, _ or -');
      const remark = invoiceRemark(a.paymentRequestNo, s.period);
      // One VAT special invoice per tax rate (§10); zero or negative groups need none.
      const byRate = (s.summary?.groups ?? []).reduce<Map<number, number>>((m, g) => m.set(g.taxRatePpm, (m.get(g.taxRatePpm) ?? 0) + g.netMinor), new Map());
      const invoices: RequiredInvoice[] = Array.from(byRate.entries())
        .filter(([, amount]) => amount > 0)
        .sort(([x], [y]) => x - y)
        .map(([taxRatePpm, amountMinor]) => ({ taxRatePpm, amountMinor, remark }));
      return moved(s, 'INVOICE_NOTICE_RECEIVED', at, a.actor, { paymentRequestNo: a.paymentRequestNo, invoices });
    }
    case 'ISSUE_INVOICE': {
      if (s.step !== 'INVOICE_NOTICE_RECEIVED') return refuse(`invoices are issued after the invoice notice, before they are all issued; the statement is at ${s.step}`);
      const i = s.invoices.findIndex((x) => x.taxRatePpm === a.taxRatePpm);
      if (i < 0) return refuse(`no invoice is required at tax rate ${a.taxRatePpm} ppm (required: ${s.invoices.map((x) => x.taxRatePpm).join(', ')})`);
      if (s.invoices[i]!.invoiceNo !== undefined) return refuse(`the invoice at tax rate ${a.taxRatePpm} ppm is already issued (${s.invoices[i]!.invoiceNo})`);
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(a.invoiceNo)) return refuse('invoiceNo must be 1–64 letters, digits, _ or -');
      if (s.invoices.some((x) => x.invoiceNo === a.invoiceNo) || usedInvoiceNos.includes(a.invoiceNo)) {
        return refuse(`invoice ${a.invoiceNo} is already recorded: one invoice never covers two payment requests or two tax rates`);
      }
      if (a.mailedTo.trim() === '') return refuse('mailedTo (e-mail or postal address) is required');
      const invoices = s.invoices.map((x, k) => (k === i ? { ...x, invoiceNo: a.invoiceNo, issuedAt: at, mailedTo: a.mailedTo } : x));
      const all = invoices.every((x) => x.invoiceNo !== undefined);
      return all ? moved(s, 'INVOICES_ISSUED', at, a.actor, { invoices }) : { ok: true, state: { ...s, invoices } };
    }
    case 'RECORD_SIGN_FOR': {
      if (s.step !== 'INVOICES_ISSUED') return refuse(`sign-for is recorded once every invoice is issued; the statement is at ${s.step}`);
      const i = s.invoices.findIndex((x) => x.invoiceNo === a.invoiceNo);
      if (i < 0) return refuse(`invoice ${a.invoiceNo} is not on this statement`);
      if (s.invoices[i]!.signedForAt !== undefined) return refuse(`invoice ${a.invoiceNo} is already signed for`);
      const invoices = s.invoices.map((x, k) => (k === i ? { ...x, signedForAt: at } : x));
      const all = invoices.every((x) => x.signedForAt !== undefined);
      return all ? moved(s, 'INVOICES_SIGNED_FOR', at, a.actor, { invoices }) : { ok: true, state: { ...s, invoices } };
    }
    case 'RECORD_COUNTERSIGN': {
      const from: StatementStep = revenueSplit ? 'INVOICES_SIGNED_FOR' : 'COUNTERSIGN_PENDING';
      if (s.step !== from) return refuse(`countersign is recorded at ${from}${revenueSplit ? ' (every invoice issued and signed for)' : ''}; the statement is at ${s.step}`);
      return moved(s, 'COUNTERSIGNED', at, a.actor);
    }
    case 'RECORD_PAYMENT': {
      if (s.step !== 'COUNTERSIGNED') {
        const why = revenueSplit && s.invoices.some((x) => x.signedForAt === undefined) ? ' (invoices not all issued and signed for)' : '';
        return refuse(`payment is recorded at COUNTERSIGNED; the statement is at ${s.step}${why}`);
      }
      return moved(s, 'PAID', at, a.actor, { paidAt: at });
    }
    case 'WRITE_OFF': {
      // Admitted here, applied by the workflow: which lines are unpaid is the ledger's to say (writeOffSettlementLines).
      if (s.step === 'PAID' || s.step === 'WRITTEN_OFF') return refuse(`a write-off is recorded before the statement is paid; the statement is at ${s.step}`);
      if (typeof a.reason !== 'string' || a.reason.trim() === '') return refuse('a write-off needs a reason');
      if (a.lineKeys !== undefined) {
        const keys: readonly unknown[] = Array.isArray(a.lineKeys) ? (a.lineKeys as readonly unknown[]) : [];
        if (keys.length === 0 || !keys.every((k) => typeof k === 'string')) return refuse('lineKeys, when given, must list at least one line key');
        const done = new Set((s.writeOffs ?? []).flatMap((w) => w.lineKeys));
        const again = a.lineKeys.filter((k) => done.has(k));
        if (again.length > 0) return refuse(`already written off: ${again.slice(0, 5).join(', ')}`);
      }
      return { ok: true, state: s };
    }
  }
}
