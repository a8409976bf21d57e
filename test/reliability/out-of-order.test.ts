import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProductionAnswer } from '../../tools/simulator/production-client.js';
import { uniqueId } from '../setup/infra.js';
import { AnswerTally, readModel, timeline, withMarketplaceRetries } from '../support/fault-checks.js';
import { eventually, reportFigures, startFakeMerchantApi, type FakeMerchantApi } from '../support/fault-harness.js';
import { startServiceHarness, type ServiceHarness } from '../support/service-harness.js';
import { aSimOrder, aV1PurchaseParams, aV2PurchaseBody, aV2RenewalBody, inDays, lineOf } from '../support/factories.js';

// Issue #7, scenario 3: operations that overtake their purchase (provisioning slowed down past the answer budget),
// that arrive after the release, or that name instances that never existed. Each is answered per spec
// (order-service.ts: unknown → 000003; released → release 000000, the rest 000003 unless testFlag=1), no workflow is
// left PROVISIONING, and no tenant is orphaned (every live tenant has a live instance; released → tenant DELETED).

let h: ServiceHarness;
let merchant: FakeMerchantApi;
const tally = new AnswerTally();
const instancesOfThisFile = new Set<string>();

beforeAll(async () => {
  merchant = await startFakeMerchantApi();
  h = await startServiceHarness({ env: { PROVISIONER: 'http', PROVISIONER_HTTP_URL: merchant.url } });
});
afterAll(async () => {
  await h?.close();
  await merchant?.close();
});

const code = (a: ProductionAnswer | undefined) => String(a?.body?.resultCode ?? 'no answer');

function order(orderType: 'NEW' | 'RENEW' | 'CHANGE', customerId: string, skuCode = 'sku-basic') {
  return lineOf(h.marketplace.orderBook.createOrder(aSimOrder({ orderType, productId: 'prod-ooo', skuCode, customerId })));
}

const v2 = (label: string, body: Record<string, unknown>) => tally.send(label, () => h.market.v2(body));
const v1 = (label: string, activity: string, params: Record<string, string>) => tally.send(label, () => h.market.v1(activity, params));

/** A V2 purchase whose provisioning outlasts the budget: answered 000004 with the instanceId; settles later. */
async function slowV2Purchase(customerId: string) {
  const o = order('NEW', customerId);
  const first = await v2('slow purchase', aV2PurchaseBody(o));
  expect(code(first)).toBe('000004');
  const instanceId = first!.body.instanceId as string;
  instancesOfThisFile.add(instanceId);
  return { ...o, instanceId };
}

describe.sequential('out of order: operations overtaking their purchase, after release, or for unknown instances', () => {
  it('when renewal, upgrade, V1 expiry and release arrive before the purchase finished, then each is applied once after it, and nothing is orphaned', async () => {
    // Long enough that the overtaking operations first get a retryable 000005 themselves, then succeed on a retry.
    h.provisionerFaults.faults.delayMs('create', 2 * h.config.koogallery.provisionBudgetMs + 1000);
    const v1OrderId = uniqueId('CSV1OOO');
    const v1Params = (businessId: string) => aV1PurchaseParams({ businessId, orderId: v1OrderId, customerId: uniqueId('ooo-v1'), productId: 'prod-ooo' });
    type Slow = Awaited<ReturnType<typeof slowV2Purchase>>;
    let renewal: Slow;
    let upgrade: Slow;
    let release: Slow;
    let v1InstanceId: string;
    const early: Record<string, string> = {};
    try {
      const [r, u, rel, v1First] = await Promise.all([
        slowV2Purchase(uniqueId('ooo-renew')),
        slowV2Purchase(uniqueId('ooo-upgrade')),
        slowV2Purchase(uniqueId('ooo-release')),
        v1('slow V1 purchase', 'newInstance', v1Params(randomUUID())),
      ]);
      renewal = r;
      upgrade = u;
      release = rel;
      // V1 has no async answer: "still provisioning" is a retryable 000005, and the row already names the instance.
      expect(code(v1First)).toBe('000005');
      const row = await h.pool.query<{ instance_id: string }>('SELECT instance_id FROM instances WHERE order_id = $1', [v1OrderId]);
      v1InstanceId = row.rows[0]!.instance_id;
      instancesOfThisFile.add(v1InstanceId);

      // Each operation is sent while its purchase is still provisioning; the marketplace retries retryable answers.
      const renewOrder = order('RENEW', 'ooo-renew');
      const changeOrder = order('CHANGE', 'ooo-upgrade', 'sku-pro');
      const ops = await Promise.all([
        withMarketplaceRetries(tally, 'renewal', () => h.market.v2(aV2RenewalBody(renewOrder, renewal.instanceId)), { attempts: 30 }),
        withMarketplaceRetries(tally, 'upgrade', () => h.market.v2({ activity: 'upgradeInstance', ...changeOrder, instanceId: upgrade.instanceId }), { attempts: 30 }),
        withMarketplaceRetries(tally, 'release', () => h.market.v2({ activity: 'releaseInstance', instanceId: release.instanceId }), { attempts: 30 }),
        withMarketplaceRetries(tally, 'V1 expiry', () => h.market.v1('expireInstance', { instanceId: v1InstanceId, orderId: v1OrderId }), { attempts: 30 }),
      ]);
      for (const [name, a] of [['renewal', ops[0]], ['upgrade', ops[1]], ['release', ops[2]], ['expiry', ops[3]]] as const) early[name] = code(a);
    } finally {
      h.provisionerFaults.faults.reset();
    }
    // The marketplace finishes its purchases: V2 polls queryInstance, V1 retries newInstance.
    const settledV1 = await h.market.newInstanceV1WithRetries(v1Params(randomUUID()), { retries: 20, retryDelayMs: 500 });
    for (const a of settledV1.answers) tally.add(a, 'V1 purchase retry');

    expect(early).toEqual({ renewal: '000000', upgrade: '000000', release: '000000', expiry: '000000' });
    expect(settledV1.instanceId).toBe(v1InstanceId);
    const rows = await readModel(h.pool, [renewal.instanceId, upgrade.instanceId, release.instanceId, v1InstanceId]);
    expect(rows.get(renewal.instanceId)?.phase).toBe('ACTIVE');
    expect(rows.get(upgrade.instanceId)?.phase).toBe('ACTIVE');
    expect(rows.get(release.instanceId)?.phase).toBe('RELEASED');
    expect(rows.get(v1InstanceId)?.phase).toBe('FROZEN');
    expect(await timeline(h.pool, renewal.instanceId)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED', 'RENEWAL']);
    expect(await timeline(h.pool, upgrade.instanceId)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED', 'UPGRADED']);
    expect(await timeline(h.pool, release.instanceId)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED', 'RELEASED']);
    expect(await timeline(h.pool, v1InstanceId)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED', 'FREEZE']);
    expect(merchant.tenants.get(renewal.instanceId)?.status).toBe('ACTIVE');
    expect((merchant.tenants.get(upgrade.instanceId)?.spec as { skuCode?: string }).skuCode).toBe('sku-pro');
    expect(merchant.tenants.get(release.instanceId)?.status).toBe('DELETED');
    expect(merchant.tenants.get(v1InstanceId)?.status).toBe('FROZEN');
  });

  it('when operations arrive after the release, then release answers 000000, the rest 000003 (000000 with testFlag=1), and nothing changes', async () => {
    const customerId = uniqueId('ooo-after');
    const o = order('NEW', customerId);
    const bought = await v2('purchase', aV2PurchaseBody(o));
    expect(code(bought)).toBe('000000');
    const instanceId = bought!.body.instanceId as string;
    instancesOfThisFile.add(instanceId);
    expect(code(await v2('release', { activity: 'releaseInstance', instanceId }))).toBe('000000');
    const before = await timeline(h.pool, instanceId);
    const renewOrder = order('RENEW', customerId);
    const changeOrder = order('CHANGE', customerId, 'sku-pro');

    const answers: Record<string, string> = {};
    const calls: Array<[string, () => Promise<ProductionAnswer | undefined>]> = [
      ['V2 renewal', () => v2('late renewal', aV2RenewalBody(renewOrder, instanceId))],
      ['V2 upgrade', () => v2('late upgrade', { activity: 'upgradeInstance', ...changeOrder, instanceId })],
      ['V2 freeze', () => v2('late freeze', { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' })],
      ['V2 queryInstance', () => v2('late query', { activity: 'queryInstance', instanceId })],
      ['V2 changeInstanceCheck', () => v2('late check', { activity: 'changeInstanceCheck', instanceId, productInfo: {} })],
      ['V2 release', () => v2('late release', { activity: 'releaseInstance', instanceId })],
      ['V1 expiry', () => v1('late V1 expiry', 'expireInstance', { instanceId, orderId: o.orderId })],
      ['V1 renewal', () => v1('late V1 renewal', 'refreshInstance', { instanceId, orderId: uniqueId('REN'), expireTime: inDays(400) })],
      ['V1 upgrade', () => v1('late V1 upgrade', 'upgrade', { instanceId, orderId: uniqueId('UPG'), skuCode: 'sku-x' })],
      ['V1 release', () => v1('late V1 release', 'releaseInstance', { instanceId, orderId: o.orderId })],
      ['V2 renewal testFlag=1', () => v2('late debug renewal', aV2RenewalBody(order('RENEW', customerId), instanceId, { testFlag: '1' }))],
      ['V2 upgrade testFlag=1', () => v2('late debug upgrade', { activity: 'upgradeInstance', ...order('CHANGE', customerId), instanceId, testFlag: '1' })],
      ['V2 freeze testFlag=1', () => v2('late debug freeze', { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE', testFlag: '1' })],
      ['V1 expiry testFlag=1', () => v1('late debug V1 expiry', 'expireInstance', { instanceId, orderId: o.orderId, testFlag: '1' })],
    ];
    for (const [name, call] of calls) answers[name] = code(await call());
    expect(answers).toEqual({
      'V2 renewal': '000003',
      'V2 upgrade': '000003',
      'V2 freeze': '000003',
      'V2 queryInstance': '000003',
      'V2 changeInstanceCheck': '000003',
      'V2 release': '000000',
      'V1 expiry': '000003',
      'V1 renewal': '000003',
      'V1 upgrade': '000003',
      'V1 release': '000000',
      'V2 renewal testFlag=1': '000000',
      'V2 upgrade testFlag=1': '000000',
      'V2 freeze testFlag=1': '000000',
      'V1 expiry testFlag=1': '000000',
    });
    expect(await timeline(h.pool, instanceId)).toEqual(before);
    expect(merchant.tenants.get(instanceId)).toMatchObject({ status: 'DELETED', creations: 1, specChanges: 0, freezes: 0 });
  });

  it('when operations name instances that never existed, then 000003 and no workflow, row or tenant appears', async () => {
    const ghosts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const instanceId = uniqueId('ghost');
      ghosts.push(instanceId);
      const all: Array<Promise<ProductionAnswer | undefined>> = [
        v2('ghost renewal', { activity: 'refreshInstance', scene: 'RENEWAL', orderId: uniqueId('O'), orderLineId: 'L1', instanceId, expireTime: inDays(30) }),
        v2('ghost upgrade', { activity: 'upgradeInstance', instanceId, orderId: uniqueId('O'), orderLineId: 'L1' }),
        v2('ghost status', { activity: 'updateInstanceStatus', instanceId, status: i % 2 ? 'FREEZE' : 'UNFREEZE' }),
        v2('ghost release', { activity: 'releaseInstance', instanceId }),
        v2('ghost query', { activity: 'queryInstance', instanceId }),
        v2('ghost check', { activity: 'changeInstanceCheck', instanceId, productInfo: { skuCode: 'x' } }),
        v1('ghost V1 renewal', 'refreshInstance', { instanceId, orderId: uniqueId('O'), expireTime: inDays(30) }),
        v1('ghost V1 expiry', 'expireInstance', { instanceId, orderId: uniqueId('O') }),
        v1('ghost V1 upgrade', 'upgrade', { instanceId, orderId: uniqueId('O') }),
        v1('ghost V1 status', 'instanceStatus', { instanceId, instanceStatus: 'FREEZE' }),
        v1('ghost V1 release', 'releaseInstance', { instanceId, orderId: uniqueId('O') }),
        v1('ghost V1 query', 'queryInstance', { instanceId }),
      ];
      const codes = (await Promise.all(all)).map(code);
      expect(new Set(codes)).toEqual(new Set(['000003']));
    }
    expect((await readModel(h.pool, ghosts)).size).toBe(0);
    for (const id of ghosts) expect(merchant.tenants.has(id)).toBe(false);
    let workflows = 0;
    for await (const _ of h.client.workflow.list({ query: ghosts.map((g) => `InstanceId = "${g}"`).join(' OR ') })) workflows++;
    expect(workflows).toBe(0);
  });

  it('then no workflow is left PROVISIONING, every live tenant has a live instance and every released instance a deleted tenant', async () => {
    const ids = [...instancesOfThisFile];
    await eventually('every order of this file to leave PROVISIONING', async () => [...(await readModel(h.pool, ids)).values()].every((r) => r.phase !== 'PROVISIONING'), 30_000);
    const rows = await readModel(h.pool, ids);
    let provisioning = 0;
    for await (const _ of h.client.workflow.list({ query: `TaskQueue = "${h.config.temporal.taskQueue}" AND OrderPhase = "PROVISIONING" AND ExecutionStatus = "Running"` })) provisioning++;
    const orphans = [...merchant.tenants.values()].filter((t) => t.status !== 'DELETED' && !['ACTIVE', 'FROZEN'].includes(rows.get(t.instanceId)?.phase ?? ''));
    const undeleted = [...rows.entries()].filter(([id, r]) => r.phase === 'RELEASED' && merchant.tenants.get(id)?.status !== 'DELETED');
    reportFigures({
      scenario: 'out of order: overtaking, after release, unknown instances',
      ...tally.summary(),
      lost: [...rows.values()].filter((r) => r.phase === 'PROVISIONING' || r.phase === 'FAILED').length,
      duplicates: merchant.duplicateCreations().length,
      stuckWorkflows: provisioning,
      orphanTenants: orphans.length + undeleted.length,
      notes: `${ids.length} orders, ${merchant.tenants.size} tenants; answers ${JSON.stringify(tally.byCode)}`,
    });
    expect(tally.problems).toEqual([]);
    expect(tally.http5xx).toBe(0);
    expect(provisioning).toBe(0);
    expect(orphans.map((t) => t.instanceId)).toEqual([]);
    expect(undeleted.map(([id]) => id)).toEqual([]);
    expect(merchant.duplicateCreations()).toEqual([]);
  });
});
