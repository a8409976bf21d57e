// A month of settlement (spec §10), played against a running service started with SETTLEMENT_ORDER_LINES=true:
// an order is bought and released, its period is billed through the ops API (POST /ops/settlement/runs, for this
// order's lines only, so the scenario can be played again), and the statement goes through the marketplace's bill,
// the invoice notice, issuing and sign-for of each invoice, countersign and payment — a payment before sign-for
// refused with 409. General goods (the default catalogue) skip the invoice steps; list PRODUCT_ID as joint-operation
// goods in SETTLEMENT_CATALOGUE to play the invoices.
import type { OpsAnswer } from './scenario-run.js';
import { PRODUCT_ID, SKU_BASIC } from './products.js';
import { isRecord, newCustomer, scenario, type NamedScenario, type ScenarioRun } from './scenario-run.js';

/** How long the order's line may take to appear in a statement (provisioning, then the line's activity). */
const LINE_TIMEOUT_MS = 20_000;

async function settlementCall(run: ScenarioRun, step: string, method: 'GET' | 'POST', path: string, status: number, body?: unknown): Promise<Record<string, unknown>> {
  const answer: OpsAnswer = await run.opsCall(step, method, `/settlement${path}`, body);
  run.steps.push({ step, status: answer.status, latencyMs: answer.latencyMs });
  run.ctx.log(`${step}: HTTP ${answer.status} in ${answer.latencyMs} ms`);
  if (answer.status !== status) throw run.fail(step, `expected HTTP ${status}`, answer);
  if (!answer.body) throw run.fail(step, 'answer is not a JSON object', answer);
  return answer.body;
}

const stateOf = (body: Record<string, unknown>): Record<string, unknown> => (isRecord(body['state']) ? body['state'] : {});

export const SETTLEMENT_SCENARIOS: readonly NamedScenario[] = [
  scenario('settlement-month', 'V2 purchase → release → the month billed → bill, invoice notice, invoices issued and signed for, countersign, payment (ops API)', async (run) => {
    run.requireOps();
    const { order, orderLineId } = await run.createOrder({
      orderType: 'NEW',
      chargingMode: 'PERIOD',
      periodType: 'month',
      periodNumber: 1,
      orderAmount: '1200.000',
      productId: PRODUCT_ID,
      skuCode: SKU_BASIC,
      productName: 'Simulated SaaS Basic',
      ...newCustomer(),
    });
    const instanceId = await run.newInstanceV2(order, orderLineId);
    await run.v2('V2 releaseInstance', { activity: 'releaseInstance', instanceId });
    const period = new Date().toISOString().slice(0, 7);

    // The line is recorded by the order workflow after provisioning: bill until the statement holds it.
    const deadline = Date.now() + LINE_TIMEOUT_MS;
    let statementId: string | undefined;
    let state: Record<string, unknown> = {};
    while (statementId === undefined) {
      const runBody = await settlementCall(run, 'ops POST settlement run', 'POST', '/runs', 200, { period, instanceId });
      for (const id of (runBody['statementIds'] as string[] | undefined) ?? []) {
        const read = await settlementCall(run, 'ops GET statement', 'GET', `/statements/${encodeURIComponent(id)}`, 200).catch(() => undefined);
        const s = read ? stateOf(read) : {};
        if (isRecord(s['summary']) && Number(s['summary']['lines']) > 0) [statementId, state] = [id, s];
      }
      if (statementId !== undefined) break;
      if (Date.now() > deadline) throw run.fail('ops settlement', `no statement of ${period} holds instance ${instanceId}'s line: is the service started with SETTLEMENT_ORDER_LINES=true?`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const path = `/statements/${encodeURIComponent(statementId)}/actions`;
    const net = Number((state['summary'] as Record<string, unknown>)['netMinor']);
    await settlementCall(run, 'ops RECORD_PAYMENT (refused: not countersigned)', 'POST', path, 409, { type: 'RECORD_PAYMENT' });
    await settlementCall(run, 'ops RECORD_MARKETPLACE_BILL', 'POST', path, 200, { type: 'RECORD_MARKETPLACE_BILL', amountMinor: net });
    if (state['settlementType'] === 'REVENUE_SPLIT') {
      const noticed = stateOf(await settlementCall(run, 'ops RECORD_INVOICE_NOTICE', 'POST', path, 200, { type: 'RECORD_INVOICE_NOTICE', paymentRequestNo: `PR${Date.now()}` }));
      const invoices = (noticed['invoices'] as Array<{ taxRatePpm: number; remark: string }> | undefined) ?? [];
      for (const [i, inv] of invoices.entries()) {
        if (!inv.remark.includes('申付单号') || !inv.remark.includes('对账期次')) throw run.fail('ops RECORD_INVOICE_NOTICE', `invoice remark "${inv.remark}" lacks 申付单号 or 对账期次`);
        await settlementCall(run, 'ops ISSUE_INVOICE', 'POST', path, 200, { type: 'ISSUE_INVOICE', taxRatePpm: inv.taxRatePpm, invoiceNo: `SIM${Date.now()}${i}`, mailedTo: 'invoices@huawei.example' });
      }
      await settlementCall(run, 'ops RECORD_PAYMENT (refused: not signed for)', 'POST', path, 409, { type: 'RECORD_PAYMENT' });
      const issued = stateOf(await settlementCall(run, 'ops GET statement', 'GET', `/statements/${encodeURIComponent(statementId)}`, 200));
      for (const inv of (issued['invoices'] as Array<{ invoiceNo: string }> | undefined) ?? []) {
        await settlementCall(run, 'ops RECORD_SIGN_FOR', 'POST', path, 200, { type: 'RECORD_SIGN_FOR', invoiceNo: inv.invoiceNo });
      }
    }
    await settlementCall(run, 'ops RECORD_COUNTERSIGN', 'POST', path, 200, { type: 'RECORD_COUNTERSIGN' });
    const paid = stateOf(await settlementCall(run, 'ops RECORD_PAYMENT', 'POST', path, 200, { type: 'RECORD_PAYMENT' }));
    if (paid['step'] !== 'PAID') throw run.fail('ops RECORD_PAYMENT', `statement at ${String(paid['step'])}, expected PAID`);
  }),
];
