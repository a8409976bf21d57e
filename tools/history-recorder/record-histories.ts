// Records the replay fixtures: runs each lifecycle path with the real workflow code and exports the resulting
// histories into test/replay/histories/<workflow-type>/.
//
//   npx tsx tools/history-recorder/record-histories.ts [--only <scenario>[,<scenario>...]] [--tag [<workflow-type>:]<label>]... [--list]
//
// The paths are recorders, in one catalogue per workflow type (<type>-recorder.ts, listed in catalogues.ts). Each
// recorder runs on one of two kits, by what its path needs: ServiceKit (service-kit.ts: the real service on the dev
// server, for paths of seconds) or TimeSkippingKit (time-skipping-kit.ts: the Java time-skipping server, for paths
// of days). Only the kinds of server the selected scenarios need are started. A recorder returns the runs to export
// (a run of another type, such as a child, names its own `workflowType`); this driver waits for them and writes the
// files.
//
// Each fixture is written as <scenario>[.<part>][.<tag>].json; rerunning overwrites the files of the same tag.
// Before a workflow change, the untagged fixtures are the record of the old code: keep them, and record the new
// code with `--tag after-<patch-id>` (docs/workflow-versioning.md). A patch belongs to one workflow type, and a
// scenario may export runs of several (an order and its supervision child): `--tag orderWorkflow:after-<patch-id>`
// tags that type's fixtures only, a tag without a type tags every fixture written.
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import * as catalogues from './catalogues.js';
import { checkTagLabel, fetchFixture, fixtureName, refuseToReplaceOlderShape, repoRelative, writeFixture, type ExportedHistory } from './export-history.js';
import type { Recorder, RecorderCatalogue } from './catalogue.js';
import type { RecordingKit } from './recorder.js';
import { ServiceKit } from './service-kit.js';
import { TimeSkippingKit } from './time-skipping-kit.js';

/** A recorder of a catalogue, with its workflow type and the kind of kit (hence server) it runs on. */
type ListedRecorder =
  | { readonly workflowType: string; readonly kit: 'service'; readonly recorder: Recorder<ServiceKit> }
  | { readonly workflowType: string; readonly kit: 'time-skipping'; readonly recorder: Recorder<TimeSkippingKit> };

/** Every recorder of every catalogue, catalogues in the order of their workflow type names. */
function listRecorders(all: readonly RecorderCatalogue[]): ListedRecorder[] {
  const listed = [...all]
    .sort((a, b) => (a.workflowType < b.workflowType ? -1 : a.workflowType > b.workflowType ? 1 : 0))
    .flatMap(({ workflowType, service = [], timeSkipping = [] }): ListedRecorder[] => [
      ...service.map((recorder) => ({ workflowType, kit: 'service' as const, recorder })),
      ...timeSkipping.map((recorder) => ({ workflowType, kit: 'time-skipping' as const, recorder })),
    ]);
  const seen = new Set<string>();
  for (const { recorder } of listed) {
    if (seen.has(recorder.scenario)) throw new Error(`two recorders are named ${recorder.scenario}: --only could not tell them apart`);
    seen.add(recorder.scenario);
  }
  return listed;
}

/** `--tag` values: `<label>` tags every fixture, `<workflow-type>:<label>` that type's only (wins over the former). */
function parseTags(values: readonly string[], knownTypes: ReadonlySet<string>): (workflowType: string) => string | undefined {
  const scoped = new Map<string, string>();
  let everywhere: string | undefined;
  for (const value of values) {
    const [type, label] = value.includes(':') ? (value.split(':', 2) as [string, string]) : [undefined, value];
    checkTagLabel(label, value);
    if (type === undefined) {
      if (everywhere !== undefined) throw new Error('--tag: more than one tag for every type');
      everywhere = label;
    } else {
      if (!knownTypes.has(type)) throw new Error(`--tag ${value}: no recorder exports ${type} (known: ${[...knownTypes].join(', ')})`);
      if (scoped.has(type)) throw new Error(`--tag: more than one tag for ${type}`);
      scoped.set(type, label);
    }
  }
  return (workflowType) => scoped.get(workflowType) ?? everywhere;
}

/** Runs one recorder, waits for its runs, and writes them; a run that is not as the recorder says stops it. */
async function recordAndExport<K extends RecordingKit>(kit: K, workflowTypeOfRecorder: string, r: Recorder<K>, tagOf: (workflowType: string) => string | undefined): Promise<ExportedHistory[]> {
  const written: ExportedHistory[] = [];
  const runs = await r.record(kit);
  for (const run of runs) {
    const settled = await kit.settle(run.workflowId, run.runId);
    if (settled.status !== run.status) throw new Error(`${r.scenario}: ${run.workflowId} is ${settled.status}, expected ${run.status}`);
    const workflowType = run.workflowType ?? workflowTypeOfRecorder;
    const name = fixtureName(r.scenario, run.part, tagOf(workflowType));
    const fetched = await fetchFixture(kit.client, { workflowId: run.workflowId, runId: settled.runId, name });
    if (fetched.workflowType !== workflowType) throw new Error(`${r.scenario}: recorded a ${fetched.workflowType}, expected ${workflowType}`);
    if (written.some((w) => w.path === fetched.path)) throw new Error(`${r.scenario}: two runs would be written to ${repoRelative(fetched.path)}; give them parts`);
    refuseToReplaceOlderShape(fetched);
    const out = writeFixture(fetched);
    written.push(out);
    console.log(`wrote ${repoRelative(out.path)}  ${out.events} events  ${settled.status}${settled.status === 'RUNNING' ? ' (idle)' : ''}`);
  }
  return written;
}

/** Runs the recorders on one kit, closed afterwards (also after a failed recorder). */
async function recordOn<K extends RecordingKit & { close(): Promise<void> }>(
  kit: K,
  recorders: readonly { readonly workflowType: string; readonly recorder: Recorder<K> }[],
  tagOf: (workflowType: string) => string | undefined,
): Promise<ExportedHistory[]> {
  const written: ExportedHistory[] = [];
  try {
    for (const { workflowType, recorder } of recorders) written.push(...(await recordAndExport(kit, workflowType, recorder, tagOf)));
  } finally {
    await kit.close();
  }
  return written;
}

async function main(argv: string[]): Promise<void> {
  const usage = 'usage: npx tsx tools/history-recorder/record-histories.ts [--only <scenario>[,<scenario>...]] [--tag [<workflow-type>:]<label>]... [--list]';
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string' }, tag: { type: 'string', multiple: true }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const all: readonly RecorderCatalogue[] = Object.values(catalogues);
  const recorders = listRecorders(all);
  if (values.list) {
    for (const { workflowType, kit, recorder: r } of recorders) console.log(`${workflowType}/${r.scenario} [${kit}]: ${r.description}`);
    return;
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((s) => !recorders.some(({ recorder }) => recorder.scenario === s)) ?? [];
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (see --list)`);
  const tagOf = parseTags(values.tag ?? [], new Set(all.map((c) => c.workflowType)));
  const selected = recorders.filter(({ recorder }) => !only || only.includes(recorder.scenario));
  const onService = selected.flatMap((r) => (r.kit === 'service' ? [r] : []));
  const timeSkipping = selected.flatMap((r) => (r.kit === 'time-skipping' ? [r] : []));

  // Worker state changes at INFO would drown the list of files written.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const written: ExportedHistory[] = [];
  // Only the servers the selection needs: the dev server (and PostgreSQL) for service recorders, Java for the rest.
  if (onService.length > 0) written.push(...(await recordOn(await ServiceKit.start(), onService, tagOf)));
  if (timeSkipping.length > 0) written.push(...(await recordOn(await TimeSkippingKit.start(), timeSkipping, tagOf)));
  const events = written.reduce((n, w) => n + w.events, 0);
  const tags = values.tag?.length ? ` tagged ${values.tag.join(', ')}` : '';
  console.log(`${written.length} fixture(s), ${events} events, from ${selected.length} scenario(s)${tags}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
