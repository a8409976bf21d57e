// When a failed delivery is tried again. Exponential, capped, no jitter: rows are scheduled one by one by the
// database clock, and a gateway that is down sees at most one batch per tick, so there is no herd to spread.

/** Retry policy of the dispatcher. */
export interface RetryPolicy {
  /** Attempts (claims) before a notification is dead (status FAILED). */
  readonly maxAttempts: number;
  /** Delay after the first failed attempt; doubles after each further one. */
  readonly baseDelayMs: number;
  /** The delay never grows past this. */
  readonly maxDelayMs: number;
}

/**
 * Defaults: 10 attempts, 30 s doubling to at most 1 h: about 3 hours of retries before a notification is dead,
 * long enough to ride out a gateway's maintenance window, short enough that ops see a dead reminder the same day.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxAttempts: 10, baseDelayMs: 30_000, maxDelayMs: 3_600_000 });

/** Delay before the next attempt after `attempts` attempts have failed (attempts ≥ 1). */
export function retryDelayMs(attempts: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'> = DEFAULT_RETRY_POLICY): number {
  const n = Math.max(1, Math.floor(attempts));
  // 2 ** 1024 is Infinity; min() caps it, so no overflow guard is needed.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
}

/** Throws RangeError when a policy cannot work (non-positive values, a cap below the base). */
export function checkRetryPolicy(policy: RetryPolicy): RetryPolicy {
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new RangeError('maxAttempts must be an integer ≥ 1');
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= policy.baseDelayMs)) throw new RangeError('need 0 ≤ baseDelayMs ≤ maxDelayMs');
  return policy;
}
