import { b0Step, type B0Step, type B0Summary } from './b0-baseline.js';
import { awaitQuiet, type BenchContext } from './lib/context.js';
import { PURCHASE_BUDGET_MS, httpPurchaseStep, type HttpPurchaseStep } from './lib/http-purchase.js';
import { cpuLine, noisy } from './lib/limits.js';
import type { BenchResult } from './lib/results.js';
import { r } from './lib/stats.js';

// B1: signed V2 newInstance over HTTP, open loop, stepping the offered rate to find the knee: the highest rate at
// which the service keeps up — ≥ 99 % of the offered purchases complete (000000), p99 stays under the service's
// provisioning budget (3.5 s, after which it answers 000004 instead of completing), and no queue builds up inside
// the step (the last quarter's median latency exceeds the first quarter's by at most max(100 ms, 50 %)).
//
// The machine is shared and other engineers' test runs take anywhere from 0 to 1.8 of its 2 cores, so a B0
// ceiling measured a minute earlier says little about the capacity during a B1 step. Each B1 step is therefore
// preceded by a B0 control (closed loop at B0's knee concurrency, same service, seconds before) and offered as a
// fraction of that control's throughput: the knee is found as a fraction of B0 measured under the same noise,
// and that fraction is the B1/B0 ratio. The fractions climb 0.6 → 1.1; one bisection step between the last pass
// and the first failure sets it to within 5 %.

/** One B1 step with the B0 control that preceded it. */
export interface B1Step {
  readonly fraction: number;
  readonly control: Pick<B0Step, 'concurrency' | 'throughput' | 'latency' | 'oursCpuMsPerPurchase'> & { cpu: string; otherCores: number };
  readonly step: HttpPurchaseStep;
  readonly passed: boolean;
}

/** What B2 reads from B1. */
export interface B1Summary {
  /** The highest offered rate of a passing step: what B1 was seen to sustain (B2 works from it). */
  readonly kneeRate: number;
  readonly kneeCompletedRate: number;
  /** Highest passing fraction of the adjacent B0 control (bounded by the failure above it): the paired B1/B0 ratio. */
  readonly ratio: number;
  /** kneeRate against B0's ceiling from the concurrency sweep (exposed to drift between the two). */
  readonly ratioToCeiling: number;
  /**
   * CPU per purchase of all our processes at the knee: the B1 step and its B0 control (which runs saturated, so it
   * carries more queueing overhead per purchase: informative, not a target).
   */
  readonly cpuPerPurchaseMs: { readonly b0Control: number; readonly b1: number; readonly ratio: number } | undefined;
  readonly steps: B1Step[];
}

/** Did a step keep up? */
export function stepPasses(s: HttpPurchaseStep): boolean {
  return s.completedRatio >= 0.99 && s.latency.p99 <= PURCHASE_BUDGET_MS && s.latencyGrowthMs <= Math.max(100, 0.5 * s.firstQuarterP50Ms);
}

const show = (s: HttpPurchaseStep): string =>
  `offered ${s.offeredRate}/s → completed ${s.completedRate}/s (${Math.round(s.completedRatio * 100)} %), p50 ${s.latency.p50} ms, p99 ${s.latency.p99} ms, queue growth ${s.latencyGrowthMs} ms, codes ${JSON.stringify(s.codes)}; ${cpuLine(s.cpu)}`;

/** Runs B1 against B0 (same run, same service). */
export async function runB1(ctx: BenchContext, b0: B0Summary, o: { stepMs?: number; controlMs?: number } = {}): Promise<BenchResult & { summary: B1Summary }> {
  const started = new Date();
  const t0 = performance.now();
  const stepMs = o.stepMs ?? 8000;
  const k = b0.kneeConcurrency;
  const steps: B1Step[] = [];
  const controls: B0Step[] = [];
  const pair = async (fraction: number) => {
    const c = await b0Step(ctx, k, o.controlMs ?? 5000, 1000);
    const rate = Math.max(1, r(fraction * c.throughput, 1));
    const s = await httpPurchaseStep(ctx, rate, stepMs);
    return { c, s, passed: stepPasses(s) };
  };
  const run = async (fraction: number): Promise<B1Step> => {
    let { c, s, passed } = await pair(fraction);
    if (!passed && (noisy(c.cpu) || noisy(s.cpu))) {
      // A failure while other engineers' processes took the CPU says little: wait for quiet (bounded), redo once.
      console.log(`  B1 ${Math.round(fraction * 100)} %: failed with other processes at ${Math.max(c.cpu.other.cores, s.cpu.other.cores)} cores; redoing`);
      await awaitQuiet(ctx, 20_000);
      ({ c, s, passed } = await pair(fraction));
    }
    controls.push(c);
    steps.push({
      fraction,
      control: { concurrency: k, throughput: c.throughput, latency: c.latency, oursCpuMsPerPurchase: c.oursCpuMsPerPurchase, cpu: cpuLine(c.cpu), otherCores: c.cpu.other.cores },
      step: s,
      passed,
    });
    console.log(`  B1 ${Math.round(fraction * 100)} % of B0 control (${c.throughput}/s at c=${k}): ${passed ? 'pass' : 'FAIL'}: ${show(s)}${noisy(s.cpu) ? ' [noisy]' : ''}`);
    return steps[steps.length - 1]!;
  };
  let lastPass: B1Step | undefined;
  let firstFail: number | undefined;
  for (const f of [0.6, 0.7, 0.8, 0.9, 1.0, 1.1]) {
    const s = await run(f);
    if (s.passed) lastPass = s;
    else {
      firstFail = f;
      break;
    }
  }
  if (lastPass && firstFail !== undefined) {
    const s = await run(r((lastPass.fraction + firstFail) / 2, 3));
    if (s.passed) lastPass = s;
  }
  if (!lastPass) {
    // Even 60 % failed: walk down so the knee is at least bracketed.
    for (const f of [0.45, 0.3, 0.15]) {
      const s = await run(f);
      if (s.passed) {
        lastPass = s;
        break;
      }
    }
  }
  const knee = lastPass;
  const best = steps.filter((s) => s.passed).sort((a, b) => b.step.offeredRate - a.step.offeredRate)[0];
  const kneeCompletedRate = best?.step.completedRate ?? 0;
  const ratio = r(knee ? Math.min(knee.fraction, knee.step.completedRate / knee.control.throughput) : 0, 2);
  const kneeControl = knee ? controls[steps.indexOf(knee)] : undefined;
  const cpuPerPurchaseMs =
    knee && kneeControl
      ? (() => {
          const b0Ms = kneeControl.oursCpuMsPerPurchase;
          const b1Ms = knee.step.oursCpuMsPerPurchase;
          return { b0Control: b0Ms, b1: b1Ms, ratio: r(b0Ms / b1Ms, 2) };
        })()
      : undefined;
  const summary: B1Summary = {
    kneeRate: best?.step.offeredRate ?? 0,
    kneeCompletedRate,
    ratio,
    ratioToCeiling: r(kneeCompletedRate / b0.ceiling, 2),
    cpuPerPurchaseMs,
    steps,
  };
  const failing = steps.find((s) => !s.passed);
  const b0Knee = b0.steps.find((s) => s.concurrency === b0.kneeConcurrency);
  const per = (m: Record<string, number> | undefined, k: string) => m?.[k] ?? Number.NaN;
  const limitedBy = failing
    ? `the queue in front of the Temporal dev server past the knee (${Math.round(failing.fraction * 100)} %: ${cpuLine(failing.step.cpu)}). CPU per purchase there: ` +
      `service ${per(failing.step.cpuMsPerPurchase, 'service')} ms (B0 at its knee: ${per(b0Knee?.cpuMsPerPurchase, 'service')} ms — the HTTP layer), ` +
      `dev server ${per(failing.step.cpuMsPerPurchase, 'temporal')} ms (B0: ${per(b0Knee?.cpuMsPerPurchase, 'temporal')} ms — it does more work per purchase with more in flight)`
    : 'the highest step tried still kept up';
  return {
    id: 'B1',
    title: 'Purchase throughput: signed V2 newInstance over HTTP, open loop',
    startedAt: started.toISOString(),
    durationSeconds: r((performance.now() - t0) / 1000, 1),
    headline: `knee ${summary.kneeRate} purchases/s (${kneeCompletedRate}/s completed) = ${summary.ratioToCeiling} × B0's ceiling (${b0.ceiling}/s); paired with B0 controls: passes at ${ratio} × B0`,
    targets: [
      { name: 'B1 / B0 at the knee (paired B0 controls)', target: '≥ 0.8', value: ratio, met: ratio >= 0.8 },
      { name: 'B1 knee / B0 ceiling (same run)', target: '≥ 0.8', value: summary.ratioToCeiling, met: summary.ratioToCeiling >= 0.8 },
    ],
    limitedBy,
    ratioToBaseline: { baseline: 'B0 control at the knee concurrency, run just before the knee step', ratio },
    details: {
      summary,
      kneeCriteria: `≥ 99 % answered 000000, p99 ≤ ${PURCHASE_BUDGET_MS} ms, last-quarter median latency ≤ first-quarter median + max(100 ms, 50 %)`,
      stepMs,
      controlConcurrency: k,
    },
    summary,
  };
}
