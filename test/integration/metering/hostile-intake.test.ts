import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, lineOf } from '../../support/factories.js';

// Fuzzed intake bodies (fast-check): whatever arrives, the answer is a 4xx with an error code and nothing is
// stored, or a 200 answering every record — never a 5xx, never a record stored for a refused body.

type Json = Record<string, any>;
const TOKEN = 'test-metering-token-fuzz';
let h: ServiceHarness;
let instanceId: string;

const storedCount = async () => Number((await h.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM metering_usage_records WHERE instance_id = $1', [instanceId])).rows[0]!.n);

beforeAll(async () => {
  h = await startServiceHarness({ env: { METERING_API_TOKEN: TOKEN }, worker: true });
  const order = h.marketplace.orderBook.createOrder(aSimOrder({ chargingMode: 'ON_DEMAND' }));
  instanceId = (await h.market.newInstanceV2WithAsync(order.orderId, lineOf(order).orderLineId)).instanceId;
});
afterAll(async () => {
  await h?.close();
});

const weird = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('__proto__', 'constructor', '1e400', '-0', 'NaN', '2026-13-45T99:99:99Z', ''),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
);

/** A record with every field possibly replaced by something odd, or dropped. */
const record = fc.record(
  {
    recordId: fc.oneof(fc.uuid(), weird),
    instanceId: fc.oneof(fc.constant('INSTANCE'), weird),
    usageValue: fc.oneof(fc.double({ min: -10, max: 1e6, noNaN: true }), fc.constantFrom('1.5', '0.00001', '-3'), weird),
    beginTime: fc.oneof(fc.date({ min: new Date(Date.now() - 30 * 86_400_000), max: new Date(), noInvalidDate: true }).map((d) => d.toISOString()), weird),
    endTime: fc.oneof(fc.constant(new Date().toISOString()), weird),
    extra: weird,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.record({ records: fc.array(record, { maxLength: 5 }) }),
  fc.record({ records: weird }),
  weird,
  fc.array(record, { maxLength: 2 }),
);

describe('fuzzed intake bodies', () => {
  it('when any body arrives, then it is a clear 4xx with nothing stored, or every record is answered', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (b, raw) => {
        const text = JSON.stringify(b, (_k, v: unknown) => (v === 'INSTANCE' ? instanceId : v)) ?? 'undefined';
        const sent = raw ? text.slice(0, Math.max(0, text.length - 3)) : text;
        const before = await storedCount();
        const res = await fetch(`${h.internalOrigin}/metering/usage`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: sent });
        const answer = (await res.json()) as Json;
        expect(res.status).toBeLessThan(500);
        if (res.status !== 200) {
          expect(typeof answer.error).toBe('string');
          expect(await storedCount()).toBe(before);
        } else {
          const records = (JSON.parse(sent) as { records: unknown[] }).records;
          expect(answer.results).toHaveLength(records.length);
          expect(await storedCount()).toBe(before + answer.accepted);
        }
      }),
      { numRuns: 150 },
    );
  });
});
