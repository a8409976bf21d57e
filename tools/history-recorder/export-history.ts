// Exports one workflow run's history from a Temporal server into the replay fixtures, as the JSON that
// `historyFromJSON` (and `Worker.runReplayHistories`) reads back:
//
//   npm run history:export -- <workflowId> [--name <scenario>] [--run <runId>]
//
// writes test/replay/histories/<workflow-type>/<scenario>.json (scenario defaults to the workflow id; without --run,
// the latest run). TEMPORAL_ADDRESS (default 127.0.0.1:7233) and TEMPORAL_NAMESPACE (default 'default') pick the
// server. The recorder (tools/history-recorder/record-histories.ts) uses `exportHistory` from here, so both write the same format.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
// The SDK's historyToJSON/historyFromJSON (history-json.ts says why protobufjs must be a single copy).
import { historyFromJSON, historyToJSON, patchIds } from './history-json.js';
import { repoRoot } from '../../scripts/infra/paths.js';

/** Where replay fixtures live: one directory per workflow type. */
export const HISTORIES_DIR = join(repoRoot, 'test', 'replay', 'histories');

/** What to export. */
export interface ExportRequest {
  readonly workflowId: string;
  /** Without it, the latest run of the workflow id. */
  readonly runId?: string;
  /** File name without `.json`; defaults to the workflow id. */
  readonly name?: string;
  /** Fixture root; defaults to test/replay/histories. */
  readonly dir?: string;
}

/** A run's history as fixture JSON, and where it belongs. */
export interface FetchedHistory {
  readonly path: string;
  readonly workflowType: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly events: number;
  readonly json: string;
}

/** What was written. */
export type ExportedHistory = Omit<FetchedHistory, 'json'>;

// File and directory names come from workflow ids and type names: keep them to one safe path segment.
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function safeSegment(kind: string, value: string): string {
  if (!SAFE_SEGMENT.test(value) || value.includes('..')) throw new Error(`${kind} ${JSON.stringify(value)} cannot be used as a file name`);
  return value;
}

/** Fetches a run's history with `fetchHistory()` and converts it to fixture JSON (nothing written yet). */
export async function fetchFixture(client: Client, req: ExportRequest): Promise<FetchedHistory> {
  // Pin the run first, so the file names the run it holds even if a new run starts meanwhile.
  const runId = req.runId ?? (await client.workflow.getHandle(req.workflowId).describe()).runId;
  const history = await client.workflow.getHandle(req.workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const workflowType = events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
  if (!workflowType) throw new Error(`history of ${req.workflowId} (${runId}) does not start with WorkflowExecutionStarted`);
  const json = historyToJSON(history);
  // A fixture that does not load back is worse than none: check before writing.
  const loaded = historyFromJSON(JSON.parse(json));
  if ((loaded.events ?? []).length !== events.length) throw new Error(`history of ${req.workflowId} (${runId}) does not survive the JSON round trip`);
  const dir = join(req.dir ?? HISTORIES_DIR, safeSegment('workflow type', workflowType));
  const path = join(dir, `${safeSegment('fixture name', req.name ?? req.workflowId)}.json`);
  return { path, workflowType, workflowId: req.workflowId, runId, events: events.length, json };
}

/** Writes a fetched history (overwriting an older file of the same name). */
export function writeFixture(f: FetchedHistory): ExportedHistory {
  mkdirSync(dirname(f.path), { recursive: true });
  writeFileSync(f.path, `${f.json}\n`);
  const { json: _json, ...written } = f;
  return written;
}

/** A fixture's file name (without `.json`): `<scenario>[.<part>][.<tag>]`, the recorders' shared scheme. */
export function fixtureName(scenario: string, part: string | undefined, tag: string | undefined): string {
  return [scenario, part, tag].filter(Boolean).join('.');
}

/**
 * Refuses a `--tag` label that is not kebab-case (it becomes part of file names; `after-<patch-id>` by convention).
 * Dots chain labels, for a history that carries several patches: `after-<first>.after-<second>`.
 */
export function checkTagLabel(label: string, asGiven = label): void {
  if (!/^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/.test(label)) throw new Error(`--tag ${asGiven}: the label must be kebab-case, e.g. after-<patch-id> (dots chain several)`);
}

/**
 * Rerunning overwrites fixtures, but never an older code's shape with a newer one: a history that carries a patch
 * the file it would replace does not is the changed code, and belongs under `--tag after-<patch-id>`. (The old
 * fixture is deleted deliberately, once no run of its shape is open: docs/workflow-versioning.md.)
 */
export function refuseToReplaceOlderShape(f: FetchedHistory): void {
  if (!existsSync(f.path)) return;
  const before = patchIds(JSON.parse(readFileSync(f.path, 'utf8')));
  const added = patchIds(JSON.parse(f.json)).filter((id) => !before.includes(id));
  if (added.length > 0) {
    throw new Error(`${repoRelative(f.path)} was recorded before patch ${added.join(', ')}; record the new code with --tag after-${added[0]} instead of replacing it`);
  }
}

/** Fetches a run's history and writes it as a replay fixture. */
export async function exportHistory(client: Client, req: ExportRequest): Promise<ExportedHistory> {
  return writeFixture(await fetchFixture(client, req));
}

/** A path relative to the repository, for messages. */
export function repoRelative(path: string): string {
  return relative(repoRoot, path);
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, run: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const workflowId = positionals[0];
  if (values.help || !workflowId || positionals.length > 1) {
    console.error('usage: npm run history:export -- <workflowId> [--name <scenario>] [--run <runId>]');
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const out = await exportHistory(client, { workflowId, ...(values.run ? { runId: values.run } : {}), ...(values.name ? { name: values.name } : {}) });
    console.log(`${repoRelative(out.path)}: ${out.workflowType} ${out.workflowId} run ${out.runId}, ${out.events} events`);
  } finally {
    await connection.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
