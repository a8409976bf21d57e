// The workflows' one serialising primitive: every state-changing handler of a workflow runs through one of these.
/**
 * Serialises state-changing handlers, first come first served. A promise chain, not `condition(() => !held)`:
 * the SDK resolves every condition that is true in one pass, so a flag would let all waiters in at once.
 */
export class OperationLock {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

