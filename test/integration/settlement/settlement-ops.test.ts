import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSettlementActivities } from '../../../src/settlement/activities.js';
import { MONTHLY_SETTLEMENT_WORKFLOW_TYPE, statementWorkflowId, type BillableEvent } from '../../../src/settlement/contract.js';
import { ensureSettlementSchedule } from '../../../src/settlement/schedule.js';
import { linesOfInstance } from '../../../src/settlement/store.js';
import { encodeCursor } from '../../../src/platform/http/ops/params.js';
import { uniqueId } from '../../setup/infra.js';
import { readPages } from '../../support/paging.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';

// The settlement routes of the ops API, in-process against the real PostgreSQL and Temporal (the whole service:
// its worker runs the statement workflows): list, read, steps in order (200), out of order (409, nothing changed),
// invalid bodies (400), the flagged bill difference, and a second payment request reusing an invoice (409).

const ENTITY = 'Ops Test Co., Ltd.';
let h: ServiceHarness;

beforeAll(async () => {
  h = await startServiceHarness({
    env: {
      SETTLEMENT_CATALOGUE: JSON.stringify({
        invoicingEntity: ENTITY,
        products: { 'p-joint': { goods: 'JOINT_OPERATION', taxRate: '0.06', marketplaceShare: '0.2' } },
        jointOperationCertifications: [{ id: 'JOC', status: 'PASSED', companyEntity: ENTITY, productIds: ['p-joint'] }],
      }),
    },
  });
});
afterAll(async () => {
  await h?.close();
});

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.internalOrigin}/ops/settlement${path}`, {
    method,
    headers: { authorization: `Bearer ${h.opsToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function statementOf(scope: string, period: string): Promise<string> {
  const rec = createSettlementActivities({ pool: h.pool, settings: h.config.settlement, enqueueNotifications: async () => 0, signalOrder: async () => true });
  const ev: BillableEvent = {
    lineKey: `${scope}:1`,
    kind: 'PURCHASE',
    orderWorkflowId: `order-${scope}`,
    instanceId: `i-${scope}`,
    orderId: `o-${scope}`,
    productId: 'p-joint',
    grossMinor: 12_345,
    testOrder: false,
    paidAt: `${period}-05T00:00:00.000Z`,
    effectiveAt: `${period}-05T00:00:00.000Z`,
    supervision: 'NOT_INVOLVED',
  };
  await rec.recordSettlementLine(ev);
  await h.client.workflow.execute(MONTHLY_SETTLEMENT_WORKFLOW_TYPE, { taskQueue: h.config.temporal.taskQueue, workflowId: uniqueId('monthly'), args: [{ holidays: [], period, scope: `${scope}:` }] });
  const id = statementWorkflowId(period, 'REVENUE_SPLIT', `${scope}:`);
  await expect.poll(async () => (await call('GET', `/statements/${id}`)).body?.state?.step, { timeout: 15_000, interval: 150 }).toBe('BILL_GENERATED');
  return id;
}

type Listed = { statementId: string; period: string; settlementType: string };

/** The statements the list answers for `query`, `limit` a page (see readPages for `o`). */
function listedStatements(query: string, limit: number, o: Parameters<typeof readPages<Listed>>[1] = {}): Promise<Listed[]> {
  return readPages<Listed>(async (cursor) => {
    const res = await call('GET', `/statements?${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    return { status: res.status, items: res.body?.items ?? [], nextCursor: res.body?.nextCursor ?? null };
  }, o);
}

describe('settlement ops routes', () => {
  it('when steps come in order they apply; out of order they are refused with 409 and change nothing', async () => {
    const scope = uniqueId('ops');
    const id = await statementOf(scope, '2032-05');
    const read = await call('GET', `/statements/${id}`);
    expect(read.body).toMatchObject({ live: true, statement: { statementId: id, lines: 1, netMinor: 9_876, flagged: false } });

    expect(await call('POST', `/statements/${id}/actions`, { type: 'RECORD_PAYMENT' })).toMatchObject({ status: 409, body: { error: 'CONFLICT', message: expect.stringMatching(/COUNTERSIGNED/), step: 'BILL_GENERATED' } });
    expect((await call('POST', `/statements/${id}/actions`, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: '1' })).status).toBe(400);
    expect((await call('POST', `/statements/${id}/actions`, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 1, extra: true })).status).toBe(400);
    expect((await call('POST', `/statements/${id}/actions`, { type: 'NOPE' })).status).toBe(400);
    expect((await call('GET', `/statements/${id}`)).body.state.step).toBe('BILL_GENERATED');

    const billed = await call('POST', `/statements/${id}/actions`, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 9_900 });
    expect(billed).toMatchObject({ status: 200, body: { applied: true, state: { step: 'COUNTERSIGN_PENDING', differenceMinor: 24, history: [{ actor: 'system' }, { actor: 'ops' }] } } });
    // Every run of this test adds a flagged statement to 2032-05: past the first page, ours is found by paging.
    expect((await listedStatements('flagged=true&period=2032-05', 200)).map((s) => s.statementId)).toContain(id);

    const noticed = await call('POST', `/statements/${id}/actions`, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: 'PR-OPS-1' });
    expect(noticed.body.state.invoices).toEqual([{ taxRatePpm: 60_000, amountMinor: 9_876, remark: '申付单号 PR-OPS-1; 对账期次 2032-05' }]);
    const invoiceNo = `INV-${scope}`.replace(/[^A-Za-z0-9_-]/g, '');
    expect((await call('POST', `/statements/${id}/actions`, { type: 'ISSUE_INVOICE', taxRatePpm: 60_000, invoiceNo, mailedTo: 'ap@huawei.example' })).status).toBe(200);

    // Another month's payment request cannot reuse the invoice.
    const other = await statementOf(uniqueId('ops2'), '2032-06');
    await call('POST', `/statements/${other}/actions`, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 9_876 });
    await call('POST', `/statements/${other}/actions`, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: 'PR-OPS-2' });
    expect(await call('POST', `/statements/${other}/actions`, { type: 'ISSUE_INVOICE', taxRatePpm: 60_000, invoiceNo, mailedTo: 'ap@huawei.example' })).toMatchObject({
      status: 409,
      body: { message: expect.stringMatching(/two payment requests/) },
    });
  });

  it('when the statements fill several pages, then following nextCursor lists each once, newest period first, and a bad cursor is a 400', async () => {
    // A random period and the month before it, three scopes: four statements of ours in the first (one per settlement
    // type and scope), two in the second. Another run may have drawn the same period: ours are told apart by id.
    const year = 2100 + Math.floor(Math.random() * 7000);
    const month = 2 + Math.floor(Math.random() * 10);
    const mm = (m: number) => `${year}-${String(m).padStart(2, '0')}`;
    const [newer, period, older] = [mm(month + 1), mm(month), mm(month - 1)];
    const revenueSplit = [await statementOf(uniqueId('page'), period), await statementOf(uniqueId('page'), period), await statementOf(uniqueId('page'), older)];
    const scopes = revenueSplit.map((id) => id.slice(id.indexOf('REVENUE_SPLIT') + 'REVENUE_SPLIT'.length));
    const isOurs = (s: Listed) => scopes.some((scope) => s.statementId.endsWith(scope));

    const onePage = await listedStatements(`period=${period}`, 200);
    expect(onePage.filter(isOurs)).toHaveLength(4);
    expect(onePage.map((s) => s.statementId)).toEqual(expect.arrayContaining(revenueSplit.slice(0, 2)));
    expect((await listedStatements(`period=${period}`, 1)).map((s) => s.statementId)).toEqual(onePage.map((s) => s.statementId));

    // From the end of the month after ours (a cursor as the list would give there) down past the month before it, 7
    // a page (boundaries inside a period and across periods): each statement once, in the documented order, ours
    // where their periods put them. Starting there keeps the walk short however many statements earlier runs left.
    const from = encodeCursor({ p: newer, t: '~', s: '~' });
    const walked = await listedStatements('', 7, { from, enough: (items) => items.at(-1)!.period < older });
    expect(new Set(walked.map((s) => s.statementId)).size).toBe(walked.length);
    for (let i = 1; i < walked.length; i += 1) {
      const a = walked[i - 1]!;
      const b = walked[i]!;
      const inOrder = b.period < a.period || (b.period === a.period && (b.settlementType > a.settlementType || (b.settlementType === a.settlementType && b.statementId > a.statementId)));
      expect(inOrder, `${a.statementId} before ${b.statementId}`).toBe(true);
    }
    expect(walked.filter(isOurs).map((s) => s.period)).toEqual([period, period, period, period, older, older]);
    expect(await call('GET', '/statements?cursor=not-a-cursor')).toMatchObject({ status: 400, body: { error: 'INVALID_REQUEST' } });
  });

  it('when ops write off a statement, it is recorded with the operator and balances; out of order it is refused with 409', async () => {
    const id = await statementOf(uniqueId('opswo'), '2032-07');
    expect((await call('POST', `/statements/${id}/actions`, { type: 'WRITE_OFF' })).status).toBe(400);
    expect((await call('POST', `/statements/${id}/actions`, { type: 'WRITE_OFF', reason: 'x', lineKeys: [] })).status).toBe(400);
    const off = await call('POST', `/statements/${id}/actions`, { type: 'WRITE_OFF', reason: 'the marketplace will not pay this bill' });
    expect(off).toMatchObject({ status: 200, body: { applied: true, state: { step: 'WRITTEN_OFF', writeOffs: [{ reason: 'the marketplace will not pay this bill', actor: 'ops', netMinor: 9_876 }] } } });
    const sum = await h.pool.query<{ total: string }>('SELECT coalesce(sum(amount_minor), 0)::text AS total FROM ledger_postings WHERE statement_id = $1', [id]);
    expect(sum.rows[0]!.total).toBe('0');
    expect(await call('POST', `/statements/${id}/actions`, { type: 'WRITE_OFF', reason: 'again' })).toMatchObject({ status: 409, body: { error: 'CONFLICT', message: expect.stringMatching(/WRITTEN_OFF/) } });
    expect((await call('POST', `/statements/${id}/actions`, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: 1 })).status).toBe(409);
  });

  it('when ops write off lines no statement holds, then they are written off with the operator, a repeat answers the same, and lines in a statement or unknown are refused', async () => {
    const scope = uniqueId('unbilled');
    const rec = createSettlementActivities({ pool: h.pool, settings: h.config.settlement, enqueueNotifications: async () => 0, signalOrder: async () => true });
    const pendingKey = `${scope}-p:o:PURCHASE`;
    await rec.recordSettlementLine({
      lineKey: pendingKey,
      kind: 'PURCHASE',
      orderWorkflowId: `order-${scope}-gone`,
      instanceId: `i-${scope}-p`,
      orderId: `o-${scope}`,
      productId: 'p-joint',
      grossMinor: 50_000,
      testOrder: false,
      paidAt: '2032-03-05T00:00:00.000Z',
      effectiveAt: '2032-03-05T00:00:00.000Z',
      supervision: 'PENDING',
    });
    const billedScope = uniqueId('billed');
    await statementOf(billedScope, '2032-03');
    const body = { lineKeys: [pendingKey, `${billedScope}:1`, `${scope}-absent`], reason: 'the hardware was never delivered' };

    const first = await call('POST', '/lines/write-off', body);
    expect(first.status).toBe(200);
    expect(first.body.writtenOff).toEqual([pendingKey]);
    // Its order workflow does not exist (closed long ago, here never started): nobody to tell, not an error.
    expect(first.body.ordersTold).toBe(0);
    expect(first.body.refused).toEqual([
      { lineKey: `${billedScope}:1`, reason: expect.stringContaining(`in statement ${statementWorkflowId('2032-03', 'REVENUE_SPLIT', `${billedScope}:`)}`) },
      { lineKey: `${scope}-absent`, reason: 'no such line' },
    ]);
    expect((await linesOfInstance(h.pool, `i-${scope}-p`))[0]).toMatchObject({ state: 'WRITTEN_OFF', reason: expect.stringMatching(/^written off by .+: the hardware was never delivered$/) });
    expect((await call('POST', '/lines/write-off', body)).body.writtenOff).toEqual([pendingKey]);

    const none = await call('POST', '/lines/write-off', { lineKeys: [`${billedScope}:1`], reason: 'x' });
    expect(none.status).toBe(409);
    expect(none.body.refused).toHaveLength(1);
    for (const bad of [{}, { lineKeys: [], reason: 'x' }, { lineKeys: [pendingKey] }, { lineKeys: [pendingKey], reason: 'x', extra: 1 }]) {
      expect((await call('POST', '/lines/write-off', bad)).status).toBe(400);
    }
  });

  it('when the statement does not exist or the id is malformed, then 404 or 400', async () => {
    expect((await call('GET', '/statements/settlement-statement-1999-01-REVENUE_SPLIT')).status).toBe(404);
    expect((await call('GET', '/statements/nope')).status).toBe(400);
    expect((await call('GET', '/statements?bogus=1')).status).toBe(400);
  });
});

describe('settlement schedule', () => {
  it('when ensured twice, then it is created once and updated in place with the holidays, on the 3rd–15th of each month', async () => {
    const taskQueue = uniqueId('settle-tq');
    const first = await ensureSettlementSchedule(h.client, { taskQueue, holidays: [], paused: true });
    try {
      expect(first).toEqual({ scheduleId: `koogallery-settlement-${taskQueue}`, created: true });
      const second = await ensureSettlementSchedule(h.client, { taskQueue, holidays: ['2033-02-03'], paused: true });
      expect(second).toEqual({ scheduleId: first.scheduleId, created: false });
      const d = await h.client.schedule.getHandle(first.scheduleId).describe();
      expect(d.spec.timezone).toBe('Asia/Shanghai');
      expect(d.spec.calendars?.[0]).toMatchObject({ dayOfMonth: [{ start: 3, end: 15, step: 1 }], hour: [{ start: 9, end: 9, step: 1 }] });
      expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: MONTHLY_SETTLEMENT_WORKFLOW_TYPE, taskQueue, args: [{ holidays: ['2033-02-03'] }] });
      expect(d.state.paused).toBe(true);
    } finally {
      await h.client.schedule.getHandle(first.scheduleId).delete();
    }
  });
});
