// One way to bound a wait, for every caller that answers someone on a clock (the marketplace's 5 s, a readiness
// probe, a notification gateway): race the work against a timer, clear the timer either way, and keep the
// abandoned work from surfacing later as an unhandled rejection.

/**
 * The least time left worth starting a look-up or an update with, for a caller answering on a clock: less is left
 * to the caller's retry (an update sent with no time to answer would be applied behind a "retry" answer).
 */
export const MIN_START_MS = 100;

/** How long a first look-up toward `deadline` (epoch ms) may take: what is left, but at least MIN_START_MS. */
export function lookupWindowMs(deadline: number, now: number = Date.now()): number {
  return Math.max(MIN_START_MS, deadline - now);
}

/** Whether too little is left before `deadline` (epoch ms) to start an update or a look-up (see MIN_START_MS). */
export function tooLateToStart(deadline: number, now: number = Date.now()): boolean {
  return deadline - now < MIN_START_MS;
}

/** Settles as `work` does, or rejects with `onTimeout()` once `ms` have passed, whichever comes first. */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  // The work may still settle after the deadline; nobody awaits it then.
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
