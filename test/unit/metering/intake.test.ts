import { describe, expect, it } from 'vitest';
import { UsageRefusal } from '../../../src/metering/contract.js';
import { checkRecord, normaliseUsageValue, usageBatchSchema } from '../../../src/metering/intake.js';
import { crossingsOf, thresholdUsedAt, usageOfRow } from '../../../src/metering/service.js';
import { parsePackageTerms } from '../../../src/metering/settings.js';
import type { MeteredInstanceRow } from '../../../src/metering/store.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const rec = (o: Record<string, unknown> = {}) => ({ recordId: 'r1', instanceId: 'i1', usageValue: 1.5, beginTime: '2026-12-07T10:00:00Z', endTime: '2026-12-07T11:00:00Z', ...o });

describe('usage values', () => {
  it.each([
    [1.5, '1.5'],
    ['2.1000', '2.1'],
    ['0.0001', '0.0001'],
    [12, '12'],
    ['007.25', '7.25'],
  ])('when %j is reported, then it is stored as %j', (input, stored) => {
    expect(normaliseUsageValue(input)).toEqual({ value: stored });
  });

  it.each([
    [0, UsageRefusal.ValueNotPositive],
    ['0.0000', UsageRefusal.ValueNotPositive],
    [-1, UsageRefusal.ValueNotPositive],
    [0.1 + 0.2, UsageRefusal.TooManyDecimals],
    ['1.00001', UsageRefusal.TooManyDecimals],
    [1e-7, UsageRefusal.TooManyDecimals],
    [1e21, UsageRefusal.ValueTooLarge],
    ['1000000000000', UsageRefusal.ValueTooLarge],
  ])('when %j is reported, then it is refused with %s', (input, reason) => {
    expect(normaliseUsageValue(input)).toEqual({ refusal: reason });
  });
});

describe('record checks', () => {
  it('when a record is valid, then its times are normalised to UTC', () => {
    expect(checkRecord(rec({ beginTime: '2026-12-07T18:00:00+08:00' }), NOW, 0)).toMatchObject({ beginTime: '2026-12-07T10:00:00.000Z', usageValue: '1.5' });
  });
  it('when begin is older than 21 days, then BEGIN_TOO_OLD', () => {
    expect(checkRecord(rec({ beginTime: '2026-11-15T11:59:00Z' }), NOW, 0)).toBe(UsageRefusal.BeginTooOld);
    expect(checkRecord(rec({ beginTime: '2026-11-16T12:00:00Z' }), NOW, 0)).not.toBe(UsageRefusal.BeginTooOld);
  });
  it('when end is before begin, then END_BEFORE_BEGIN', () => {
    expect(checkRecord(rec({ endTime: '2026-12-07T09:00:00Z' }), NOW, 0)).toBe(UsageRefusal.EndBeforeBegin);
  });
  it('when end lies beyond the clock-skew tolerance, then END_IN_FUTURE', () => {
    expect(checkRecord(rec({ endTime: '2026-12-07T12:10:00Z' }), NOW, 5 * 60_000)).toBe(UsageRefusal.EndInFuture);
    expect(checkRecord(rec({ endTime: '2026-12-07T12:04:00Z' }), NOW, 5 * 60_000)).not.toBe(UsageRefusal.EndInFuture);
  });
});

describe('the intake schema', () => {
  it.each([
    ['no records', {}],
    ['empty list', { records: [] }],
    ['1,001 records', { records: Array.from({ length: 1001 }, (_, i) => rec({ recordId: `r${i}` })) }],
    ['a time without offset', { records: [rec({ beginTime: '2026-12-07 10:00:00' })] }],
    ['an id with spaces', { records: [rec({ recordId: 'a b' })] }],
    ['an id over 64 characters', { records: [rec({ instanceId: 'x'.repeat(65) })] }],
    ['a value as text that is not a number', { records: [rec({ usageValue: '1.5kg' })] }],
    ['a value as an object', { records: [rec({ usageValue: { $gt: 0 } })] }],
    ['records as an object', { records: { 0: rec() } }],
    ['a __proto__ record', JSON.parse('{"records":[{"__proto__":{"recordId":"x"}}]}')],
  ])('when the body has %s, then it is refused as a whole', (_what, body) => {
    expect(usageBatchSchema.safeParse(body).success).toBe(false);
  });
  it('when the body has 1,000 records, then it parses', () => {
    expect(usageBatchSchema.safeParse({ records: Array.from({ length: 1000 }, (_, i) => rec({ recordId: `r${i}` })) }).success).toBe(true);
  });
});

describe('package terms', () => {
  it('when METERING_PACKAGES lists SKUs, then each has its quota, kind and threshold', () => {
    const { packages, problems } = parsePackageTerms('API-1K=1000:stop:80%, API-10K=10000.5:continue:500:alert,API-X=5');
    expect(problems).toEqual([]);
    expect(packages).toEqual({
      'API-1K': { quota: '1000', stopWhenUsedUp: true, threshold: { kind: 'PERCENT', value: '80' }, repurchase: true },
      'API-10K': { quota: '10000.5', stopWhenUsedUp: false, threshold: { kind: 'REMAINING', value: '500' }, repurchase: false },
      'API-X': { quota: '5', stopWhenUsedUp: true, repurchase: true },
    });
  });
  it.each(['API', 'A=0', 'A=1:sometimes', 'A=1:120%', 'A=1:stop:2:alert:3', 'A=-1'])('when an entry is %j, then it is a problem', (text) => {
    expect(parsePackageTerms(text).problems).toHaveLength(1);
  });
});

describe('package crossings', () => {
  const pkg = (o: Partial<MeteredInstanceRow> = {}): MeteredInstanceRow => ({
    instanceId: 'p1',
    chargingMode: 'ON_DEMAND_PKG',
    customerId: 'c',
    productId: 'p',
    skuCode: 's',
    used: '0',
    quota: '1000',
    stopWhenUsedUp: true,
    thresholdKind: 'PERCENT',
    thresholdValue: '80',
    repurchase: true,
    nextInstanceId: null,
    prevInstanceId: null,
    updatedAt: new Date(NOW),
    ...o,
  });
  it('when a percentage or a remainder is configured, then the threshold is the used amount that crosses it', () => {
    expect(thresholdUsedAt(pkg())).toBe(800);
    expect(thresholdUsedAt(pkg({ thresholdKind: 'REMAINING', thresholdValue: '150' }))).toBe(850);
    expect(thresholdUsedAt(pkg({ thresholdKind: null }))).toBeUndefined();
  });
  it('when a batch moves the total across the threshold and the quota, then both are reported once', () => {
    expect(crossingsOf(pkg(), { instanceId: 'p1', usedBefore: '700', usedAfter: '1000' }).map((c) => c.kind)).toEqual(['THRESHOLD_CROSSED', 'EXHAUSTED']);
    expect(crossingsOf(pkg(), { instanceId: 'p1', usedBefore: '800', usedAfter: '900' })).toEqual([]);
    expect(crossingsOf(pkg({ chargingMode: 'ON_DEMAND' }), { instanceId: 'p1', usedBefore: '0', usedAfter: '2000' })).toEqual([]);
  });
  it('when queried, then a package says used, total and remaining; on-demand only used', () => {
    expect(usageOfRow(pkg({ used: '250.5' }))).toMatchObject({ usedAmount: '250.5', totalAmount: '1000', remainingAmount: '749.5' });
    expect(usageOfRow(pkg({ used: '1200' }))).toMatchObject({ remainingAmount: '0' });
    expect(usageOfRow(pkg({ chargingMode: 'ON_DEMAND', used: '3' }))).toEqual({ chargingMode: 'ON_DEMAND', usedAmount: '3', updatedAt: new Date(NOW).toISOString() });
  });
});
