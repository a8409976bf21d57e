import { describe, expect, it } from 'vitest';
import { checkRetryPolicy, DEFAULT_RETRY_POLICY, retryDelayMs } from '../../../src/notifications/backoff.js';

describe('retryDelayMs', () => {
  it('when attempts fail in a row, then the delay doubles from the base', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 60_000 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy))).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it('when the doubled delay would pass the cap, then it stays at the cap (even for absurd attempt counts)', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 5000 };
    expect(retryDelayMs(3, policy)).toBe(4000);
    expect(retryDelayMs(4, policy)).toBe(5000);
    expect(retryDelayMs(10_000, policy)).toBe(5000);
  });

  it('when attempts is 0 or fractional, then it counts as the first failure', () => {
    expect(retryDelayMs(0, { baseDelayMs: 700, maxDelayMs: 10_000 })).toBe(700);
    expect(retryDelayMs(2.9, { baseDelayMs: 700, maxDelayMs: 10_000 })).toBe(1400);
  });

  it('when the defaults are used, then retries span hours, not minutes or days', () => {
    let total = 0;
    for (let n = 1; n < DEFAULT_RETRY_POLICY.maxAttempts; n++) total += retryDelayMs(n);
    expect(total).toBeGreaterThan(2 * 3_600_000);
    expect(total).toBeLessThan(12 * 3_600_000);
  });
});

describe('checkRetryPolicy', () => {
  it('when a policy cannot work, then it is refused', () => {
    expect(() => checkRetryPolicy({ maxAttempts: 0, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(RangeError);
    expect(() => checkRetryPolicy({ maxAttempts: 1.5, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(/maxAttempts/);
    expect(() => checkRetryPolicy({ maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 5 })).toThrow(/baseDelayMs/);
    expect(() => checkRetryPolicy({ maxAttempts: 3, baseDelayMs: Number.NaN, maxDelayMs: 5 })).toThrow(RangeError);
    expect(checkRetryPolicy({ maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 })).toEqual({ maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 });
  });
});
