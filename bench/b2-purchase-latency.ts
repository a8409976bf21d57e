import type { B0Summary } from './b0-baseline.js';
import type { B1Summary } from './b1-purchase-throughput.js';
import { awaitQuiet, type BenchContext } from './lib/context.js';
import { httpPurchaseStep, type HttpPurchaseStep } from './lib/http-purchase.js';
import { cpuLine, noisy } from './lib/limits.js';
import type { BenchResult } from './lib/results.js';
import { r } from './lib/stats.js';

// B2: purchase latency as the marketplace sees it (open loop, from the scheduled send time): p50/p95/p99 at half
// of B1's knee, and at twice the knee the 5 s promise — every call answered within 5 s, with 000004
// ("processing", poll queryInstance) when provisioning does not finish inside the budget.

/** What B5 reads from B2. */
export interface B2Summary {
  readonly half: HttpPurchaseStep;
  readonly double: HttpPurchaseStep;
}

/** Runs B2 at 0.5× and 2× B1's knee. */
export async function runB2(ctx: BenchContext, b1: B1Summary, b0: B0Summary, o: { halfMs?: number; doubleMs?: number } = {}): Promise<BenchResult & { summary: B2Summary }> {
  const started = new Date();
  const t0 = performance.now();
  const knee = Math.max(1, b1.kneeRate);
  const quiet = await awaitQuiet(ctx);
  const half = await httpPurchaseStep(ctx, r(knee * 0.5, 1), o.halfMs ?? 15_000);
  console.log(
    `  B2 50 % of knee (${half.offeredRate}/s): p50 ${half.latency.p50} ms, p95 ${half.latency.p95} ms, p99 ${half.latency.p99} ms, codes ${JSON.stringify(half.codes)}; ${cpuLine(half.cpu)}${noisy(half.cpu) ? ' [noisy]' : ''}`,
  );
  const double = await httpPurchaseStep(ctx, r(knee * 2, 1), o.doubleMs ?? 12_000);
  console.log(
    `  B2 2× knee (${double.offeredRate}/s): max ${double.latency.max} ms, over 5 s ${double.answersOver5s}, codes ${JSON.stringify(double.codes)}, drained in ${double.drainSeconds} s; ${cpuLine(double.cpu)}`,
  );
  const processing = double.codes['000004'] ?? 0;
  const retryLater = double.codes['000005'] ?? 0;
  const floor = b0.steps[0]?.latency.p50 ?? Number.NaN;
  return {
    id: 'B2',
    title: 'Purchase latency at 50 % and 200 % of the knee',
    startedAt: started.toISOString(),
    durationSeconds: r((performance.now() - t0) / 1000, 1),
    headline: `at ${half.offeredRate}/s: p50 ${half.latency.p50} / p95 ${half.latency.p95} / p99 ${half.latency.p99} ms; at ${double.offeredRate}/s: max ${double.latency.max} ms, ${processing} × 000004, ${retryLater} × 000005 of ${double.sent}`,
    targets: [
      { name: 'p99 at 50 % of knee', target: '≤ 300 ms', value: half.latency.p99, unit: 'ms', met: half.latency.p99 <= 300 },
      { name: 'answers later than 5 s at 2× knee', target: '0', value: double.answersOver5s, met: double.answersOver5s === 0 },
    ],
    limitedBy: `at 50 %: ${cpuLine(half.cpu)}; the floor is one purchase's Temporal round trips (B0 at concurrency 1: p50 ${floor} ms)`,
    ratioToBaseline: { baseline: 'B0 single-purchase p50 (concurrency 1)', ratio: r(half.latency.p50 / floor, 2) },
    details: { summary: { half, double }, processingAnswers: processing, retryLaterAnswers: retryLater, quietWaitBeforeHalf: quiet },
    summary: { half, double },
  };
}
