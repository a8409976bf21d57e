import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { meteringSn } from '../../../src/metering/push.js';
import { uniqueId } from '../../setup/infra.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, lineOf } from '../../support/factories.js';

// The usage push end to end: usage reported on the internal listener, aggregated per instance and hour, signed
// and pushed to the simulated usage-data API by the push workflow (through POST /ops/metering/push), each
// (instance, hour) billed exactly once across lost answers, refusals and repeated pushes.

type Json = Record<string, any>;
const TOKEN = 'test-metering-token-0123';
let h: ServiceHarness;

const HOUR = 3600_000;
const hourStart = (hoursAgo: number) => new Date(Math.floor((Date.now() - hoursAgo * HOUR) / HOUR) * HOUR);
const rec = (instanceId: string, hoursAgo: number, usageValue: number | string) => {
  const begin = hourStart(hoursAgo);
  return { recordId: uniqueId('rec'), instanceId, usageValue, beginTime: new Date(begin.getTime() + 60_000).toISOString(), endTime: new Date(begin.getTime() + 120_000).toISOString() };
};

async function report(records: unknown[]): Promise<Json> {
  const res = await fetch(`${h.internalOrigin}/metering/usage`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ records }) });
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

async function pushNow(): Promise<Json> {
  const res = await fetch(`${h.internalOrigin}/ops/metering/push`, { method: 'POST', headers: { authorization: `Bearer ${h.opsToken}`, 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(200);
  return ((await res.json()) as Json).result as Json;
}

async function buy(overrides: Parameters<typeof aSimOrder>[0]): Promise<string> {
  const order = h.marketplace.orderBook.createOrder(aSimOrder(overrides));
  return (await h.market.newInstanceV2WithAsync(order.orderId, lineOf(order).orderLineId)).instanceId;
}

const billedFor = (instanceId: string) => [...h.marketplace.usage.billed.values()].filter((b) => b.instanceId === instanceId);

beforeAll(async () => {
  h = await startServiceHarness({ env: { METERING_API_TOKEN: TOKEN, METERING_PUSH_MAX_ATTEMPTS: '2' } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  // Items of earlier tests in this database are pushed first, so each test starts from an empty queue.
  await pushNow();
  h.marketplace.usage.reset();
});

describe('usage push', () => {
  it('when usage of two hours is pushed, then each instance-hour is one signed record with its deterministic sn, billed once however often ops push', async () => {
    const instance = await buy({ chargingMode: 'ON_DEMAND' });
    const pkg = await buy({ chargingMode: 'ON_DEMAND_PKG', linearValue: 1000 });
    await report([rec(instance, 3, 1.5), rec(instance, 3, '2.25'), rec(instance, 2, 4), rec(pkg, 2, 10)]);
    const first = await pushNow();
    expect(first).toMatchObject({ aggregated: 3, accepted: 3, retrying: 0, flagged: 0 });
    const billed = billedFor(instance).sort((a, b) => a.beginTime.localeCompare(b.beginTime));
    expect(billed.map((b) => b.usageValue)).toEqual([3.75, 4]);
    expect(billed[0]!.meteringSn).toBe(meteringSn(instance, hourStart(3), 0));
    expect(billed[0]!.beginTime).toMatch(/^\d{8}T\d{4}00Z$/);
    expect(billedFor(pkg)).toEqual([expect.objectContaining({ usageValue: 10, relatePkgInstance: pkg })]);
    expect(await pushNow()).toMatchObject({ aggregated: 0, calls: 0 });
    expect(h.marketplace.usage.totals().get(instance)).toBe(7.75);
  });

  it('when the answer to a push is lost after billing, then the retry sends the same sns and nothing is billed twice', async () => {
    const instance = await buy({ chargingMode: 'ON_DEMAND' });
    await report([rec(instance, 4, 1), rec(instance, 3, 2)]);
    h.marketplace.usage.loseNextAnswers(1);
    const result = await pushNow();
    expect(result).toMatchObject({ aggregated: 2, accepted: 2 });
    expect(h.marketplace.usage.calls).toBe(2);
    expect(h.marketplace.usage.duplicates).toBe(2);
    expect(h.marketplace.usage.totals().get(instance)).toBe(3);
  });

  it('when a record arrives after its hour was pushed, then it goes in a new revision of that hour with its own sn', async () => {
    const instance = await buy({ chargingMode: 'ON_DEMAND' });
    await report([rec(instance, 5, 1)]);
    await pushNow();
    await report([rec(instance, 5, 0.5)]);
    expect(await pushNow()).toMatchObject({ aggregated: 1, accepted: 1 });
    expect(billedFor(instance).map((b) => b.meteringSn).sort()).toEqual([meteringSn(instance, hourStart(5), 0), meteringSn(instance, hourStart(5), 1)].sort());
    expect(h.marketplace.usage.totals().get(instance)).toBe(1.5);
  });

  it('when the marketplace refuses a record, then it is retried by the next push and flagged to ops once out of attempts, never dropped', async () => {
    const instance = await buy({ chargingMode: 'ON_DEMAND' });
    await report([rec(instance, 6, 1)]);
    h.marketplace.usage.refuseNextRecords(2, '009');
    expect(await pushNow()).toMatchObject({ accepted: 0, retrying: 1 });
    expect(await pushNow()).toMatchObject({ accepted: 0, flagged: 1 });
    const flagged = (await (await fetch(`${h.internalOrigin}/ops/metering/flagged`, { headers: { authorization: `Bearer ${h.opsToken}` } })).json()) as Json;
    const item = (flagged.items as Json[]).find((i) => i.instanceId === instance);
    expect(item).toMatchObject({ attempts: 2, lastCode: '009', usageValue: '1.0000' });
    const metrics = await (await fetch(`${h.internalOrigin}/metrics`)).text();
    expect(metrics).toMatch(/koogallery_metering_push_items\{status="flagged"\} [1-9]/);
    const requeue = await fetch(`${h.internalOrigin}/ops/metering/flagged/requeue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.opsToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ meteringSns: [item!.meteringSn] }),
    });
    expect(((await requeue.json()) as Json).requeued).toBe(1);
    expect(await pushNow()).toMatchObject({ accepted: 1 });
    expect(h.marketplace.usage.totals().get(instance)).toBe(1);
  });
});
