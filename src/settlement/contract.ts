import { condition, defineQuery, defineSignal, defineUpdate, patched, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { SettlementStateKey } from '../kernel/search-attributes.js';

// The settlement context's contract (spec §10): goods types, the catalogue's shape, settlement lines, the monthly
// statement's steps and every message the statement workflow and the order workflows exchange. Shared by the
// worker (activities, schedule), the ops API and the workflows. Bundle-safe: nothing here may import Node modules.
// Message, step and type names are wire contracts: never rename them while runs are open.

/** How a product is sold (the catalogue says): general goods (通用), joint-operation (联营), Huawei or 严选 goods. */
export type GoodsType = 'GENERAL' | 'JOINT_OPERATION' | 'HUAWEI' | 'YANXUAN';

/** Every goods type. */
export const GOODS_TYPES: readonly GoodsType[] = ['GENERAL', 'JOINT_OPERATION', 'HUAWEI', 'YANXUAN'];

/**
 * Which statement a line belongs to: general goods pay a platform fee and the merchant invoices the customer;
 * joint-operation, Huawei and 严选 goods are revenue-split and the merchant invoices Huawei (VAT special invoice).
 */
export type SettlementType = 'PLATFORM_FEE' | 'REVENUE_SPLIT';

/** Every settlement type (one statement per period and type). */
export const SETTLEMENT_TYPES: readonly SettlementType[] = ['PLATFORM_FEE', 'REVENUE_SPLIT'];

/** The settlement type of a goods type. */
export function settlementTypeOf(goods: GoodsType): SettlementType {
  return goods === 'GENERAL' ? 'PLATFORM_FEE' : 'REVENUE_SPLIT';
}

/**
 * Money is integer minor units (fen) and rates integer parts per million: exact, and plain numbers cross Temporal's
 * JSON payloads and pg bigint (parsed back to number: amounts stay far below 2^53 fen) without a decimal type.
 */
export type Minor = number;

/** A rate in parts per million (6 % = 60_000). */
export type Ppm = number;

/** One product in the catalogue. */
export interface CatalogueProduct {
  readonly goods: GoodsType;
  /** VAT rate of the product's invoices (6 % for period software). */
  readonly taxRatePpm: Ppm;
  /** Revenue-split goods: the marketplace's share of gross. Unused for general goods (platform-fee tiers). */
  readonly marketplaceSharePpm: Ppm;
  /** API products enter the statement at activation (§10). */
  readonly apiProduct: boolean;
}

/** One platform-fee tier: applies to a product whose monthly GMV is at most `upToMinor` (absent: no upper bound). */
export interface PlatformFeeTier {
  readonly upToMinor?: Minor;
  readonly ratePpm: Ppm;
}

/** The merchant's invoice template (商家信息 > 发票模板), from which platform-fee invoice requests are prepared. */
export interface InvoiceTemplate {
  /** 数电专票 or 数电普票: the only kinds issued for platform fees. */
  readonly kind: 'DIGITAL_SPECIAL' | 'DIGITAL_ORDINARY';
  readonly title: string;
  readonly taxpayerId: string;
  readonly email: string;
  readonly address?: string;
  readonly bank?: string;
}

/** A joint-operation certification (联营认证) as recorded by the merchant. */
export interface JointOperationCertification {
  readonly id: string;
  readonly status: 'PASSED' | 'PENDING' | 'REJECTED';
  /** The certified company entity: must equal the invoicing entity. */
  readonly companyEntity: string;
  readonly productIds: readonly string[];
}

/** The settlement configuration, validated at start (config.ts). */
export interface SettlementSettings {
  /** Our invoicing company entity (taxpayer identity of the business certification). */
  readonly invoicingEntity: string;
  readonly products: Readonly<Record<string, CatalogueProduct>>;
  /** Products not listed: general goods at this tax rate. */
  readonly defaultTaxRatePpm: Ppm;
  readonly certifications: readonly JointOperationCertification[];
  /** Ascending by upToMinor, the last without a bound. */
  readonly platformFeeTiers: readonly PlatformFeeTier[];
  readonly invoiceTemplate?: InvoiceTemplate;
  /** Non-working dates (YYYY-MM-DD) besides weekends: the bill date moves to the next working day. */
  readonly holidays: readonly string[];
}

/** What happened to an order that may be billed. */
export type BillableEventKind = 'PURCHASE' | 'RENEWAL' | 'UPGRADE' | 'DOWNGRADE' | 'REFUND' | 'USAGE';

/** Supervision as far as settlement cares: settled only when not involved or completed (§10). */
export type SupervisionSettlement = 'NOT_INVOLVED' | 'PENDING' | 'COMPLETED';

/** A billable event as the order workflow knows it; eligibility decides when (and whether) it becomes a line. */
export interface BillableEvent {
  /** Unique per order line and event: `<instanceId>:<marketplace orderId>:<kind>`. */
  readonly lineKey: string;
  readonly kind: BillableEventKind;
  readonly orderWorkflowId: string;
  readonly instanceId: string;
  readonly orderId: string;
  readonly productId: string;
  /** Signed: refunds and downgrades are negative. */
  readonly grossMinor: Minor;
  readonly testOrder: boolean;
  /** When the customer paid (credit customers: when the period was repaid); absent: not paid yet. */
  readonly paidAt?: string;
  /** When the order (a renewal: its new period) takes effect. */
  readonly effectiveAt: string;
  readonly supervision: SupervisionSettlement;
  readonly supervisionCompletedAt?: string;
  /** API products: when the API was activated. */
  readonly activatedAt?: string;
}

/** Where a line stands; the order's SettlementState search attribute shows the least advanced of its lines. */
export type LineState = 'PENDING' | 'ELIGIBLE' | 'IN_STATEMENT' | 'INVOICED' | 'COUNTERSIGNED' | 'PAID' | 'WRITTEN_OFF';

/** The monthly statement's steps, in order. General goods skip the three invoice steps (they invoice the customer). */
export type StatementStep =
  | 'BILL_GENERATED'
  | 'COUNTERSIGN_PENDING'
  | 'INVOICE_NOTICE_RECEIVED'
  | 'INVOICES_ISSUED'
  | 'INVOICES_SIGNED_FOR'
  | 'COUNTERSIGNED'
  | 'PAID'
  /** Every line of the statement written off (ops): nothing left to pay, the statement ends. */
  | 'WRITTEN_OFF';

/** Every step in flow order. */
export const STATEMENT_STEPS: readonly StatementStep[] = [
  'BILL_GENERATED',
  'COUNTERSIGN_PENDING',
  'INVOICE_NOTICE_RECEIVED',
  'INVOICES_ISSUED',
  'INVOICES_SIGNED_FOR',
  'COUNTERSIGNED',
  'PAID',
  'WRITTEN_OFF',
];

/** One group of a statement: per goods type and tax rate. */
export interface StatementGroup {
  readonly goods: GoodsType;
  readonly taxRatePpm: Ppm;
  readonly lines: number;
  readonly grossMinor: Minor;
  /** Marketplace share (revenue split) or platform fee (general goods). */
  readonly shareMinor: Minor;
  readonly netMinor: Minor;
  readonly taxMinor: Minor;
}

/** A built statement's totals. */
export interface StatementSummary {
  readonly statementId: string;
  readonly period: string;
  readonly settlementType: SettlementType;
  readonly groups: readonly StatementGroup[];
  readonly lines: number;
  readonly grossMinor: Minor;
  readonly shareMinor: Minor;
  readonly netMinor: Minor;
  readonly taxMinor: Minor;
}

/** A VAT special invoice the merchant must issue to Huawei (one per tax rate and payment request). */
export interface RequiredInvoice {
  readonly taxRatePpm: Ppm;
  readonly amountMinor: Minor;
  /** Must contain 申付单号 and 对账期次 (§10). */
  readonly remark: string;
  readonly invoiceNo?: string;
  readonly issuedAt?: string;
  readonly mailedTo?: string;
  readonly signedForAt?: string;
}

/** The statement workflow's state (its query answer and the ops API's body). */
export interface StatementState {
  readonly statementId: string;
  readonly period: string;
  readonly settlementType: SettlementType;
  readonly step: StatementStep;
  readonly summary?: StatementSummary;
  /** What the marketplace's bill says, and the difference to ours (flagged to ops when not zero). */
  readonly marketplaceBillMinor?: Minor;
  readonly differenceMinor?: Minor;
  readonly paymentRequestNo?: string;
  readonly invoices: readonly RequiredInvoice[];
  readonly paidAt?: string;
  /** General goods: the platform-fee invoice request, or why it could not be prepared. */
  readonly platformFeeInvoice?: { readonly requested: boolean; readonly error?: string };
  /** Lines written off by ops (the payment will never come), with the reason and who did it. */
  readonly writeOffs?: readonly StatementWriteOff[];
  readonly history: readonly { readonly step: StatementStep; readonly at: string; readonly actor: string }[];
}

/** One write-off of a statement's unpaid lines: reversed in the ledger, their orders told. */
export interface StatementWriteOff {
  readonly lineKeys: readonly string[];
  readonly reason: string;
  readonly at: string;
  readonly actor: string;
  /** The written-off lines' net (what will not be paid). */
  readonly netMinor: Minor;
}

/** A people's step on a statement (ops API → validated update). */
export type StatementAction =
  | { readonly type: 'RECORD_MARKETPLACE_BILL'; readonly amountMinor: Minor; readonly actor: string }
  | { readonly type: 'RECORD_INVOICE_NOTICE'; readonly paymentRequestNo: string; readonly actor: string }
  | { readonly type: 'ISSUE_INVOICE'; readonly taxRatePpm: Ppm; readonly invoiceNo: string; readonly mailedTo: string; readonly actor: string }
  | { readonly type: 'RECORD_SIGN_FOR'; readonly invoiceNo: string; readonly actor: string }
  | { readonly type: 'RECORD_COUNTERSIGN'; readonly actor: string }
  | { readonly type: 'RECORD_PAYMENT'; readonly actor: string }
  /** Writes off these unpaid lines of the statement (absent: every unpaid line) because their payment will not come. */
  | { readonly type: 'WRITE_OFF'; readonly reason: string; readonly lineKeys?: readonly string[]; readonly actor: string };

/** An action as the ops API's body carries it: the actor is the authenticated operator, added by the API. */
export type StatementActionInput = StatementAction extends infer A ? (A extends StatementAction ? Omit<A, 'actor'> : never) : never;

/** Every action type. */
export const STATEMENT_ACTION_TYPES = ['RECORD_MARKETPLACE_BILL', 'RECORD_INVOICE_NOTICE', 'ISSUE_INVOICE', 'RECORD_SIGN_FOR', 'RECORD_COUNTERSIGN', 'RECORD_PAYMENT', 'WRITE_OFF'] as const;

/** Failure type of a refused statement action (out of order, unknown invoice): the ops API answers 409. */
export const STATEMENT_REJECTION_TYPE = 'StatementActionRefused';

/** Failure type of a platform-fee invoice request without an invoice template. */
export const MISSING_INVOICE_TEMPLATE_TYPE = 'MissingInvoiceTemplate';

/** The registered workflow type names. */
export const STATEMENT_WORKFLOW_TYPE = 'settlementStatementWorkflow';
export const MONTHLY_SETTLEMENT_WORKFLOW_TYPE = 'monthlySettlementWorkflow';

/** Id of the Temporal Schedule that starts the monthly run. */
export const SETTLEMENT_SCHEDULE_ID = 'koogallery-settlement';

/** The statement of a period (YYYY-MM) and settlement type: one workflow, ever. */
export function statementWorkflowId(period: string, type: SettlementType, scope = ''): string {
  return `settlement-statement-${period}-${type}${scope ? `-${scope}` : ''}`;
}

/** The monthly run's input (from the schedule's action). */
export interface MonthlySettlementInput {
  /** Non-working dates besides weekends (configuration). */
  readonly holidays: readonly string[];
  /** Tests: bill this period regardless of the date. */
  readonly period?: string;
  /** Only lines whose key starts with this (tests and benchmarks share one database); absent: every line. */
  readonly scope?: string;
}

/** A statement workflow's input. */
export interface StatementInput {
  readonly statementId: string;
  readonly period: string;
  readonly settlementType: SettlementType;
  readonly scope?: string;
}

/** What an order workflow is told as its lines advance. */
export interface LinesAdvanced {
  readonly statementId: string;
  readonly lineKeys: readonly string[];
  readonly state: LineState;
}

/** The statement's state. */
export const getStatementQuery = defineQuery<StatementState>('getStatement');

/** A people's step (validator: out of order → STATEMENT_REJECTION_TYPE, nothing changed). */
export const statementActionUpdate = defineUpdate<StatementState, [StatementAction]>('statementAction');

/** Statement → order workflow: these lines of yours moved on. */
export const settlementLinesAdvancedSignal = defineSignal<[LinesAdvanced]>('settlementLinesAdvanced');

// ---------------------------------------------------------------------------------------------------------------
// The order workflow's side of settlement. Workflow code (deterministic; @temporalio/workflow and the kernel only),
// here because an order workflow may import another context's contract and nothing else of it (the fence). The
// order workflow calls these at its billable events and waits with untilSettled() after its release.
// ---------------------------------------------------------------------------------------------------------------

/** The activity the order workflow calls (implemented by createSettlementActivities). */
export interface SettlementLineActivities {
  recordSettlementLine(e: BillableEvent): Promise<{ state: LineState; reason?: string }>;
  /** Writes off lines no statement holds; answers those now written off (a line in a statement follows it). */
  writeOffUnbilledLines(w: { lineKeys: readonly string[]; reason: string }): Promise<{ lineKeys: string[] }>;
}

/** An order's lines, carried across continue-as-new in the order's state. */
export interface OrderSettlementState {
  readonly lines: Readonly<Record<string, LineState>>;
}

const LINE_ORDER: readonly LineState[] = ['PENDING', 'ELIGIBLE', 'IN_STATEMENT', 'INVOICED', 'COUNTERSIGNED', 'PAID', 'WRITTEN_OFF'];
const rank = (s: LineState): number => LINE_ORDER.indexOf(s);
const isFinal = (s: LineState): boolean => s === 'PAID' || s === 'WRITTEN_OFF';

/** An amount in yuan ("1200.000", "-50.5") as fen, rounded half away from zero; undefined if not a number. */
export function yuanToMinor(text: string | undefined): Minor | undefined {
  const m = /^\s*(-?)(\d{1,13})(?:\.(\d*))?\s*$/.exec(text ?? '');
  if (!m) return undefined;
  const frac = (m[3] ?? '').padEnd(3, '0');
  let minor = Number(m[2]) * 100 + Number(frac.slice(0, 2));
  if (Number(frac[2]) >= 5) minor += 1;
  return m[1] === '-' && minor !== 0 ? -minor : minor;
}

/** What an order tells settlement about itself at a billable event. */
export interface OrderFacts {
  readonly orderWorkflowId: string;
  readonly instanceId: string;
  readonly productId?: string;
  readonly testOrder: boolean;
  readonly supervised: boolean;
}

/**
 * The order workflow's settlement lines: records each billable event as a line (an activity), follows the lines
 * as statements advance them (the settlementLinesAdvanced signal), shows the least advanced line in the
 * SettlementState search attribute, and tells when every line is paid or written off.
 */
export class OrderSettlement {
  private lines: Record<string, LineState>;
  private facts: OrderFacts;
  private readonly acts = proxyActivities<SettlementLineActivities>({
    startToCloseTimeout: '15 s',
    retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });

  constructor(facts: OrderFacts, carried?: OrderSettlementState) {
    this.facts = facts;
    this.lines = { ...(carried?.lines ?? {}) };
  }

  /** The order's product and supervision, once known (a V2 order learns them from Query Order). */
  withProduct(d: { readonly productId?: string; readonly supervision?: unknown }): this {
    this.facts = { ...this.facts, ...(d.productId ? { productId: d.productId } : {}), supervised: this.facts.supervised || d.supervision !== undefined };
    return this;
  }

  /** Supervision ended: accepted → the purchase line is eligible from acceptance; closed unaccepted → written off. */
  async onSupervisionEnded(ended: { readonly outcome: string; readonly acceptedAt?: string }, orderId: string, amount: string | undefined): Promise<void> {
    if (ended.outcome === 'RELEASED' || ended.outcome === 'APPEAL_CLOSED') {
      const unbilled = this.purchaseLineKeys().filter(this.unbilled);
      if (unbilled.length === 0) return;
      // Before this patch the line was written off here only, and stayed PENDING in settlement_lines: ops lists
      // and reports showed a sale waiting for an acceptance that would never come. An activity is a command,
      // hence patched(); runs that passed here before keep their in-workflow write-off.
      if (patched('write-off-unaccepted-purchase-line-in-store')) {
        const off = await this.acts.writeOffUnbilledLines({ lineKeys: unbilled, reason: `supervision closed ${ended.outcome} without acceptance` });
        this.advance(off.lineKeys, 'WRITTEN_OFF');
      } else {
        this.writeOff(unbilled);
      }
      return;
    }
    const at = ended.acceptedAt ?? new Date().toISOString();
    if (this.purchaseLineKeys().length > 0) await this.recordBillableEvent({ kind: 'PURCHASE', orderId, amount, at: at, supervisionCompletedAt: at });
  }

  /** A refreshInstance: renewals from their effective date (the old expiry), renewal refunds negative. */
  async onRefresh(req: { readonly scene: string; readonly orderId: string; readonly orderAmount?: string }, renewedFrom: string | undefined): Promise<void> {
    const now = new Date().toISOString();
    if (req.scene === 'UNSUBSCRIBE_RENEWAL_PERIOD') return this.recordBillableEvent({ kind: 'REFUND', orderId: req.orderId, amount: req.orderAmount, at: now, negative: true });
    if (req.scene === 'TRIAL_TO_FORMAL') return this.recordBillableEvent({ kind: 'PURCHASE', orderId: req.orderId, amount: req.orderAmount, at: now });
    const effectiveAt = renewedFrom !== undefined && Date.parse(renewedFrom) > Date.parse(now) ? new Date(renewedFrom).toISOString() : now;
    return this.recordBillableEvent({ kind: 'RENEWAL', orderId: req.orderId, amount: req.orderAmount, at: now, effectiveAt });
  }

  /** What continue-as-new carries. */
  get state(): OrderSettlementState {
    return { lines: { ...this.lines } };
  }

  /** Records a billable event (purchase, renewal, upgrade, refund …) with its gross in yuan; no amount, no line. */
  async recordBillableEvent(e: { kind: BillableEventKind; orderId: string; amount: string | undefined; at: string; effectiveAt?: string; supervisionCompletedAt?: string; negative?: boolean }): Promise<void> {
    const gross = yuanToMinor(e.amount);
    // Test orders are never settled (§10), and a zero amount (a free trial) has nothing to settle.
    if (this.facts.testOrder || gross === undefined || gross === 0 || !this.facts.productId) return;
    // Keyed by the instance (from the workflow's input), not the workflow id: a replay elsewhere (or of a fixture
    // without its id) derives the same keys as the statements that signal them.
    const lineKey = `${this.facts.instanceId}:${e.orderId}:${e.kind}`;
    const purchase = e.kind === 'PURCHASE';
    const r = await this.acts.recordSettlementLine({
      lineKey,
      kind: e.kind,
      orderWorkflowId: this.facts.orderWorkflowId,
      instanceId: this.facts.instanceId,
      orderId: e.orderId,
      productId: this.facts.productId,
      grossMinor: e.negative ? -Math.abs(gross) : gross,
      testOrder: false,
      // The marketplace calls the merchant only after the customer paid.
      paidAt: e.at,
      effectiveAt: e.effectiveAt ?? e.at,
      supervision: !purchase || !this.facts.supervised ? 'NOT_INVOLVED' : e.supervisionCompletedAt ? 'COMPLETED' : 'PENDING',
      ...(e.supervisionCompletedAt ? { supervisionCompletedAt: e.supervisionCompletedAt } : {}),
      // API products are activated when provisioned.
      activatedAt: e.at,
    });
    this.advance([lineKey], r.state);
  }

  /** The purchase line's keys (to complete or write off when supervision ends). */
  purchaseLineKeys(): string[] {
    return Object.keys(this.lines).filter((k) => k.endsWith(':PURCHASE'));
  }

  /** Whether a line has not reached a statement (as far as this order has heard). */
  private readonly unbilled = (lineKey: string): boolean => this.lines[lineKey] === 'PENDING' || this.lines[lineKey] === 'ELIGIBLE';

  /** Lines that will never be settled (a supervision closed without acceptance): written off. */
  writeOff(lineKeys: readonly string[]): void {
    this.advance(lineKeys.filter(this.unbilled), 'WRITTEN_OFF');
  }

  /** The settlementLinesAdvanced signal's handler. */
  handleLinesAdvanced(p: LinesAdvanced): void {
    this.advance(p.lineKeys.filter((k) => k in this.lines), p.state);
  }

  /** Every line paid or written off (true for an order without lines). */
  settled(): boolean {
    return Object.values(this.lines).every(isFinal);
  }

  /** Waits until settled(), or until `orElse` holds (e.g. continue-as-new is due); true when settled. */
  async untilSettled(orElse: () => boolean = () => false): Promise<boolean> {
    await condition(() => this.settled() || orElse());
    return this.settled();
  }

  private advance(lineKeys: readonly string[], state: LineState): void {
    let changed = false;
    for (const k of lineKeys) {
      const was = this.lines[k];
      // Lines only move forward; a late or repeated signal changes nothing.
      if (was !== undefined && (isFinal(was) || rank(was) >= rank(state))) continue;
      this.lines[k] = state;
      changed = true;
    }
    if (!changed) return;
    const open = Object.values(this.lines).filter((s) => !isFinal(s));
    const shown = open.length > 0 ? open.reduce((a, b) => (rank(b) < rank(a) ? b : a)) : Object.values(this.lines).every((s) => s === 'WRITTEN_OFF') ? 'WRITTEN_OFF' : 'PAID';
    upsertSearchAttributes([{ key: SettlementStateKey, value: shown }]);
  }
}
