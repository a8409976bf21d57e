// At most `limit` calls at a time per key, the others waiting their turn in arrival order. The license service uses
// it to stay under Temporal's limit of 10 in-flight updates per workflow when many devices ask at once.

/** Runs calls with at most `limit` in flight per key. */
export interface KeyedLimiter {
  /** Runs `fn` when the key has a free slot; `fn` learns whether it waited (to check its own deadline). */
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Calls running or waiting for a key (for tests and metrics). */
  pending(key: string): number;
}

/** Creates a limiter; keys with nothing running or waiting take no memory. */
export function createKeyedLimiter(limit: number): KeyedLimiter {
  const slots = new Map<string, { running: number; waiting: Array<() => void> }>();
  return {
    async run(key, fn) {
      let s = slots.get(key);
      if (!s) slots.set(key, (s = { running: 0, waiting: [] }));
      const slot = s;
      if (slot.running >= limit) await new Promise<void>((resolve) => slot.waiting.push(resolve));
      slot.running++;
      try {
        return await fn();
      } finally {
        slot.running--;
        const next = slot.waiting.shift();
        if (next) next();
        else if (slot.running === 0) slots.delete(key);
      }
    },
    pending(key) {
      const s = slots.get(key);
      return s ? s.running + s.waiting.length : 0;
    },
  };
}
