import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { NotificationRequest } from '../notifications/contract.js';
import {
  MISSING_INVOICE_TEMPLATE_TYPE,
  settlementLinesAdvancedSignal,
  settlementTypeOf,
  type BillableEvent,
  type LineState,
  type LinesAdvanced,
  type SettlementSettings,
  type StatementInput,
  type StatementState,
  type StatementSummary,
} from './contract.js';
import { eligibilityOf, productOf } from './split.js';
import { advanceLines, buildStatement, insertPlatformFeeInvoiceRequest, ordersOfStatement, saveStatementState, upsertLine, writeOffLines, writeOffUnbilledLines } from './store.js';

// The settlement side effects, built once per worker with their dependencies injected. Each is idempotent: lines
// by key, statements by id, journals by (line, period, kind), notifications by dedupe key, signals are
// re-deliverable (the order workflow ignores lines it already has at that state).

/** Tells an order workflow that its lines moved on; resolves false when the workflow is gone. */
export type OrderSignaller = (orderWorkflowId: string, payload: LinesAdvanced) => Promise<boolean>;

/** What the settlement activities need. */
export interface SettlementActivityDeps {
  readonly pool: Pool;
  readonly settings: SettlementSettings;
  /** Starts notifications (the notification context's enqueuer). */
  readonly enqueueNotifications: (requests: readonly NotificationRequest[]) => Promise<number>;
  /** Signals an order workflow (the worker's own client); tests record instead. */
  readonly signalOrder: OrderSignaller;
  readonly logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

const SIGNAL_PAGE = 500;

/** The settlement activities. */
export function createSettlementActivities(deps: SettlementActivityDeps) {
  const { pool, settings } = deps;
  return {
    /** Records (or updates, while unbilled) a billable event as a settlement line; answers where it stands. */
    async recordSettlementLine(e: BillableEvent): Promise<{ state: LineState; reason?: string }> {
      const product = productOf(settings, e.productId);
      const eligibility = eligibilityOf(e, product);
      const state = await upsertLine(pool, {
        lineKey: e.lineKey,
        orderWorkflowId: e.orderWorkflowId,
        instanceId: e.instanceId,
        orderId: e.orderId,
        productId: e.productId,
        eventKind: e.kind,
        goods: product.goods,
        settlementType: settlementTypeOf(product.goods),
        taxRatePpm: product.taxRatePpm,
        shareRatePpm: product.marketplaceSharePpm,
        grossMinor: e.grossMinor,
        testOrder: e.testOrder,
        eligibleAt: eligibility.eligible ? eligibility.at : null,
        ineligibleReason: eligibility.eligible ? null : eligibility.reason,
        event: e,
      });
      // A test order's line is settled by nobody: it counts as written off, so its order can complete.
      if (!eligibility.eligible && eligibility.never) return { state: 'WRITTEN_OFF', reason: eligibility.reason };
      return eligibility.eligible ? { state } : { state, reason: eligibility.reason };
    },

    /** Writes off an order's lines no statement holds (its supervision closed unaccepted); answers those written off. */
    async writeOffUnbilledLines(w: { lineKeys: readonly string[]; reason: string }): Promise<{ lineKeys: string[] }> {
      return { lineKeys: await writeOffUnbilledLines(pool, w) };
    },

    /** Builds the statement (once) and posts its journals, balanced. */
    async buildSettlementStatement(input: StatementInput): Promise<StatementSummary> {
      return buildStatement(pool, { ...input, tiers: settings.platformFeeTiers });
    },

    /** Writes the statement's state; a marketplace bill that differs from ours is flagged to ops (log and list). */
    async saveSettlementStatement(state: StatementState): Promise<void> {
      await saveStatementState(pool, state);
      if (state.differenceMinor !== undefined && state.differenceMinor !== 0 && state.step === 'COUNTERSIGN_PENDING') {
        deps.logger?.warn(
          { statementId: state.statementId, period: state.period, marketplaceBillMinor: state.marketplaceBillMinor, ourNetMinor: state.summary?.netMinor, differenceMinor: state.differenceMinor },
          "the marketplace's bill differs from our statement",
        );
      }
    },

    /** Moves the statement's lines on (PAID posts their payouts) and tells each order workflow. */
    async advanceSettlementLines(input: { statementId: string; period: string; state: LineState }): Promise<{ orders: number; gone: number }> {
      await advanceLines(pool, input.statementId, input.period, input.state);
      let after = '';
      let orders = 0;
      let gone = 0;
      for (;;) {
        const page = await ordersOfStatement(pool, input.statementId, after, SIGNAL_PAGE);
        if (page.length === 0) break;
        const results = await Promise.all(page.map((o) => deps.signalOrder(o.orderWorkflowId, { statementId: input.statementId, lineKeys: o.lineKeys, state: input.state })));
        orders += page.length;
        gone += results.filter((r) => !r).length;
        after = page[page.length - 1]!.orderWorkflowId;
      }
      return { orders, gone };
    },

    /**
     * Writes off a statement's unpaid lines (ops: the payment will never come), reverses them in the ledger and tells
     * each order workflow its lines are WRITTEN_OFF (a released order then completes). Answers the lines written off.
     */
    async writeOffSettlementLines(input: { statementId: string; period: string; lineKeys?: readonly string[]; reason: string; actor: string }): Promise<{ lineKeys: string[]; netMinor: number; remaining: number }> {
      const r = await writeOffLines(pool, input);
      const byOrder = new Map<string, string[]>();
      for (const l of r.lines) byOrder.set(l.orderWorkflowId, [...(byOrder.get(l.orderWorkflowId) ?? []), l.lineKey]);
      const told = await Promise.all([...byOrder].map(([orderWorkflowId, lineKeys]) => deps.signalOrder(orderWorkflowId, { statementId: input.statementId, lineKeys, state: 'WRITTEN_OFF' })));
      deps.logger?.info({ statementId: input.statementId, lines: r.lines.length, orders: byOrder.size, gone: told.filter((t) => !t).length, operator: input.actor, reason: input.reason }, 'settlement lines written off');
      return { lineKeys: r.lines.map((l) => l.lineKey), netMinor: r.lines.reduce((a, l) => a + l.netMinor, 0), remaining: r.remaining };
    },

    /** The invoice notice reaches the merchant's contacts (notification routing's MERCHANT channels). */
    async notifyInvoiceNotice(state: StatementState): Promise<number> {
      const lines = state.invoices.map((i) => `- VAT special invoice at ${(i.taxRatePpm / 10_000).toFixed(2)} %: ¥${(i.amountMinor / 100).toFixed(2)}, remark "${i.remark}"`);
      return deps.enqueueNotifications([
        {
          dedupeKey: `settlement-invoice-notice-${state.statementId}`,
          kind: 'SETTLEMENT_INVOICE_NOTICE',
          recipient: 'MERCHANT',
          orderId: state.statementId,
          subject: `Invoice notice for billing period ${state.period} (payment request ${state.paymentRequestNo ?? ''})`,
          body: [
            `Huawei Cloud asks for the VAT special invoices of statement ${state.statementId}. Issue one invoice per tax rate; one invoice must not cover two payment requests.`,
            ...lines,
          ].join('\n'),
          data: { statementId: state.statementId, period: state.period, paymentRequestNo: state.paymentRequestNo ?? '', invoices: state.invoices.length },
        },
      ]);
    },

    /** General goods, after the payment request succeeded: the platform-fee invoice request from the template. */
    async requestPlatformFeeInvoice(input: { statementId: string; feeMinor: number }): Promise<void> {
      if (!settings.invoiceTemplate) {
        throw ApplicationFailure.create({
          type: MISSING_INVOICE_TEMPLATE_TYPE,
          nonRetryable: true,
          message: 'no invoice template is configured (SETTLEMENT_CATALOGUE.invoiceTemplate, 商家信息 > 发票模板): the platform-fee invoice cannot be requested',
        });
      }
      await insertPlatformFeeInvoiceRequest(pool, input.statementId, input.feeMinor, settings.invoiceTemplate);
    },
  };
}

/** The settlement activity functions, as the workflows proxy them. */
export type SettlementActivities = ReturnType<typeof createSettlementActivities>;

/** The production signaller: the activity context's client signals the order workflow; a missing workflow is reported, not retried. */
export function clientOrderSignaller(client: () => { workflow: { getHandle(id: string): { signal(def: typeof settlementLinesAdvancedSignal, p: LinesAdvanced): Promise<void> } } }): OrderSignaller {
  return async (orderWorkflowId, payload) => {
    try {
      await client().workflow.getHandle(orderWorkflowId).signal(settlementLinesAdvancedSignal, payload);
      return true;
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') return false;
      throw err;
    }
  };
}
