import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueId } from '../../setup/infra.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, lineOf } from '../../support/factories.js';

// Usage intake against the real service (PostgreSQL, Temporal, the simulated marketplace): an on-demand and a
// package instance bought through the production interface, usage reported on the internal listener, and
// queryInstance answering with it.

type Json = Record<string, any>;
const TOKEN = 'test-metering-token-0123';
let h: ServiceHarness;
let onDemand: string;
let pkg: string;
let period: string;

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
/** A time in the current hour (never aggregated by a push of ended hours, which other test files may run meanwhile). */
const inOpenHour = () => new Date(Math.max(Math.floor(Date.now() / 3600_000) * 3600_000, Date.now() - 60_000));
const rec = (instanceId: string, o: Record<string, unknown> = {}) => ({ recordId: uniqueId('rec'), instanceId, usageValue: 1.25, beginTime: inOpenHour().toISOString(), endTime: new Date(inOpenHour().getTime() + 1000).toISOString(), ...o });

async function report(body: unknown, o: { token?: string; contentType?: string; raw?: string } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${h.internalOrigin}/metering/usage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.token ?? TOKEN}`, 'content-type': o.contentType ?? 'application/json' },
    body: o.raw ?? JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function buy(overrides: Parameters<typeof aSimOrder>[0]): Promise<string> {
  const order = h.marketplace.orderBook.createOrder(aSimOrder(overrides));
  return (await h.market.newInstanceV2WithAsync(order.orderId, lineOf(order).orderLineId)).instanceId;
}

const storedFor = async (instanceId: string) =>
  Number((await h.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM metering_usage_records WHERE instance_id = $1', [instanceId])).rows[0]!.n);

beforeAll(async () => {
  h = await startServiceHarness({ env: { METERING_API_TOKEN: TOKEN, METERING_PACKAGES: 'sku-pkg-cfg=500:stop:80%' } });
  onDemand = await buy({ chargingMode: 'ON_DEMAND' });
  pkg = await buy({ chargingMode: 'ON_DEMAND_PKG', skuCode: 'sku-pkg', linearValue: 1000 });
  period = await buy({});
});
afterAll(async () => {
  await h?.close();
});

describe('usage intake', () => {
  it('when a batch mixes good, duplicate and refused records, then each is answered and only the good ones are stored once', async () => {
    const good = rec(onDemand);
    const first = await report({
      records: [
        good,
        { ...good },
        rec(onDemand, { usageValue: 0 }),
        rec(onDemand, { usageValue: '1.00001' }),
        rec(onDemand, { beginTime: new Date(Date.now() - 22 * 24 * 3600_000).toISOString() }),
        rec(onDemand, { beginTime: hoursAgo(3), endTime: hoursAgo(4) }),
        rec('no-such-instance'),
        rec(period),
      ],
    });
    expect(first.status).toBe(200);
    expect(first.body.results.map((r: Json) => r.reason ?? r.status)).toEqual([
      'accepted',
      'duplicate',
      'VALUE_NOT_POSITIVE',
      'TOO_MANY_DECIMALS',
      'BEGIN_TOO_OLD',
      'END_BEFORE_BEGIN',
      'UNKNOWN_INSTANCE',
      'NOT_METERED',
    ]);
    expect(first.body).toMatchObject({ accepted: 1, duplicates: 1, refused: 6 });
    const again = await report({ records: [good] });
    expect(again.body.results).toEqual([{ recordId: good.recordId, status: 'duplicate' }]);
    expect(await storedFor(onDemand)).toBe(1);
  });

  it('when queryInstance asks for on-demand, package and period instances, then the metered ones carry their usage', async () => {
    await report({ records: [rec(pkg, { usageValue: 100 }), rec(pkg, { usageValue: '150.5' })] });
    const answer = await h.market.v2({ activity: 'queryInstance', instanceId: [onDemand, pkg, period].join(',') });
    const info = answer.body?.info as Json[];
    const byId = new Map(info.map((i) => [i.instanceId, i]));
    expect(byId.get(onDemand)?.usage).toMatchObject({ chargingMode: 'ON_DEMAND', usedAmount: '1.25' });
    expect(byId.get(pkg)?.usage).toMatchObject({ chargingMode: 'ON_DEMAND_PKG', usedAmount: '250.5', totalAmount: '1000', remainingAmount: '749.5' });
    expect(byId.get(period)?.usage).toBeUndefined();
  });

  it('when four batches for the same instances arrive at once, then all are stored and the totals add up (no deadlock)', async () => {
    const before = Number((await h.pool.query<{ used: string }>('SELECT used::text AS used FROM metering_instances WHERE instance_id = $1', [pkg])).rows[0]!.used);
    const batch = () => Array.from({ length: 200 }, (_, i) => rec(i % 2 ? pkg : onDemand, { usageValue: 0.5 }));
    const answers = await Promise.all([batch(), batch(), batch(), batch()].map((records) => report({ records })));
    expect(answers.map((a) => [a.status, a.body.accepted])).toEqual([[200, 200], [200, 200], [200, 200], [200, 200]]);
    const after = Number((await h.pool.query<{ used: string }>('SELECT used::text AS used FROM metering_instances WHERE instance_id = $1', [pkg])).rows[0]!.used);
    expect(after - before).toBe(200);
  });

  it.each([
    ['no token', { token: '' }, 401],
    ['a wrong token', { token: 'nope' }, 401],
    ['a form body', { contentType: 'application/x-www-form-urlencoded', raw: 'records=1' }, 415],
    ['malformed JSON', { raw: '{"records":[' }, 400],
    ['a JSON array', { raw: '[1,2]' }, 400],
    ['a body over the limit', { raw: `{"records":[${'"x",'.repeat(200_000)}"x"]}` }, 413],
  ] as const)('when the call has %s, then it is a clear %i and nothing is stored', async (_what, o, status) => {
    const before = await storedFor(onDemand);
    const res = await report(null, o);
    expect(res.status).toBe(status);
    expect(typeof res.body.error).toBe('string');
    expect(await storedFor(onDemand)).toBe(before);
  });

  it('when a batch has one malformed record, then the whole batch is refused with the field named and nothing is stored', async () => {
    const before = await storedFor(onDemand);
    const res = await report({ records: [rec(onDemand), rec(onDemand, { beginTime: 'yesterday' })] });
    expect(res.status).toBe(400);
    expect(res.body.issues[0].path).toBe('records.1.beginTime');
    expect(await storedFor(onDemand)).toBe(before);
  });
});
