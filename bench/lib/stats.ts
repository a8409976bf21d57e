// Summary statistics for latency samples. Nearest-rank percentiles over the exact samples (no histogram
// bucketing): runs are short enough that every sample fits in memory.

/** Latency summary in milliseconds. */
export interface LatencySummary {
  readonly n: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of an ascending array (`q` in 0..100); NaN for an empty array. */
export function percentile(sortedAsc: readonly number[], q: number): number {
  if (sortedAsc.length === 0) return Number.NaN;
  const rank = Math.ceil((q / 100) * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length - 1, Math.max(0, rank - 1))]!;
}

const round = (v: number, digits = 1): number => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v);

/** p50/p95/p99 and friends of latency samples (ms), rounded to 0.1 ms. */
export function summarize(samples: readonly number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : Number.NaN;
  return {
    n: s.length,
    min: round(s[0] ?? Number.NaN),
    mean: round(mean),
    p50: round(percentile(s, 50)),
    p95: round(percentile(s, 95)),
    p99: round(percentile(s, 99)),
    max: round(s[s.length - 1] ?? Number.NaN),
  };
}

/** Rounds to `digits` decimals (NaN and infinities pass through). */
export function r(v: number, digits = 2): number {
  return round(v, digits);
}

/** Counts of each distinct value. */
export function countBy<T extends string>(values: readonly T[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
