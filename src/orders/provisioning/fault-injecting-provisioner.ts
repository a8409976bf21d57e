import { setTimeout as sleep } from 'node:timers/promises';
import { ProvisionerError, type Provisioner, type ProvisionerErrorCode, type ProvisionerOperation } from './provisioner.js';

// A Provisioner wrapper for reliability tests: injects failures and delays per operation and counts the calls that
// had an effect, so a test can assert "retried N times, provisioned once". A failure injected `after` the inner
// call models the worst case of a remote call: the effect happened but the answer was lost.

/** Every operation of the port, for building per-operation tables. */
const OPERATIONS: readonly ProvisionerOperation[] = ['create', 'changeSpec', 'freeze', 'resume', 'remove', 'get'];

/** Per-operation counters (live: they change as calls complete). */
export type ProvisionerEffects = Record<ProvisionerOperation, number>;

/** Controls of the injected faults. */
export interface ProvisionerFaults {
  /**
   * The next `n` calls of `op` fail with ProvisionerError(`code`): 'before' (default) without reaching the inner
   * provisioner, 'after' once the inner call succeeded (an effect whose answer is lost).
   */
  failNext(op: ProvisionerOperation, n: number, code: ProvisionerErrorCode, at?: 'before' | 'after'): void;
  /** Delays every later call of `op` by `ms` before it reaches the inner provisioner (0 clears it). */
  delayMs(op: ProvisionerOperation, ms: number): void;
  /** Clears every injected failure and delay (the counters are kept). */
  reset(): void;
}

/** The wrapped provisioner, its fault controls, and its counters. */
export interface FaultInjectingProvisioner {
  provisioner: Provisioner;
  faults: ProvisionerFaults;
  /** Calls that reached the inner provisioner and succeeded there (including those whose answer was then dropped). */
  effects: ProvisionerEffects;
  /** Every call made to the wrapper, failed or not. */
  attempts: ProvisionerEffects;
}

const zeroes = (): ProvisionerEffects =>
  Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as ProvisionerEffects;

/** Wraps `inner` with injectable failures and delays, and counts effective calls. */
export function withFaults(inner: Provisioner): FaultInjectingProvisioner {
  const effects = zeroes();
  const attempts = zeroes();
  const pending = new Map<ProvisionerOperation, Array<{ code: ProvisionerErrorCode; at: 'before' | 'after' }>>();
  const delays = new Map<ProvisionerOperation, number>();

  const injected = (op: ProvisionerOperation, code: ProvisionerErrorCode, at: 'before' | 'after'): ProvisionerError =>
    new ProvisionerError(code, `injected ${code} ${at} ${op}`);

  async function run<T>(op: ProvisionerOperation, call: () => Promise<T>): Promise<T> {
    attempts[op]++;
    const fault = pending.get(op)?.shift();
    const delay = delays.get(op) ?? 0;
    if (delay > 0) await sleep(delay);
    if (fault?.at === 'before') throw injected(op, fault.code, 'before');
    const result = await call();
    effects[op]++;
    if (fault?.at === 'after') throw injected(op, fault.code, 'after');
    return result;
  }

  const provisioner: Provisioner = {
    kind: inner.kind,
    create: (id, spec, options) => run('create', () => (options ? inner.create(id, spec, options) : inner.create(id, spec))),
    changeSpec: (id, spec) => run('changeSpec', () => inner.changeSpec(id, spec)),
    freeze: (id) => run('freeze', () => inner.freeze(id)),
    resume: (id) => run('resume', () => inner.resume(id)),
    remove: (id) => run('remove', () => inner.remove(id)),
    get: (id) => run('get', () => inner.get(id)),
  };

  const faults: ProvisionerFaults = {
    failNext(op, n, code, at = 'before') {
      if (!Number.isInteger(n) || n < 0) throw new RangeError('failNext: n must be a non-negative integer');
      const queue = pending.get(op) ?? [];
      for (let i = 0; i < n; i++) queue.push({ code, at });
      pending.set(op, queue);
    },
    delayMs(op, ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('delayMs: ms must be a non-negative number');
      delays.set(op, ms);
    },
    reset() {
      pending.clear();
      delays.clear();
    },
  };

  return { provisioner, faults, effects, attempts };
}
