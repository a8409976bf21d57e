import { describe, expect, it } from 'vitest';
import { BacklogFull, createBatcher, type BatcherWatch } from '../../../src/platform/db/batcher.js';

// The batcher under the nonce claims, the inbox and queryInstance's version reads: one statement for the items that
// arrive while one is in flight, each item answered with its own result, a failed batch retried item by item.

/** A batcher doubling numbers, recording each batch it runs; a batch holding `poison` fails. */
function doubler(o: { maxQueued?: number; poison?: number; watch?: BatcherWatch } = {}) {
  const batches: number[][] = [];
  const batcher = createBatcher<number, number>({
    what: 'doublings',
    run: async (items) => {
      batches.push([...items]);
      await new Promise((res) => setTimeout(res, 5));
      if (o.poison !== undefined && items.includes(o.poison)) throw new Error('poisoned batch');
      return items.map((i) => i * 2);
    },
    maxBatch: 3,
    maxQueued: o.maxQueued ?? 100,
    ...(o.watch ? { watch: o.watch } : {}),
  });
  return { batcher, batches };
}

describe('batcher', () => {
  it('when items arrive while a batch runs, then they go together in the next ones (at most maxBatch each), each answered with its own result', async () => {
    const { batcher, batches } = doubler();
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.submit(i)));
    expect(results).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('when a batch fails, then its items run one by one and only the bad one fails', async () => {
    const { batcher, batches } = doubler({ poison: 3 });
    const settled = await Promise.allSettled([1, 2, 3, 4].map((i) => batcher.submit(i)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([2, 4, 'poisoned batch', 8]);
    expect(batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('when the backlog is full, then the next item is refused with a BacklogFull naming what it holds; flush waits for the rest', async () => {
    const { batcher } = doubler({ maxQueued: 2 });
    const first = batcher.submit(1);
    const queued = [batcher.submit(2), batcher.submit(3)];
    expect(batcher.waiting()).toBe(2);
    const refused = await batcher.submit(4).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BacklogFull);
    expect(refused).toMatchObject({ code: 'BACKLOG_FULL', what: 'doublings', limit: 2, message: 'doublings backlog full (2 waiting)' });
    await batcher.flush();
    expect(batcher.waiting()).toBe(0);
    expect(await Promise.all([first, ...queued])).toEqual([2, 4, 6]);
  });

  it('when watched, then the watch reads the backlog under the batcher\'s name: the items waiting behind the statement in flight', async () => {
    const watched = new Map<string, () => number>();
    const { batcher } = doubler({ watch: { watch: (what, waiting) => void watched.set(what, waiting) } });
    expect([...watched.keys()]).toEqual(['doublings']);
    const waiting = watched.get('doublings')!;
    expect(waiting()).toBe(0);
    const all = Promise.all([1, 2, 3].map((i) => batcher.submit(i)));
    // 1 is in flight; 2 and 3 wait for it.
    expect(waiting()).toBe(2);
    await all;
    expect(waiting()).toBe(0);
  });
});
