// `npm run bench [-- B0 B3 … | experiments | X1 …]`: the load and latency benchmarks of issue #8.
// With no argument it runs B4, B0, B1, B2, B3, B6, B5, B7 (B1 and B7 need B0 and B2 needs B1 from the same run, so asking for
// one pulls in its prerequisites). Experiments (X*) are opt-in. Results: bench/results/<id>.json, summary.json,
// summary.md; a full run also rewrites the results table in bench/README.md. See bench/README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { repoRoot } from '../scripts/infra/paths.js';
import { runB0, type B0Summary } from './b0-baseline.js';
import { runB1, type B1Summary } from './b1-purchase-throughput.js';
import { runB2, type B2Summary } from './b2-purchase-latency.js';
import { runB3 } from './b3-query-instance.js';
import { runB4 } from './b4-signature.js';
import { runB5 } from './b5-open-orders.js';
import { runB6 } from './b6-replay.js';
import { runB7 } from './b7-licenses.js';
import { EXPERIMENTS, runExperiments } from './experiments.js';
import { runTopologies, TOPOLOGIES, topologyName, topologyTable } from './topologies.js';
import { createContext } from './lib/context.js';
import { ensureBenchDatabase } from './lib/infra.js';
import { describeMachine } from './lib/machine.js';
import { RESULTS_DIR, resultsTable, writeResult, type BenchResult } from './lib/results.js';
import { r } from './lib/stats.js';

const ALL = ['B4', 'B0', 'B1', 'B2', 'B3', 'B6', 'B5', 'B7'] as const;
const NEEDS: Record<string, string[]> = { B1: ['B0'], B2: ['B0', 'B1'], B7: ['B0'] };
/** The whole default run must stay under 15 minutes; warn when it does not. */
const BUDGET_SECONDS = 15 * 60;

Runtime.install({ logger: new DefaultLogger('WARN') });

const args = process.argv.slice(2).map((a) => a.toUpperCase());
await ensureBenchDatabase();

// `npm run bench -- topologies`: B0 and B1 on the dev server and on the cluster profile, 1 and 2 worker processes
// (bench/topologies.ts); a run of its own, as each topology needs fresh servers.
// `npm run bench -- topologies cluster-1` runs only the topologies named (dev-1, cluster-1, dev-2, cluster-2).
if (args[0] === 'TOPOLOGIES') {
  const names = args.slice(1).map((a) => a.toLowerCase());
  const unknownNames = names.filter((n) => !TOPOLOGIES.some((t) => topologyName(t) === n));
  if (unknownNames.length > 0) {
    console.error(`unknown topology: ${unknownNames.join(', ')}; known: ${TOPOLOGIES.map(topologyName).join(', ')}`);
    process.exit(2);
  }
  const only = names.length === 0 ? TOPOLOGIES : TOPOLOGIES.filter((t) => names.includes(topologyName(t)));
  const { bundleOrderWorkflow } = await import('./lib/infra.js');
  const bundle = await bundleOrderWorkflow();
  const describe = (cli: string, pg: string) => describeMachine({ temporalCliPath: cli, postgresVersion: pg });
  const res = await runTopologies(describe, bundle.path, only);
  const path = writeResult(res, { machine: describeMachine({ temporalCliPath: (await import('../scripts/infra/temporal-cli.js')).ensureTemporalCli() }) });
  const table = topologyTable(res.rows);
  writeFileSync(join(RESULTS_DIR, 'topologies.md'), `${table}\n`);
  console.log(`\n${table}\n\n${res.targets.map((t) => `${t.name}: ${t.value} (${t.target})`).join('\n')}\n[bench] T → ${path} in ${res.durationSeconds} s`);
  process.exit(0);
}
const experiments = args.includes('EXPERIMENTS') ? Object.keys(EXPERIMENTS) : args.filter((a) => a in EXPERIMENTS);
const asked = args.filter((a) => (ALL as readonly string[]).includes(a));
const unknown = args.filter((a) => a !== 'EXPERIMENTS' && !(a in EXPERIMENTS) && !(ALL as readonly string[]).includes(a));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.join(', ')}, ${Object.keys(EXPERIMENTS).join(', ')}, experiments`);
  process.exit(2);
}
const wanted = new Set<string>(asked.length === 0 && experiments.length === 0 ? ALL : asked);
for (const id of [...wanted]) for (const dep of NEEDS[id] ?? []) wanted.add(dep);
const plan = ALL.filter((id) => wanted.has(id));
const fullRun = plan.length === ALL.length;

const t0 = performance.now();
const results: BenchResult[] = [];
console.log(`[bench] plan: ${[...plan, ...experiments].join(', ')}`);

const needsService = plan.some((id) => id !== 'B4') || experiments.length > 0;
const ctx = needsService ? await createContext((cli, pg) => describeMachine({ temporalCliPath: cli, postgresVersion: pg })) : undefined;
const machine = ctx?.machine ?? describeMachine({ temporalCliPath: (await import('../scripts/infra/temporal-cli.js')).ensureTemporalCli() });
const server = ctx
  ? { startedHere: true, address: ctx.temporal.address, dbFile: ctx.temporal.dbFile, sqlitePragmas: ctx.temporal.pragmas, extraArgs: ctx.temporal.extraArgs, startSeconds: ctx.temporal.startSeconds }
  : undefined;
if (ctx) console.log(`[bench] private Temporal dev server ${ctx.temporal.address} (pragmas ${ctx.temporal.pragmas.join(', ')}), service at ${ctx.api.host}:${ctx.api.port}`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    if (stopping) return;
    stopping = true;
    console.log(`[bench] ${sig}: stopping the bench's processes`);
    void (ctx?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

try {
  let b0: B0Summary | undefined;
  let b1: B1Summary | undefined;
  let b2: B2Summary | undefined;
  for (const id of plan) {
    console.log(`[bench] ${id} …`);
    let res: BenchResult;
    switch (id) {
      case 'B4':
        res = await runB4();
        break;
      case 'B0': {
        const x = await runB0(ctx!);
        b0 = x.summary;
        res = x;
        break;
      }
      case 'B1': {
        const x = await runB1(ctx!, b0!);
        b1 = x.summary;
        res = x;
        break;
      }
      case 'B2': {
        const x = await runB2(ctx!, b1!, b0!);
        b2 = x.summary;
        res = x;
        break;
      }
      case 'B3':
        res = await runB3(ctx!);
        break;
      case 'B5':
        res = await runB5(ctx!, b2);
        break;
      case 'B7':
        res = await runB7(ctx!, b0!);
        break;
      case 'B6':
        res = await runB6(ctx, ctx?.bundlePath ?? (await (await import('./lib/infra.js')).bundleOrderWorkflow()).path);
        break;
    }
    results.push(res);
    const path = writeResult(res, { machine, server, serviceWorker: ctx?.serviceConfig.workerTuning, serviceWorkerPoolMax: ctx?.serviceConfig.workerPoolMax });
    console.log(`[bench] ${id}: ${res.headline} (${res.durationSeconds} s) → ${path}`);
  }
  if (experiments.length > 0 && ctx) {
    const x = await runExperiments(ctx, experiments, b0);
    results.push(...x);
    for (const res of x) writeResult(res, { machine, server });
  }
} finally {
  await ctx?.close();
}

const totalSeconds = r((performance.now() - t0) / 1000, 1);
// The summary covers the latest result of every benchmark on disk, so a partial run (`-- B3`) refreshes its own
// rows and keeps the others (each row says when it ran).
const latest = ALL.map((id) => results.find((x) => x.id === id) ?? readResult(id)).filter((x): x is BenchResult => x !== undefined);
const table = resultsTable(latest);
const summary = {
  finishedAt: new Date().toISOString(),
  totalSeconds,
  withinBudget: totalSeconds <= BUDGET_SECONDS,
  plan: [...plan, ...experiments],
  machine,
  server,
  results: latest.map((x) => ({
    id: x.id,
    title: x.title,
    startedAt: x.startedAt,
    headline: x.headline,
    targets: x.targets,
    limitedBy: x.limitedBy,
    ratioToBaseline: x.ratioToBaseline,
    durationSeconds: x.durationSeconds,
  })),
};
if (plan.length > 0) {
  writeFileSync(join(RESULTS_DIR, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'summary.md'), `${table}\n`);
}
if (fullRun) updateReadme(table, summary);
console.log(`\n${resultsTable(results.filter((x) => !x.id.startsWith('X')))}\n\n[bench] done in ${totalSeconds} s${totalSeconds > BUDGET_SECONDS ? ` — OVER the ${BUDGET_SECONDS} s budget` : ''}`);

/** The result file of an earlier run, if there is one. */
function readResult(id: string): BenchResult | undefined {
  try {
    return JSON.parse(readFileSync(join(RESULTS_DIR, `${id}.json`), 'utf8')) as BenchResult;
  } catch {
    return undefined;
  }
}

/** Rewrites the table between the README's result markers (a full run only: a partial one would drop rows). */
function updateReadme(tableMd: string, s: typeof summary): void {
  const path = join(repoRoot, 'bench', 'README.md');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  const begin = '<!-- results:begin -->';
  const end = '<!-- results:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return;
  const m = s.machine;
  const header =
    `Run of ${s.finishedAt.slice(0, 16).replace('T', ' ')} UTC, ${s.totalSeconds} s, commit ${m.git.commit}${m.git.dirtyFiles ? ` (+${m.git.dirtyFiles} changed files)` : ''}; ` +
    `${m.nproc} × ${m.cpuModel}, ${m.memTotalMiB} MiB, load ${m.loadAverageAtStart.join(' / ')} at start; Node ${m.node}, ${m.temporalCli}, SDK ${m.temporalSdk}, PostgreSQL ${m.postgres ?? '?'}.`;
  writeFileSync(path, `${text.slice(0, i + begin.length)}\n${header}\n\n${tableMd}\n${text.slice(j)}`);
}
