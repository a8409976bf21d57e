import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPackageQuery, packageWorkflowId, type PackageState } from '../../src/metering/contract.js';
import { runAutoRepurchase } from '../../tools/simulator/auto-repurchase.js';
import { uniqueId } from '../setup/infra.js';
import { startServiceHarness, type ServiceHarness } from '../support/service-harness.js';
import { aSimOrder, lineOf } from '../support/factories.js';

// Packages end to end: the simulator's buyer-side auto-repurchase at the threshold, linked so service goes on; a
// failed repurchase told to the buyer on every configured channel; a stop-when-used-up package frozen at
// exhaustion. Usage is reported on the internal listener; the package workflows hear only crossings.

type Json = Record<string, any>;
const TOKEN = 'test-metering-token-0123';
const SKU = 'api-pkg-100';
let h: ServiceHarness;
let hooks: Server;
const delivered: { channel: string; body: Json }[] = [];

async function report(instanceId: string, usageValue: number): Promise<void> {
  // In the current hour: a push of ended hours (another test file's) never takes it.
  const begin = new Date(Math.max(Math.floor(Date.now() / 3600_000) * 3600_000, Date.now() - 60_000));
  const res = await fetch(`${h.internalOrigin}/metering/usage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ records: [{ recordId: uniqueId('rec'), instanceId, usageValue, beginTime: begin.toISOString(), endTime: new Date(begin.getTime() + 1000).toISOString() }] }),
  });
  expect(((await res.json()) as Json).accepted).toBe(1);
}

async function buyPackage(customerId: string, productId: string): Promise<string> {
  const order = h.marketplace.orderBook.createOrder(aSimOrder({ chargingMode: 'ON_DEMAND_PKG', customerId, productId, skuCode: SKU, linearValue: 100 }));
  return (await h.market.newInstanceV2WithAsync(order.orderId, lineOf(order).orderLineId)).instanceId;
}

async function packageState(instanceId: string, until: (s: PackageState) => boolean): Promise<PackageState> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await h.client.workflow.getHandle(packageWorkflowId(instanceId)).query(getPackageQuery).catch(() => undefined);
    if (s && until(s)) return s;
    if (Date.now() > deadline) throw new Error(`package ${instanceId}: state never matched (last ${JSON.stringify(s)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const phaseOf = async (instanceId: string) => (await h.pool.query<{ phase: string }>('SELECT phase FROM instances WHERE instance_id = $1', [instanceId])).rows[0]?.phase;

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      delivered.push({ channel: (req.url ?? '').slice(1), body: JSON.parse(text) as Json });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
  h = await startServiceHarness({
    env: {
      METERING_API_TOKEN: TOKEN,
      METERING_PACKAGES: `${SKU}=100:stop:80%`,
      METERING_REPURCHASE_POLL_MS: '200',
      NOTIFICATION_ROUTING: 'CUSTOMER=sms+email+insite',
      NOTIFICATION_WEBHOOKS: `sms=${base}/sms,email=${base}/email,insite=${base}/insite`,
    },
  });
});
afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => hooks?.close(resolve));
});

describe('packages and auto-repurchase', () => {
  it('when consumption crosses the threshold and the buyer repurchases, then the new package is linked and the used-up one keeps running', async () => {
    const customerId = uniqueId('cust');
    const productId = uniqueId('prod');
    const first = await buyPackage(customerId, productId);
    const buyer = runAutoRepurchase(h.market, h.marketplace.orderBook, { packageInstanceId: first, customerId, productId, skuCode: SKU, linearValue: 100, remainingAtMost: 20 });
    await report(first, 85);
    const bought = await buyer;
    expect(bought.kind).toBe('bought');
    const next = bought.kind === 'bought' ? bought.instanceId : '';
    expect((await packageState(first, (s) => s.nextInstanceId !== undefined)).nextInstanceId).toBe(next);
    await report(first, 15);
    const end = await h.client.workflow.getHandle(packageWorkflowId(first)).result();
    expect(end).toMatchObject({ exhausted: true, frozen: false, nextInstanceId: next, notified: [] });
    expect(await phaseOf(first)).toBe('ACTIVE');
    expect(await phaseOf(next)).toBe('ACTIVE');
    const q = await h.market.v2({ activity: 'queryInstance', instanceId: `${first},${next}` });
    const usage = new Map((q.body?.info as Json[]).map((i) => [i.instanceId, i.usage]));
    expect(usage.get(first)).toMatchObject({ usedAmount: '100', remainingAmount: '0', nextInstanceId: next });
    expect(usage.get(next)).toMatchObject({ usedAmount: '0', remainingAmount: '100' });
  });

  it('when the repurchase fails, then the buyer is told on every configured channel, and at exhaustion the package is frozen', async () => {
    const customerId = uniqueId('cust');
    const productId = uniqueId('prod');
    const pkg = await buyPackage(customerId, productId);
    const buyer = runAutoRepurchase(h.market, h.marketplace.orderBook, { packageInstanceId: pkg, customerId, productId, skuCode: SKU, linearValue: 100, remainingAtMost: 20, fail: true });
    await report(pkg, 90);
    const outcome = await buyer;
    expect(outcome.kind).toBe('failed');
    await packageState(pkg, (s) => s.thresholdCrossed);
    const told = await fetch(`${h.internalOrigin}/ops/metering/packages/${pkg}/repurchase-failed`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.opsToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: outcome.kind === 'failed' ? outcome.reason : '' }),
    });
    expect(told.status).toBe(200);
    await packageState(pkg, (s) => s.notified.includes('PACKAGE_REPURCHASE_FAILED'));
    const deadline = Date.now() + 20_000;
    const mine = () => delivered.filter((d) => d.body.kind === 'PACKAGE_REPURCHASE_FAILED' && d.body.data?.instanceId === pkg);
    while (mine().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(mine().map((d) => d.channel).sort()).toEqual(['email', 'insite', 'sms']);
    expect(mine()[0]!.body).toMatchObject({ recipient: 'CUSTOMER' });

    await report(pkg, 10);
    expect(await h.client.workflow.getHandle(packageWorkflowId(pkg)).result()).toMatchObject({ exhausted: true, frozen: true });
    expect(await phaseOf(pkg)).toBe('FROZEN');
  });
});
