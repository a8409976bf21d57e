import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSettlementActivities } from '../../../src/settlement/activities.js';
import { parseSettlementCatalogue } from '../../../src/settlement/catalogue-settings.js';
import {
  MONTHLY_SETTLEMENT_WORKFLOW_TYPE,
  STATEMENT_REJECTION_TYPE,
  getStatementQuery,
  statementActionUpdate,
  statementWorkflowId,
  type BillableEvent,
  type LinesAdvanced,
  type StatementAction,
  type StatementActionInput,
  type StatementState,
} from '../../../src/settlement/contract.js';
import { accountBalances, linesOfStatement } from '../../../src/settlement/store.js';
import type { NotificationRequest } from '../../../src/notifications/contract.js';
import { addMissingSearchAttributes } from '../../../scripts/infra/dev-server.js';
import type { OrderActivities } from '../../../src/orders/activities.js';
import { getOrderQuery, purchaseUpdate, refreshUpdate, releaseUpdate, type OrderState, type OrderWorkflowInput } from '../../../src/orders/contract.js';
import { settlementLinesAdvancedSignal } from '../../../src/settlement/contract.js';
import { SettlementStateKey } from '../../../src/kernel/search-attributes.js';
import { aV1OrderInput, anOrderDetails } from '../../support/factories.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '../../../tools/history-recorder/history-json.js';

/**
 * RECORD_SETTLEMENT_FIXTURES=1 writes the runs of this file as replay fixtures (test/replay/histories): the
 * settlement workflows' first record, and the order workflow's `settlement-lines` path.
 */
async function recordFixture(handle: { fetchHistory(): Promise<Parameters<typeof historyToJSON>[0]> }, type: string, name: string): Promise<void> {
  if (process.env.RECORD_SETTLEMENT_FIXTURES !== '1') return;
  const dir = join('test/replay/histories', type);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${historyToJSON(await handle.fetchHistory())}\n`);
}

// Three monthly cycles on the time-skipping server, with the real activities against PostgreSQL: mixed general
// and joint-operation orders, supervised or not, renewals, refunds and test orders. Order workflows are stood in
// for by a recorder of the signals the statements send them.

const ENTITY = 'Example Software Co., Ltd.';
const catalogue = (withTemplate: boolean) =>
  parseSettlementCatalogue(
    JSON.stringify({
      invoicingEntity: ENTITY,
      products: {
        'p-gen': { goods: 'GENERAL', taxRate: '0.06' },
        'p-joint': { goods: 'JOINT_OPERATION', taxRate: '0.06', marketplaceShare: '0.20' },
        'p-hw': { goods: 'HUAWEI', taxRate: '0.13', marketplaceShare: '0.10' },
      },
      jointOperationCertifications: [{ id: 'JOC-1', status: 'PASSED', companyEntity: ENTITY, productIds: ['p-joint'] }],
      ...(withTemplate ? { invoiceTemplate: { kind: 'DIGITAL_SPECIAL', title: ENTITY, taxpayerId: '91310000MA1FL0000X', email: 'ap@example.com' } } : {}),
    }),
  ).settings;

let env: TestWorkflowEnvironment;
let pool: pg.Pool;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let templateOn = true;
const notifications: NotificationRequest[] = [];
const signals: { orderWorkflowId: string; payload: LinesAdvanced }[] = [];

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: testInfra().databaseUrl, max: 4 });
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testInfra().timeSkippingServerPath } } });
  await addMissingSearchAttributes(env.connection, env.namespace ?? 'default');
  taskQueue = uniqueId('tq-settlement');
  const make = (withTemplate: boolean) =>
    createSettlementActivities({
      pool,
      settings: catalogue(withTemplate),
      enqueueNotifications: async (r) => {
        notifications.push(...r);
        return r.length;
      },
      signalOrder: async (orderWorkflowId, payload) => {
        signals.push({ orderWorkflowId, payload });
        // Real order workflows (the order-integration test) are told; the stand-ins of the cycle test do not exist.
        if (!orderWorkflowId.startsWith('order-')) return true;
        try {
          await env.client.workflow.getHandle(orderWorkflowId).signal(settlementLinesAdvancedSignal, payload);
          return true;
        } catch {
          return false;
        }
      },
    });
  const withT = make(true);
  const withoutT = make(false);
  const orderActivities: Partial<OrderActivities> = {
    async lookUpSupervisionTerms() {
      return {};
    },
    async provisionTenant(input) {
      // The failed-purchase case: this tenant can never be created.
      if (input.instanceId.includes('NOPROV')) throw ApplicationFailure.create({ type: 'TenantRejected', message: 'the tenant cannot be created', nonRetryable: true });
      return { frontEndUrl: `https://${input.instanceId}.test`, credentialsSealed: 'sealed' };
    },
    async removeTenant() {},
    async recordTransition() {},
  };
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: testInfra().workflowBundlePath },
    activities: { ...orderActivities, ...withT, requestPlatformFeeInvoice: (i: { statementId: string; feeMinor: number }) => (templateOn ? withT : withoutT).requestPlatformFeeInvoice(i) },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await pool?.end();
});

const recorder = () => createSettlementActivities({ pool, settings: catalogue(true), enqueueNotifications: async () => 0, signalOrder: async () => true });

function ev(scope: string, n: string, over: Partial<BillableEvent>): BillableEvent {
  return {
    lineKey: `${scope}:${n}`,
    kind: 'PURCHASE',
    orderWorkflowId: `order-${scope}-${n.split('/')[0]}`,
    instanceId: `inst-${n}`,
    orderId: `o-${n}`,
    productId: 'p-gen',
    grossMinor: 10_000,
    testOrder: false,
    paidAt: '2030-01-10T00:00:00.000Z',
    effectiveAt: '2030-01-10T00:00:00.000Z',
    supervision: 'NOT_INVOLVED',
    ...over,
  };
}

type Handle = WorkflowHandle<(i: unknown) => Promise<StatementState>>;

async function act(h: Handle, action: StatementActionInput): Promise<StatementState> {
  return h.executeUpdate(statementActionUpdate, { args: [{ ...action, actor: 'op-test' } as StatementAction] });
}

async function refusal(h: Handle, action: StatementActionInput): Promise<string> {
  try {
    await act(h, action);
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(STATEMENT_REJECTION_TYPE);
    return cause.message;
  }
  throw new Error('the action was not refused');
}

async function startMonth(scope: string, period: string) {
  const monthly = await env.client.workflow.start(MONTHLY_SETTLEMENT_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueId('monthly'), args: [{ holidays: [], period, scope: `${scope}:` }] });
  expect(await monthly.result()).toMatchObject({ period });
  if (period === '2030-01') await recordFixture(monthly, 'monthlySettlementWorkflow', 'starts-both-statements');
  const split = env.client.workflow.getHandle(statementWorkflowId(period, 'REVENUE_SPLIT', `${scope}:`)) as Handle;
  const general = env.client.workflow.getHandle(statementWorkflowId(period, 'PLATFORM_FEE', `${scope}:`)) as Handle;
  await waitFor(async () => (await split.query(getStatementQuery)).step === 'BILL_GENERATED');
  await waitFor(async () => (await general.query(getStatementQuery)).step === 'BILL_GENERATED');
  return { split, general };
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if (await check()) return;
    } catch {
      /* not started yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out');
}

async function payRevenueSplit(h: Handle, paymentRequestNo: string, invoicePrefix: string): Promise<StatementState> {
  const built = await h.query(getStatementQuery);
  await act(h, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: built.summary!.netMinor });
  const noticed = await act(h, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo });
  for (const inv of noticed.invoices) await act(h, { type: 'ISSUE_INVOICE', taxRatePpm: inv.taxRatePpm, invoiceNo: `${invoicePrefix}-${inv.taxRatePpm}`, mailedTo: 'invoices@huawei.example' });
  for (const inv of noticed.invoices) await act(h, { type: 'RECORD_SIGN_FOR', invoiceNo: `${invoicePrefix}-${inv.taxRatePpm}` });
  await act(h, { type: 'RECORD_COUNTERSIGN' });
  return act(h, { type: 'RECORD_PAYMENT' });
}

describe('monthly settlement (time-skipping, real PostgreSQL)', () => {
  it('over three months, statements hold exactly the eligible lines, balance, carry the remark, and pay out', async () => {
    const scope = uniqueId('cyc');
    const rec = recorder();
    // Month 1 (2030-01): a general purchase, a joint-operation purchase, a Huawei purchase, a refund of part of the
    // general one, a test order, a supervised joint-operation purchase still in supervision, an unpaid order.
    await rec.recordSettlementLine(ev(scope, 'g1', { productId: 'p-gen', grossMinor: 50_000 }));
    await rec.recordSettlementLine(ev(scope, 'g1/refund', { kind: 'REFUND', productId: 'p-gen', grossMinor: -20_000 }));
    await rec.recordSettlementLine(ev(scope, 'j1', { productId: 'p-joint', grossMinor: 100_000 }));
    await rec.recordSettlementLine(ev(scope, 'h1', { productId: 'p-hw', grossMinor: 30_000 }));
    expect(await rec.recordSettlementLine(ev(scope, 't1', { productId: 'p-joint', testOrder: true }))).toEqual({ state: 'WRITTEN_OFF', reason: 'test orders are never settled' });
    expect((await rec.recordSettlementLine(ev(scope, 's1', { productId: 'p-joint', grossMinor: 70_000, supervision: 'PENDING' }))).state).toBe('PENDING');
    await rec.recordSettlementLine(ev(scope, 'u1', { productId: 'p-gen', paidAt: undefined }));
    // A renewal of j1 that takes effect in March: billed in March, not before.
    await rec.recordSettlementLine(ev(scope, 'j1/renewal', { kind: 'RENEWAL', productId: 'p-joint', grossMinor: 100_000, effectiveAt: '2030-03-10T00:00:00.000Z' }));

    const m1 = await startMonth(scope, '2030-01');
    const s1 = await m1.split.query(getStatementQuery);
    expect((await linesOfStatement(pool, s1.statementId)).map((l) => l.lineKey)).toEqual([`${scope}:h1`, `${scope}:j1`]);
    expect(s1.summary!.groups.map((g) => [g.goods, g.taxRatePpm, g.grossMinor, g.shareMinor, g.netMinor])).toEqual([
      ['HUAWEI', 130_000, 30_000, 3_000, 27_000],
      ['JOINT_OPERATION', 60_000, 100_000, 20_000, 80_000],
    ]);
    const g1 = await m1.general.query(getStatementQuery);
    expect((await linesOfStatement(pool, g1.statementId)).map((l) => l.lineKey)).toEqual([`${scope}:g1`, `${scope}:g1/refund`]);
    // Refund netted: GMV 300.00 → 5 % tier; fee 25.00 − 10.00.
    expect(g1.summary).toMatchObject({ grossMinor: 30_000, shareMinor: 1_500, netMinor: 28_500 });

    // Revenue split: the marketplace bill differs by ¥1.00 and is flagged; payment before sign-for is refused.
    const billed = await act(m1.split, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: s1.summary!.netMinor + 100 });
    expect(billed.differenceMinor).toBe(100);
    expect(await refusal(m1.split, { type: 'RECORD_PAYMENT' })).toMatch(/payment is recorded at COUNTERSIGNED/);
    const noticed = await act(m1.split, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: `PR${scope.replace(/[^A-Za-z0-9]/g, '')}1` });
    expect(noticed.invoices.map((i) => i.remark)).toEqual([noticed.invoices[0]!.remark, noticed.invoices[0]!.remark]);
    expect(noticed.invoices[0]!.remark).toMatch(/^申付单号 PR.*; 对账期次 2030-01$/);
    expect(notifications.some((n) => n.kind === 'SETTLEMENT_INVOICE_NOTICE' && n.recipient === 'MERCHANT' && n.orderId === s1.statementId)).toBe(true);
    await act(m1.split, { type: 'ISSUE_INVOICE', taxRatePpm: 60_000, invoiceNo: `${scope}-A`, mailedTo: 'invoices@huawei.example' });
    expect(await refusal(m1.split, { type: 'RECORD_SIGN_FOR', invoiceNo: `${scope}-A` })).toMatch(/once every invoice is issued/);
    await act(m1.split, { type: 'ISSUE_INVOICE', taxRatePpm: 130_000, invoiceNo: `${scope}-B`, mailedTo: 'invoices@huawei.example' });
    await act(m1.split, { type: 'RECORD_SIGN_FOR', invoiceNo: `${scope}-A` });
    const before = await m1.split.query(getStatementQuery);
    expect(await refusal(m1.split, { type: 'RECORD_PAYMENT' })).toMatch(/not all issued and signed for/);
    expect(await m1.split.query(getStatementQuery)).toEqual(before); // nothing changed
    await act(m1.split, { type: 'RECORD_SIGN_FOR', invoiceNo: `${scope}-B` });
    await act(m1.split, { type: 'RECORD_COUNTERSIGN' });
    const paid1 = await act(m1.split, { type: 'RECORD_PAYMENT' });
    expect(paid1.step).toBe('PAID');
    expect(await m1.split.result()).toMatchObject({ step: 'PAID' });
    expect((await linesOfStatement(pool, s1.statementId)).every((l) => l.state === 'PAID')).toBe(true);
    expect(signals.filter((s) => s.payload.statementId === s1.statementId && s.payload.state === 'PAID').map((s) => s.orderWorkflowId).sort()).toEqual([`order-${scope}-h1`, `order-${scope}-j1`]);

    // General goods: no invoice notice; after payment the platform-fee invoice request is prepared.
    await act(m1.general, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: g1.summary!.netMinor });
    expect(await refusal(m1.general, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: 'X' })).toMatch(/general goods get no invoice notice/);
    await act(m1.general, { type: 'RECORD_COUNTERSIGN' });
    await act(m1.general, { type: 'RECORD_PAYMENT' });
    expect(await m1.general.result()).toMatchObject({ step: 'PAID', platformFeeInvoice: { requested: true } });
    await recordFixture(m1.split, 'settlementStatementWorkflow', 'revenue-split-refusals-then-paid');
    await recordFixture(m1.general, 'settlementStatementWorkflow', 'platform-fee-paid-invoice-requested');
    const fee = await pool.query('SELECT fee_minor::int AS fee, template->>$2 AS title FROM platform_fee_invoice_requests WHERE statement_id = $1', [g1.statementId, 'title']);
    expect(fee.rows).toEqual([{ fee: 1_500, title: ENTITY }]);

    // Month 2 (2030-02): s1's supervision completes in February; nothing else new.
    await rec.recordSettlementLine(ev(scope, 's1', { productId: 'p-joint', grossMinor: 70_000, supervision: 'COMPLETED', supervisionCompletedAt: '2030-02-20T00:00:00.000Z' }));
    const m2 = await startMonth(scope, '2030-02');
    const s2 = await m2.split.query(getStatementQuery);
    expect((await linesOfStatement(pool, s2.statementId)).map((l) => l.lineKey)).toEqual([`${scope}:s1`]);
    expect((await m2.general.result()).summary!.lines).toBe(0);
    await recordFixture(m2.general, 'settlementStatementWorkflow', 'empty-month');
    // The invoice of January's payment request cannot be reused (one invoice, one payment request).
    await act(m2.split, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: s2.summary!.netMinor });
    await act(m2.split, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: 'PR2' });
    expect(await refusal(m2.split, { type: 'ISSUE_INVOICE', taxRatePpm: 130_000, invoiceNo: 'X', mailedTo: 'm' })).toMatch(/no invoice is required at tax rate 130000/);
    await act(m2.split, { type: 'ISSUE_INVOICE', taxRatePpm: 60_000, invoiceNo: `${scope}-C`, mailedTo: 'invoices@huawei.example' });
    await act(m2.split, { type: 'RECORD_SIGN_FOR', invoiceNo: `${scope}-C` });
    await act(m2.split, { type: 'RECORD_COUNTERSIGN' });
    await act(m2.split, { type: 'RECORD_PAYMENT' });

    // Month 3 (2030-03): the renewal, effective in March, and a general purchase without an invoice template.
    await rec.recordSettlementLine(ev(scope, 'g3', { productId: 'p-gen', grossMinor: 20_000, paidAt: '2030-03-02T00:00:00.000Z', effectiveAt: '2030-03-02T00:00:00.000Z' }));
    const m3 = await startMonth(scope, '2030-03');
    const s3 = await m3.split.query(getStatementQuery);
    expect((await linesOfStatement(pool, s3.statementId)).map((l) => l.lineKey)).toEqual([`${scope}:j1/renewal`]);
    await payRevenueSplit(m3.split, 'PR3', `${scope}-D`);
    templateOn = false;
    try {
      await act(m3.general, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 0 });
      await act(m3.general, { type: 'RECORD_COUNTERSIGN' });
      await act(m3.general, { type: 'RECORD_PAYMENT' });
      const r = await m3.general.result();
      expect(r.platformFeeInvoice).toEqual({ requested: false, error: expect.stringMatching(/no invoice template is configured/) });
      await recordFixture(m3.general, 'settlementStatementWorkflow', 'platform-fee-paid-without-template');
    } finally {
      templateOn = true;
    }
    // Still outside every statement: the unpaid order and the test order.
    const left = await pool.query<{ line_key: string; statement_id: string | null }>('SELECT line_key, statement_id FROM settlement_lines WHERE starts_with(line_key, $1) AND statement_id IS NULL ORDER BY line_key', [`${scope}:`]);
    expect(left.rows.map((r) => r.line_key)).toEqual([`${scope}:t1`, `${scope}:u1`]);
    for (const period of ['2030-01', '2030-02', '2030-03']) {
      const balances = await accountBalances(pool, period);
      expect(Object.values(balances).reduce((s, v) => s + v, 0)).toBe(0);
    }
  });

  it('when a settled order is released, its workflow stays open until its last line is paid', async () => {
    const orderId = uniqueId('SETL').replace(/[^A-Za-z0-9]/g, '');
    const input: OrderWorkflowInput = aV1OrderInput(orderId, { settlement: true, details: anOrderDetails({ productId: 'p-joint', orderAmount: '1200.000', expireTime: '2030-05-01T00:00:00.000Z' }) });
    const workflowId = `order-${orderId}`;
    const order = await env.client.workflow.start('orderWorkflow', { taskQueue, workflowId, args: [input] });
    await order.executeUpdate(purchaseUpdate, { args: [{ businessId: 'b1', testOrder: false }] });
    // A renewal effective at the old expiry, and a refund of it.
    await order.executeUpdate(refreshUpdate, { args: [{ orderId: `${orderId}R`, scene: 'RENEWAL', expireTime: '2030-06-01T00:00:00.000Z', orderAmount: '100.000', testOrder: false }] });
    await order.executeUpdate(refreshUpdate, { args: [{ orderId: `${orderId}U`, scene: 'UNSUBSCRIBE_RENEWAL_PERIOD', expireTime: '2030-05-01T00:00:00.000Z', orderAmount: '-100.000', testOrder: false }] });
    await order.executeUpdate(releaseUpdate, { args: [{ orderId, testOrder: false }] });
    const released = (await order.query(getOrderQuery)) as OrderState;
    expect(released.phase).toBe('RELEASED');
    expect(Object.values(released.settlement?.lines ?? {}).length).toBeGreaterThan(0);
    expect((await order.describe()).status.name).toBe('RUNNING');
    const lines = await pool.query<{ line_key: string; gross_minor: string; eligible_at: Date }>('SELECT line_key, gross_minor, eligible_at FROM settlement_lines WHERE order_workflow_id = $1 ORDER BY line_key', [workflowId]);
    expect(lines.rows.map((r) => [r.line_key.slice(input.instanceId.length), Number(r.gross_minor)])).toEqual([
      [`:${orderId}:PURCHASE`, 120_000],
      [`:${orderId}R:RENEWAL`, 10_000],
      [`:${orderId}U:REFUND`, -10_000],
    ]);
    expect(lines.rows[1]!.eligible_at.toISOString()).toBe('2030-05-01T00:00:00.000Z');

    // Bill everything eligible up to the renewal's month; pay it; the order completes.
    const period = lines.rows.map((r) => r.eligible_at.toISOString().slice(0, 7)).sort().at(-1)!;
    await env.client.workflow.execute(MONTHLY_SETTLEMENT_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueId('monthly'), args: [{ holidays: [], period, scope: `${input.instanceId}:` }] });
    const st = env.client.workflow.getHandle(statementWorkflowId(period, 'REVENUE_SPLIT', `${input.instanceId}:`)) as Handle;
    await waitFor(async () => (await st.query(getStatementQuery)).step === 'BILL_GENERATED');
    expect((await st.query(getStatementQuery)).summary!.lines).toBe(3);
    await act(st, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 0 });
    await act(st, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: 'PRORDER' });
    const s = await act(st, { type: 'ISSUE_INVOICE', taxRatePpm: 60_000, invoiceNo: `${orderId}-INV`, mailedTo: 'ap@huawei.example' });
    expect(s.step).toBe('INVOICES_ISSUED');
    expect((await order.describe()).status.name).toBe('RUNNING');
    await act(st, { type: 'RECORD_SIGN_FOR', invoiceNo: `${orderId}-INV` });
    await act(st, { type: 'RECORD_COUNTERSIGN' });
    expect((await order.describe()).status.name).toBe('RUNNING');
    await act(st, { type: 'RECORD_PAYMENT' });
    const done = (await order.result()) as OrderState;
    expect(Object.values(done.settlement!.lines)).toEqual(['PAID', 'PAID', 'PAID']);
    expect((await order.describe()).typedSearchAttributes.get(SettlementStateKey)).toBe('PAID');
    await recordFixture(order, 'orderWorkflow', 'v1-settled-renewal-refund-paid.after-look-up-v1-supervision-in-worker.after-settlement-lines');
  });
  it('when ops write off lines whose payment will not come, the ledger reverses them and their orders complete', async () => {
    // Order A: a purchase and a renewal; the renewal is written off, the rest paid. Order B: everything written off.
    const start = async (suffix: string) => {
      const orderId = uniqueId(`WOFF${suffix}`).replace(/[^A-Za-z0-9]/g, '');
      const input: OrderWorkflowInput = aV1OrderInput(orderId, { settlement: true, details: anOrderDetails({ productId: 'p-joint', orderAmount: '1200.000', expireTime: '2030-05-01T00:00:00.000Z' }) });
      const order = await env.client.workflow.start('orderWorkflow', { taskQueue, workflowId: `order-${orderId}`, args: [input] });
      await order.executeUpdate(purchaseUpdate, { args: [{ businessId: 'b1', testOrder: false }] });
      await order.executeUpdate(refreshUpdate, { args: [{ orderId: `${orderId}R`, scene: 'RENEWAL', expireTime: '2030-06-01T00:00:00.000Z', orderAmount: '100.000', testOrder: false }] });
      await order.executeUpdate(releaseUpdate, { args: [{ orderId, testOrder: false }] });
      return { orderId, input, order };
    };
    const a = await start('A');
    const b = await start('B');
    const period = '2030-05';
    const statementOf = async (o: { input: OrderWorkflowInput }) => {
      await env.client.workflow.execute(MONTHLY_SETTLEMENT_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueId('monthly'), args: [{ holidays: [], period, scope: `${o.input.instanceId}:` }] });
      const st = env.client.workflow.getHandle(statementWorkflowId(period, 'REVENUE_SPLIT', `${o.input.instanceId}:`)) as Handle;
      await waitFor(async () => (await st.query(getStatementQuery)).step === 'BILL_GENERATED');
      expect((await st.query(getStatementQuery)).summary!.lines).toBe(2);
      return st;
    };
    const stA = await statementOf(a);
    const stB = await statementOf(b);
    const renewalA = `${a.input.instanceId}:${a.orderId}R:RENEWAL`;

    // Partial: the renewal only. The statement stays where it is; the order waits for its purchase line.
    expect(await refusal(stA, { type: 'WRITE_OFF', reason: ' ' })).toMatch(/reason/);
    const partial = await act(stA, { type: 'WRITE_OFF', reason: 'customer insolvent', lineKeys: [renewalA] });
    expect(partial.step).toBe('BILL_GENERATED');
    expect(partial.writeOffs).toEqual([expect.objectContaining({ lineKeys: [renewalA], reason: 'customer insolvent', actor: 'op-test' })]);
    expect(await refusal(stA, { type: 'WRITE_OFF', reason: 'again', lineKeys: [renewalA] })).toMatch(/already written off/);
    expect(await refusal(stA, { type: 'WRITE_OFF', reason: 'not ours', lineKeys: ['no-such-line'] })).toMatch(/none of these lines/);
    await waitFor(async () => ((await a.order.query(getOrderQuery)) as OrderState).settlement?.lines[renewalA] === 'WRITTEN_OFF');
    expect((await a.order.describe()).status.name).toBe('RUNNING');
    // The rest is paid: the purchase is paid out, the written-off renewal is not.
    await payRevenueSplit(stA, `PR${a.orderId}`.slice(0, 60), `${a.orderId}-I`);
    const doneA = (await a.order.result()) as OrderState;
    expect(doneA.settlement!.lines).toEqual({ [`${a.input.instanceId}:${a.orderId}:PURCHASE`]: 'PAID', [renewalA]: 'WRITTEN_OFF' });

    // Everything: the statement ends WRITTEN_OFF, the order completes, later steps are refused.
    const all = await act(stB, { type: 'WRITE_OFF', reason: 'bill never paid' });
    expect(all.step).toBe('WRITTEN_OFF');
    expect(all.history.at(-1)).toMatchObject({ step: 'WRITTEN_OFF', actor: 'op-test' });
    const doneB = (await b.order.result()) as OrderState;
    expect(Object.values(doneB.settlement!.lines)).toEqual(['WRITTEN_OFF', 'WRITTEN_OFF']);
    expect((await b.order.describe()).typedSearchAttributes.get(SettlementStateKey)).toBe('WRITTEN_OFF');
    expect(await stB.result()).toMatchObject({ step: 'WRITTEN_OFF' });
    await recordFixture(stA, 'settlementStatementWorkflow', 'revenue-split-line-written-off-then-paid');
    await recordFixture(stB, 'settlementStatementWorkflow', 'revenue-split-all-written-off');

    // The ledger: each written-off line nets to zero in every account; each statement and the period balance.
    const perAccount = await pool.query<{ line_key: string; account: string; total: string }>(
      `SELECT line_key, account, sum(amount_minor)::text AS total FROM ledger_postings WHERE line_key = ANY($1) GROUP BY line_key, account`,
      [[renewalA, ...Object.keys(doneB.settlement!.lines)]],
    );
    expect(perAccount.rows.length).toBeGreaterThan(0);
    expect(perAccount.rows.filter((r) => r.total !== '0')).toEqual([]);
    const kinds = await pool.query<{ kind: string }>(`SELECT DISTINCT kind FROM ledger_postings WHERE line_key = $1 ORDER BY kind`, [renewalA]);
    expect(kinds.rows.map((r) => r.kind)).toEqual(['MARKETPLACE_SHARE', 'OUTPUT_VAT', 'SALE', 'WRITE_OFF']);
    for (const st of [stA, stB]) {
      const sum = await pool.query<{ total: string }>('SELECT coalesce(sum(amount_minor), 0)::text AS total FROM ledger_postings WHERE statement_id = $1', [st.workflowId]);
      expect(sum.rows[0]!.total).toBe('0');
    }
    expect(Object.values(await accountBalances(pool, period)).reduce((x, v) => x + v, 0)).toBe(0);
    const bank = await pool.query<{ total: string }>(`SELECT coalesce(sum(amount_minor), 0)::text AS total FROM ledger_postings WHERE kind = 'PAYOUT' AND line_key = $1`, [renewalA]);
    expect(bank.rows[0]!.total).toBe('0');
    const payouts = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ledger_postings WHERE kind = 'PAYOUT' AND line_key = $1`, [renewalA]);
    expect(payouts.rows[0]!.n).toBe('0');
  });
  it('when an order has nothing to settle (a test order, a zero amount, a purchase that failed), it closes without waiting', async () => {
    const run = async (prefix: string, over: Partial<OrderWorkflowInput>, testOrder: boolean, orderAmount: string) => {
      const orderId = uniqueId(prefix).replace(/[^A-Za-z0-9]/g, '');
      const input: OrderWorkflowInput = aV1OrderInput(orderId, { settlement: true, testOrder, details: anOrderDetails({ productId: 'p-joint', orderAmount, expireTime: '2030-05-01T00:00:00.000Z' }), ...over });
      const order = await env.client.workflow.start('orderWorkflow', { taskQueue, workflowId: `order-${orderId}`, args: [input] });
      await order.executeUpdate(purchaseUpdate, { args: [{ businessId: 'b1', testOrder }] });
      return { order, workflowId: `order-${orderId}` };
    };
    const linesOf = async (workflowId: string) => (await pool.query('SELECT 1 FROM settlement_lines WHERE order_workflow_id = $1', [workflowId])).rowCount;

    // Released test order and released free order: complete at release, no lines.
    for (const [prefix, testOrder, amount] of [['TST', true, '1200.000'], ['FREE', false, '0']] as const) {
      const { order, workflowId } = await run(prefix, {}, testOrder, amount);
      expect(((await order.query(getOrderQuery)) as OrderState).phase).toBe('ACTIVE');
      await order.executeUpdate(releaseUpdate, { args: [{ orderId: workflowId.slice('order-'.length), testOrder }] });
      const done = (await order.result()) as OrderState;
      expect(done.phase).toBe('RELEASED');
      expect(done.settlement?.lines).toEqual({});
      expect(await linesOf(workflowId)).toBe(0);
    }

    // A purchase that failed (never provisioned), then released: it completes without lines. (Left alone, it ends
    // after its 30-day retention through the same path: no line was ever recorded.)
    const { order, workflowId } = await run('NOPROV', {}, false, '1200.000');
    expect(((await order.query(getOrderQuery)) as OrderState).phase).toBe('FAILED');
    await order.executeUpdate(releaseUpdate, { args: [{ orderId: workflowId.slice('order-'.length), testOrder: false }] });
    const done = (await order.result()) as OrderState;
    expect(done.phase).toBe('RELEASED');
    expect(done.settlement?.lines).toEqual({});
    expect(await linesOf(workflowId)).toBe(0);
  });
});
