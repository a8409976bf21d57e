import { Connection } from '@temporalio/client';
// Internal to the SDK, but the only way to a test-service connection without the retrying interceptor.
import { InternalConnectionOptionsSymbol, type InternalConnectionOptions } from '@temporalio/client/lib/connection.js';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

/** Moves a time-skipping test server's clock, for tests that jump days or hours ahead. */
export interface ClockSkipper {
  /** Until the server's clock reads at least `targetMs` (epoch ms). */
  skipTo(targetMs: number): Promise<void>;
  /** `ms` ahead of the server's clock now. */
  skip(ms: number): Promise<void>;
  close(): Promise<void>;
}

const ATTEMPTS = 3;
const PAUSE_MS = 2000;

/**
 * `env.sleep` without its hazard: it goes through the client's gRPC retry, which would repeat a failed
 * UnlockTimeSkippingWithSleep — not idempotent: it moves the server's time-lock counter while it runs — up to ten
 * times, including on UNKNOWN. This moves the clock by target over a test-service connection that never retries: a
 * call that fails on the wire may still have run on the server, so the server's time decides whether to ask again.
 * A skip still waits in real time while anything holds the server's time lock, e.g. a workflow task on a queue no
 * worker polls (the two-day push test's stalls, see its catchUpCrossings).
 */
export async function createClockSkipper(env: TestWorkflowEnvironment): Promise<ClockSkipper> {
  const options: InternalConnectionOptions = { address: env.address, interceptors: [], [InternalConnectionOptionsSymbol]: { supportsTestService: true } };
  const connection = await Connection.connect(options);
  const testService = connection.testService;
  if (!testService) throw new Error('the time-skipping connection has no test service');

  async function skipTo(targetMs: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const left = targetMs - (await env.currentTimeMs());
      if (left <= 0) return;
      try {
        await testService!.unlockTimeSkippingWithSleep({ duration: msToTs(left) });
      } catch (err) {
        if (attempt >= ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, PAUSE_MS));
      }
    }
  }

  return {
    skipTo,
    skip: async (ms) => skipTo((await env.currentTimeMs()) + ms),
    close: () => connection.close(),
  };
}
