import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SettlementStateKey } from '../../src/kernel/search-attributes.js';
import { orderWorkflowId, supervisionEndedSignal } from '../../src/orders/contract.js';
import { linesOfInstance } from '../../src/settlement/store.js';
import { supervisionWorkflowId } from '../../src/supervision/contract.js';
import { startServiceHarness, type ServiceHarness } from '../support/service-harness.js';
import { aSimOrder, aV2PurchaseBody, lineOf } from '../support/factories.js';
import { until } from '../../tools/testing/until.js';

// A supervised order that carries a settlement line (SETTLEMENT_ORDER_LINES, on by default) and whose supervision
// ends without acceptance: its purchase will never be settled. The line must be written off where ops and the
// statements read it (settlement_lines), not only in the order workflow, and a released order must then complete
// (patches signal-order-when-its-release-closes-supervision and write-off-unaccepted-purchase-line-in-store).

const SERVICE_PRODUCT = 'SIM-SVC-SETTLED';
const HW_PRODUCT = 'SIM-HW-SETTLED';
let h: ServiceHarness;

beforeAll(async () => {
  h = await startServiceHarness({ env: { SUPERVISED_PRODUCTS: `${SERVICE_PRODUCT}=GENERAL,${HW_PRODUCT}=HARDWARE`, SETTLEMENT_ORDER_LINES: 'true' } });
});
afterAll(async () => {
  await h?.close();
});

async function opsAction(orderId: string, action: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${h.internalOrigin}/ops/supervision/${encodeURIComponent(orderId)}/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.opsToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(action),
  });
  await res.arrayBuffer();
  return res.status;
}

/** A supervised purchase with an amount, its instance and workflow ids once its supervision has started. */
async function buySupervised(productId: string) {
  const { orderId, orderLineId } = lineOf(h.marketplace.orderBook.createOrder(aSimOrder({ productId, orderAmount: '3600.000' })));
  const bought = await h.market.v2(aV2PurchaseBody({ orderId, orderLineId }));
  expect(bought.body?.resultCode).toBe('000000');
  const workflowId = orderWorkflowId({ kind: 'v2-line', orderId, orderLineId });
  const supervisionId = supervisionWorkflowId(workflowId);
  await until('the supervision to start', () =>
    h.client.workflow
      .getHandle(supervisionId)
      .describe()
      .then(() => true, () => undefined),
  );
  const instanceId = bought.body!.instanceId as string;
  const [line] = await linesOfInstance(h.pool, instanceId);
  expect(line).toMatchObject({ state: 'PENDING', statementId: null });
  return { orderId, orderLineId, instanceId, workflowId, supervisionId };
}

const lineState = async (instanceId: string) => (await linesOfInstance(h.pool, instanceId)).map((l) => ({ state: l.state, reason: l.reason }));
const orderStatus = async (workflowId: string) => (await h.client.workflow.getHandle(workflowId).describe()).status.name;
const settlementAttribute = async (workflowId: string) => (await h.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(SettlementStateKey);

describe('a settled order whose supervision ends without acceptance', () => {
  it('when it is released before acceptance, then its purchase line is written off in settlement_lines and the order completes', async () => {
    const o = await buySupervised(SERVICE_PRODUCT);
    expect((await h.market.v2({ activity: 'releaseInstance', instanceId: o.instanceId })).body?.resultCode).toBe('000000');
    await until('the order to complete', async () => ((await orderStatus(o.workflowId)) === 'COMPLETED' ? true : undefined));
    expect(await lineState(o.instanceId)).toEqual([{ state: 'WRITTEN_OFF', reason: 'supervision closed RELEASED without acceptance' }]);
    expect(await settlementAttribute(o.workflowId)).toBe('WRITTEN_OFF');
    expect(await orderStatus(o.supervisionId)).toBe('COMPLETED');
  });

  it('when an appeal closes it, then its purchase line is written off in settlement_lines and the order, still active, stays open', async () => {
    const o = await buySupervised(HW_PRODUCT);
    expect(await opsAction(o.orderId, { type: 'OPEN_APPEAL', openedBy: 'MERCHANT', reason: 'the customer refuses delivery' })).toBe(200);
    expect(await opsAction(o.orderId, { type: 'DECIDE_APPEAL', decision: 'CLOSE', note: 'closed by the marketplace' })).toBe(200);
    const written = await until('the line to be written off', async () => {
      const lines = await lineState(o.instanceId);
      return lines[0]?.state === 'WRITTEN_OFF' ? lines : undefined;
    });
    expect(written).toEqual([{ state: 'WRITTEN_OFF', reason: 'supervision closed APPEAL_CLOSED without acceptance' }]);
    await until('SettlementState to follow', async () => ((await settlementAttribute(o.workflowId)) === 'WRITTEN_OFF' ? true : undefined));
    expect(await orderStatus(o.workflowId)).toBe('RUNNING');
  });

  it('when its supervision ended without telling it (a run released before the fix), then the repair signal in the README completes it', async () => {
    const o = await buySupervised(SERVICE_PRODUCT);
    // Stands for a supervision that closed silently: released under the code before the patch (or ended by ops).
    await h.client.workflow.getHandle(o.supervisionId).terminate('stands for a supervision that ended silently');
    expect((await h.market.v2({ activity: 'releaseInstance', instanceId: o.instanceId })).body?.resultCode).toBe('000000');
    // Stuck as such runs are: released, its line PENDING, waiting for a settlement that cannot come.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await orderStatus(o.workflowId)).toBe('RUNNING');
    expect(await settlementAttribute(o.workflowId)).toBe('PENDING');
    expect((await lineState(o.instanceId)).map((l) => l.state)).toEqual(['PENDING']);

    // README, "A released order that waits for a supervised purchase line": the signal its supervision did not send.
    await h.client.workflow.getHandle(o.workflowId).signal(supervisionEndedSignal, { supervisionWorkflowId: o.supervisionId, node: 'CLOSED', outcome: 'RELEASED' });
    await until('the order to complete', async () => ((await orderStatus(o.workflowId)) === 'COMPLETED' ? true : undefined));
    expect(await lineState(o.instanceId)).toEqual([{ state: 'WRITTEN_OFF', reason: 'supervision closed RELEASED without acceptance' }]);
  });

  it('when such an order is mended through the ops API instead (writeOffUnbilledLines), then it completes too', async () => {
    const o = await buySupervised(SERVICE_PRODUCT);
    await h.client.workflow.getHandle(o.supervisionId).terminate('stands for a supervision that ended silently');
    expect((await h.market.v2({ activity: 'releaseInstance', instanceId: o.instanceId })).body?.resultCode).toBe('000000');
    const [line] = await linesOfInstance(h.pool, o.instanceId);
    const res = await fetch(`${h.internalOrigin}/ops/settlement/lines/write-off`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.opsToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ lineKeys: [line!.lineKey], reason: 'supervision terminated; the sale will not be settled' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ writtenOff: [line!.lineKey], refused: [], ordersTold: 1 });
    await until('the order to complete', async () => ((await orderStatus(o.workflowId)) === 'COMPLETED' ? true : undefined));
    expect(await settlementAttribute(o.workflowId)).toBe('WRITTEN_OFF');
  });
});
