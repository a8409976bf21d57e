import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/infra/paths.js';

/** Where results go: one JSON per benchmark plus summary.json (and summary.md, the README table). */
export const RESULTS_DIR = join(repoRoot, 'bench', 'results');

/** One target a benchmark checks. */
export interface TargetCheck {
  readonly name: string;
  /** Human-readable target, e.g. "≥ 0.8 × B0". */
  readonly target: string;
  readonly value: number | string;
  readonly unit?: string;
  /** undefined: not measurable in this run (e.g. a prerequisite benchmark was not run). */
  readonly met: boolean | undefined;
}

/** What every benchmark returns. */
export interface BenchResult {
  readonly id: string;
  readonly title: string;
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** One line per figure for the summary table. */
  readonly headline: string;
  readonly targets: readonly TargetCheck[];
  /** What limited the figure, as far as the CPU reports tell. */
  readonly limitedBy: string;
  /** Ratio to the benchmark's baseline, where it has one. */
  readonly ratioToBaseline?: { readonly baseline: string; readonly ratio: number };
  readonly details: Record<string, unknown>;
}

/** Writes `bench/results/<id>.json`. */
export function writeResult(r: BenchResult, extra: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${r.id}.json`);
  writeFileSync(path, `${JSON.stringify({ ...extra, ...r }, null, 2)}\n`);
  return path;
}

const mark = (met: boolean | undefined): string => (met === undefined ? '–' : met ? '✅ met' : '❌ not met');

/** The markdown results table (README and summary.md). */
export function resultsTable(results: readonly BenchResult[]): string {
  const rows = ['| Bench | Figure | Target | Measured | Met | Limited by |', '|---|---|---|---|---|---|'];
  for (const r of results) {
    if (r.targets.length === 0) rows.push(`| ${r.id} | ${r.headline} | – | – | – | ${r.limitedBy} |`);
    r.targets.forEach((t, i) =>
      rows.push(`| ${i === 0 ? r.id : ''} | ${i === 0 ? r.headline : ''} | ${t.name}: ${t.target} | ${t.value}${t.unit ? ` ${t.unit}` : ''} | ${mark(t.met)} | ${i === 0 ? r.limitedBy : ''} |`),
    );
  }
  return rows.join('\n');
}
