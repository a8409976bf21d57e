import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import * as registeredWorkflows from '../../src/workflows.js';
import { historyFromJSON, patchIds, type History } from '../../tools/history-recorder/history-json.js';
import {
  deliveryAsLocalActivity,
  reminderRecordedBeforeNotified,
  swappedQueryOrder as swappedQueryOrderVariant,
  unguardedDetailsUpsert,
  unguardedLicenseCountOnFoundLicense,
  unguardedReleasedSupervisionSignal,
  unguardedSettlementLines,
  unguardedUnacceptedLineWriteOff,
  unguardedV1SupervisionLookUp,
  writeVariant,
} from './workflow-variants.js';
import { quietBundlerLogger } from '../../tools/testing/quiet-logger.js';

// Replays every recorded history (test/replay/histories/<workflow-type>/*.json, written by
// tools/history-recorder/record-histories.ts, tools/history-recorder/notification-recorder.ts (notificationWorkflow)
// and `npm run history:export`) against the workflow code as it is now. No server:
// the workflow code is bundled here and replayed by a replay worker. A workflow change that would break a running
// order fails here, naming the fixture. Versioning policy: docs/workflow-versioning.md.

const here = dirname(fileURLToPath(import.meta.url));
const HISTORIES = join(here, 'histories');
const WORKFLOWS_ENTRY = join(here, '..', '..', 'src', 'workflows.ts');

/** A history event as fixture JSON: its id and one `<kind>EventAttributes` object. */
interface JsonEvent {
  readonly eventId?: string;
  readonly [attributes: string]: unknown;
}

/** The few attributes the patch checks below read. */
interface JsonAttributes {
  readonly activityType?: { readonly name?: string };
  readonly scheduledEventId?: string;
  readonly continuedExecutionRunId?: string;
  readonly markerName?: string;
  readonly details?: Record<string, { readonly payloads?: ReadonlyArray<{ readonly data?: string }> }>;
}

const attrs = (e: JsonEvent, kind: string) => e[`${kind}EventAttributes`] as JsonAttributes | undefined;

interface Fixture {
  /** `<workflow-type>/<file>`. */
  readonly name: string;
  readonly workflowType: string;
  /** The recorded run's workflow id (servers ≥1.27 put it in the started event), so workflowInfo() is as recorded. */
  readonly workflowId: string;
  readonly json: { events: JsonEvent[] };
  readonly history: History;
  readonly events: number;
}

function loadFixtures(): Fixture[] {
  const fixtures: Fixture[] = [];
  for (const type of readdirSync(HISTORIES).sort()) {
    if (!statSync(join(HISTORIES, type)).isDirectory()) continue;
    for (const file of readdirSync(join(HISTORIES, type)).sort()) {
      if (!file.endsWith('.json')) continue;
      const json = JSON.parse(readFileSync(join(HISTORIES, type, file), 'utf8'));
      const history = historyFromJSON(json);
      const name = `${type}/${file}`;
      const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId || name;
      fixtures.push({ name, workflowType: type, workflowId, json, history, events: history.events?.length ?? 0 });
    }
  }
  return fixtures;
}

const fixtures = loadFixtures();
const fixture = (name: string): Fixture => {
  const f = fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`fixture ${name} is missing (record it with tools/history-recorder/record-histories.ts)`);
  return f;
};


async function bundle(workflowsPath: string): Promise<ReplayWorkerOptions> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  return { workflowBundle: { code } };
}

interface ReplayOutcome {
  readonly fixture: Fixture;
  readonly error?: Error;
  readonly ms: number;
}

/**
 * Replays fixtures on one replay worker; never throws for a failed history, reports it. The worker replays one
 * history at a time and yields its result before taking the next, so results come back in fixture order (two
 * fixtures may share a workflow id: runs of one order).
 */
async function replayAll(options: ReplayWorkerOptions, list: readonly Fixture[], replayName: string): Promise<ReplayOutcome[]> {
  const pushedAt: number[] = [];
  function* histories() {
    for (const f of list) {
      pushedAt.push(performance.now());
      yield { workflowId: f.workflowId, history: f.history };
    }
  }
  const outcomes: ReplayOutcome[] = [];
  for await (const r of Worker.runReplayHistories({ ...options, replayName }, histories())) {
    const i = outcomes.length;
    const f = list[i]!;
    if (r.workflowId !== f.workflowId) throw new Error(`replay result for ${r.workflowId} arrived where ${f.name} was expected`);
    outcomes.push({ fixture: f, ms: performance.now() - pushedAt[i]!, ...(r.error ? { error: r.error } : {}) });
  }
  return outcomes;
}

// The example patch (src/workflows/order-workflow.ts, docs/workflow-versioning.md). Its checks below (and the
// unguarded variant in workflow-variants.ts) go in the PR that deprecates it, with the fixtures recorded before it.
const PATCH_ID = 'upsert-details-after-query-order';
const AFTER_PATCH = `.after-${PATCH_ID}.`;

const patchIdsOf = (f: Fixture): string[] => patchIds(f.json);

/** True if the run passed the patch site: a fresh order (not a continued run) whose purchase Query Order succeeded. */
function reachesPatchSite(f: Fixture): boolean {
  if (f.workflowType !== 'orderWorkflow' || attrs(f.json.events[0]!, 'workflowExecutionStarted')?.continuedExecutionRunId) return false;
  const firstFetch = f.json.events.find((e) => attrs(e, 'activityTaskScheduled')?.activityType?.name === 'fetchOrderDetails');
  return firstFetch !== undefined && f.json.events.some((e) => attrs(e, 'activityTaskCompleted')?.scheduledEventId === firstFetch.eventId);
}

/** Untagged fixtures were recorded before the patch; `*.after-<patch-id>.json` ones with it. */
const recordedBeforePatch = (f: Fixture) => f.workflowType === 'orderWorkflow' && !f.name.includes('.after-');
const recordedAfterPatch = (f: Fixture) => f.name.includes(AFTER_PATCH);

const failuresOf = (outcomes: readonly ReplayOutcome[]) => outcomes.filter((o) => o.error).map((o) => `${o.fixture.name}: ${o.error!.name}: ${o.error!.message}`);

/** The activity type of a local-activity marker (core writes it in the marker's `data`), else undefined. */
function localActivityOf(e: JsonEvent): string | undefined {
  const marker = attrs(e, 'markerRecorded');
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.['data']?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { activity_type?: string }).activity_type : undefined;
}

/**
 * True if the supervision sent a reminder in this run: its notifications enqueued, then (in the same workflow
 * task) the reminder recorded. The auto-acceptance's notices come after its record, so they do not count.
 */
function sendsReminder(f: Fixture): boolean {
  if (f.workflowType !== 'supervisionWorkflow') return false;
  const events = f.json.events;
  return events.some((e, i) => {
    if (localActivityOf(e) !== 'enqueueNotifications') return false;
    for (const next of events.slice(i + 1)) {
      if (attrs(next, 'workflowTaskCompleted')) return false;
      if (localActivityOf(next) === 'recordSupervision') return true;
    }
    return false;
  });
}

// The V1 supervision patch (src/orders/workflow.ts): V1 purchases ask the worker whether the product is supervised.
const V1_PATCH_ID = 'look-up-v1-supervision-in-worker';
const AFTER_V1_PATCH = `.after-${V1_PATCH_ID}.`;

/** The order workflow's input as recorded in the started event. */
function orderInputOf(f: Fixture): { key?: { kind?: string }; carried?: unknown } | undefined {
  const data = (attrs(f.json.events[0]!, 'workflowExecutionStarted') as { input?: { payloads?: Array<{ data?: string }> } } | undefined)?.input?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { key?: { kind?: string }; carried?: unknown }) : undefined;
}

/** True if the run passed the V1 patch site: a fresh V1 order (not continued) that provisioned (or tried to). */
function reachesV1PatchSite(f: Fixture): boolean {
  if (f.workflowType !== 'orderWorkflow') return false;
  const input = orderInputOf(f);
  if (!input || input.carried !== undefined || input.key?.kind === 'v2-line') return false;
  return f.json.events.some((e) => attrs(e, 'activityTaskScheduled')?.activityType?.name === 'provisionTenant');
}

let current: ReplayWorkerOptions;
let swappedQueryOrder: ReplayWorkerOptions;
let unguardedPatch: ReplayWorkerOptions;
let unguardedV1Patch: ReplayWorkerOptions;
let reminderSwapped: ReplayWorkerOptions;
let deliveryLocal: ReplayWorkerOptions;
let unguardedSettlement: ReplayWorkerOptions;
let unguardedLicenseCount: ReplayWorkerOptions;
let unguardedLineWriteOff: ReplayWorkerOptions;
let unguardedReleaseSignal: ReplayWorkerOptions;
let outcomes: ReplayOutcome[];

beforeAll(async () => {
  // Bundled once each, from the sources as they are now: the current code and the negative controls.
  [current, swappedQueryOrder, unguardedPatch, unguardedV1Patch, reminderSwapped, deliveryLocal, unguardedSettlement, unguardedLicenseCount, unguardedLineWriteOff, unguardedReleaseSignal] = await Promise.all([
    bundle(WORKFLOWS_ENTRY),
    bundle(writeVariant(swappedQueryOrderVariant)),
    bundle(writeVariant(unguardedDetailsUpsert)),
    bundle(writeVariant(unguardedV1SupervisionLookUp)),
    bundle(writeVariant(reminderRecordedBeforeNotified)),
    bundle(writeVariant(deliveryAsLocalActivity)),
    bundle(writeVariant(unguardedSettlementLines)),
    bundle(writeVariant(unguardedLicenseCountOnFoundLicense)),
    bundle(writeVariant(unguardedUnacceptedLineWriteOff)),
    bundle(writeVariant(unguardedReleasedSupervisionSignal)),
  ]);
  outcomes = await replayAll(current, fixtures, 'replay-all-fixtures');
});

describe('recorded histories against the current workflow code', () => {
  it('when every fixture is replayed, then none raises a non-determinism (or any other replay) error', () => {
    expect(outcomes.map((o) => o.fixture.name)).toEqual(fixtures.map((f) => f.name));
    expect(failuresOf(outcomes)).toEqual([]);
    // Measured, reported, never asserted: replay cost decides how large a history may grow before continue-as-new.
    const events = outcomes.reduce((n, o) => n + o.fixture.events, 0);
    const ms = outcomes.reduce((n, o) => n + o.ms, 0);
    console.log(`replayed ${outcomes.length} histories, ${events} events in ${ms.toFixed(0)} ms: ${(ms / events).toFixed(3)} ms per event`);
    for (const o of outcomes) console.log(`  ${o.fixture.name.padEnd(80)} ${String(o.fixture.events).padStart(4)} events ${o.ms.toFixed(1).padStart(8)} ms`);
  });

  it('when the fixtures are listed, then every registered workflow type has a directory with at least one history of that type', () => {
    const types = Object.entries(registeredWorkflows)
      .filter(([, v]) => typeof v === 'function')
      .map(([name]) => name);
    expect(types.length).toBeGreaterThan(0);
    for (const type of types) {
      expect(fixtures.filter((f) => f.workflowType === type).length, `fixtures for ${type} in test/replay/histories/${type}/`).toBeGreaterThan(0);
    }
    // A fixture filed under the wrong type would be replayed against the wrong code without anyone noticing.
    for (const f of fixtures) {
      const started = f.history.events?.[0]?.workflowExecutionStartedEventAttributes;
      expect(started?.workflowType?.name, f.name).toBe(f.workflowType);
    }
  });
});

describe('negative control: an incompatible change is caught', () => {
  it('when Query Order is moved before the PURCHASE_RECEIVED write, then a recorded V2 purchase fails with DeterminismViolationError', async () => {
    const f = fixture('orderWorkflow/v2-period-purchase-to-release.json');
    await expect(Worker.runReplayHistory({ ...swappedQueryOrder, replayName: 'swapped-query-order' }, f.history, f.workflowId)).rejects.toBeInstanceOf(DeterminismViolationError);
  });

  it('when the same incompatible variant replays a V1 purchase (no Query Order), then it passes, so the failure above is the change and not a broken copy', async () => {
    const f = fixture('orderWorkflow/v1-period-purchase-to-release.json');
    await expect(Worker.runReplayHistory({ ...swappedQueryOrder, replayName: 'swapped-query-order-v1' }, f.history, f.workflowId)).resolves.toBeUndefined();
  });
});

describe('negative control for supervisionWorkflow: a reordered reminder is caught', () => {
  it('when a reminder is recorded before its notifications are enqueued, then every history that sent a reminder fails with DeterminismViolationError, and no other', async () => {
    const supervision = fixtures.filter((f) => f.workflowType === 'supervisionWorkflow');
    const reminding = supervision.filter(sendsReminder).map((f) => f.name);
    // Both kinds must be there: the failures show the suite catches the change, the passes that the copy is faithful.
    expect(reminding.length, 'supervision fixtures that sent a reminder').toBeGreaterThan(0);
    expect(reminding.length, 'supervision fixtures that sent no reminder').toBeLessThan(supervision.length);
    const replayed = await replayAll(reminderSwapped, supervision, 'reminder-recorded-before-notified');
    for (const o of replayed.filter((x) => x.error)) expect(o.error, o.fixture.name).toBeInstanceOf(DeterminismViolationError);
    expect(replayed.filter((o) => o.error).map((o) => o.fixture.name).sort()).toEqual([...reminding].sort());
  });
});

describe('notificationWorkflow: the recorded delivery paths (tools/history-recorder/notification-recorder.ts)', () => {
  /** How a recorded notification ended: its close event and the attempt its one activity last started. */
  function outcomeOf(name: string): { closed: string | undefined; attempt: number | undefined; failureType: string | undefined } {
    const events = fixture(`notificationWorkflow/${name}.json`).history.events ?? [];
    const last = events.at(-1);
    const started = events.filter((e) => e.activityTaskStartedEventAttributes);
    return {
      closed: last?.workflowExecutionCompletedEventAttributes ? 'completed' : last?.workflowExecutionFailedEventAttributes ? 'failed' : undefined,
      attempt: started.length === 1 ? (started[0]!.activityTaskStartedEventAttributes!.attempt ?? undefined) : undefined,
      failureType: last?.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo?.type ?? undefined,
    };
  }

  it('when the fixtures are read, then they hold a first-try delivery, a retried delivery and dead letters (retries exhausted, refused)', () => {
    expect(outcomeOf('delivered-first-try')).toEqual({ closed: 'completed', attempt: 1, failureType: undefined });
    expect(outcomeOf('retried-then-delivered')).toEqual({ closed: 'completed', attempt: 3, failureType: undefined });
    expect(outcomeOf('dead-lettered-after-retries')).toEqual({ closed: 'failed', attempt: 3, failureType: 'NOTIFICATION_DEAD_LETTER' });
    expect(outcomeOf('dead-lettered-rejected')).toEqual({ closed: 'failed', attempt: 1, failureType: 'NOTIFICATION_DEAD_LETTER' });
  });

  it('negative control: when delivery is made a local activity, then every notification history fails with DeterminismViolationError', async () => {
    const notifications = fixtures.filter((f) => f.workflowType === 'notificationWorkflow');
    expect(notifications.length).toBeGreaterThanOrEqual(4);
    const replayed = await replayAll(deliveryLocal, notifications, 'delivery-as-local-activity');
    for (const o of replayed) expect(o.error, o.fixture.name).toBeInstanceOf(DeterminismViolationError);
  });
});

describe(`patch ${PATCH_ID}: histories from before and after the change`, () => {
  it('when fixtures are sorted by when they were recorded, then only those recorded after the change carry its marker', () => {
    const before = fixtures.filter((f) => recordedBeforePatch(f) && reachesPatchSite(f));
    const after = fixtures.filter((f) => recordedAfterPatch(f) && reachesPatchSite(f));
    expect(before.length, 'fixtures recorded before the patch that pass the patch site').toBeGreaterThan(0);
    expect(after.length, 'fixtures recorded after the patch that pass the patch site').toBeGreaterThan(0);
    for (const f of before) expect(patchIdsOf(f), f.name).not.toContain(PATCH_ID);
    for (const f of after) expect(patchIdsOf(f), f.name).toContain(PATCH_ID);
  });

  it('when both generations are replayed against the patched code, then both pass', () => {
    const replayed = (pick: (f: Fixture) => boolean) => outcomes.filter((o) => pick(o.fixture) && reachesPatchSite(o.fixture));
    const before = replayed(recordedBeforePatch);
    const after = replayed(recordedAfterPatch);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect(failuresOf([...before, ...after])).toEqual([]);
  });

  it('negative control: when the change is made without patched(), then every history that passed the patch site fails with DeterminismViolationError, and no other', async () => {
    // The variant holds the order workflow only: other workflow types' histories are not its business.
    const unguarded = await replayAll(unguardedPatch, fixtures.filter((f) => f.workflowType === 'orderWorkflow'), 'unguarded-details-upsert');
    for (const o of unguarded.filter((x) => x.error)) expect(o.error, o.fixture.name).toBeInstanceOf(DeterminismViolationError);
    const failed = unguarded.filter((o) => o.error).map((o) => o.fixture.name);
    // Recorded before the change: the unguarded upsert is a command their histories do not have. This is the run
    // that is open in production on deploy day, and the reason for the guard.
    const before = fixtures.filter((f) => recordedBeforePatch(f) && reachesPatchSite(f)).map((f) => f.name);
    expect(before.length).toBeGreaterThan(0);
    expect(failed).toEqual(expect.arrayContaining(before));
    // Recorded after it: their non-deprecated patch marker must be matched by a patched() call, so dropping the
    // call fails them too. That is why a patch is retired through deprecatePatch(), never by deleting it.
    const after = fixtures.filter((f) => recordedAfterPatch(f) && reachesPatchSite(f)).map((f) => f.name);
    expect(failed).toEqual(expect.arrayContaining(after));
    // Everything that never reached the patch site (V1, failed Query Order, continued runs) still replays: the copy
    // differs from the real workflow in the guard only.
    expect([...failed].sort()).toEqual([...before, ...after].sort());
  });
});

describe(`patch ${V1_PATCH_ID}: V1 purchases from before and after the change`, () => {
  const before = () => fixtures.filter((f) => reachesV1PatchSite(f) && !f.name.includes(AFTER_V1_PATCH));
  const after = () => fixtures.filter((f) => reachesV1PatchSite(f) && f.name.includes(AFTER_V1_PATCH));

  it('when V1 fixtures are sorted by when they were recorded, then only those recorded after the change carry its marker, and one found supervision terms', () => {
    expect(before().length, 'V1 fixtures recorded before the patch').toBeGreaterThan(0);
    expect(after().length, 'V1 fixtures recorded after the patch').toBeGreaterThan(0);
    for (const f of before()) expect(patchIdsOf(f), f.name).not.toContain(V1_PATCH_ID);
    for (const f of after()) expect(patchIdsOf(f), f.name).toContain(V1_PATCH_ID);
    // The branch where the catalogue answers "supervised" (the supervision child starts) is among them.
    const supervised = after().filter((f) => f.json.events.some((e) => e['startChildWorkflowExecutionInitiatedEventAttributes'] !== undefined));
    expect(supervised.map((f) => f.name)).toEqual([`orderWorkflow/v1-general-supervised-released${AFTER_V1_PATCH}json`]);
  });

  it('when both generations are replayed against the patched code, then both pass', () => {
    const replayed = outcomes.filter((o) => reachesV1PatchSite(o.fixture));
    expect(replayed.length).toBe(before().length + after().length);
    expect(failuresOf(replayed)).toEqual([]);
  });

  it('negative control: when the lookup is made without patched(), then every V1 purchase fails with DeterminismViolationError, and no other history', async () => {
    const unguarded = await replayAll(unguardedV1Patch, fixtures.filter((f) => f.workflowType === 'orderWorkflow'), 'unguarded-v1-supervision-look-up');
    for (const o of unguarded.filter((x) => x.error)) expect(o.error, o.fixture.name).toBeInstanceOf(DeterminismViolationError);
    const failed = unguarded.filter((o) => o.error).map((o) => o.fixture.name);
    // Before: the local activity is a command their histories lack (the run open on deploy day). After: their
    // marker must be matched by a patched() call.
    expect([...failed].sort()).toEqual([...before(), ...after()].map((f) => f.name).sort());
  });
});

// The settlement patch (src/orders/workflow.ts): orders started with `settlement` record lines and wait for them.
const SETTLEMENT_PATCH_ID = 'settlement-lines';

describe(`patch ${SETTLEMENT_PATCH_ID}: settled orders and the orders before them`, () => {
  const settled = () => fixtures.filter((f) => f.name.includes(`.after-${SETTLEMENT_PATCH_ID}.`));

  it('when the settled order fixtures are read, then they carry the marker and no earlier order fixture does', () => {
    expect(settled().map((f) => f.name).sort()).toEqual([
      `orderWorkflow/v1-settled-renewal-refund-paid.after-look-up-v1-supervision-in-worker.after-${SETTLEMENT_PATCH_ID}.json`,
      `orderWorkflow/v2-settled-supervised-released.after-upsert-details-after-query-order.after-${SETTLEMENT_PATCH_ID}.after-write-off-unaccepted-purchase-line-in-store.json`,
      `orderWorkflow/v2-settled-supervised-released.after-upsert-details-after-query-order.after-${SETTLEMENT_PATCH_ID}.json`,
    ]);
    for (const f of settled()) expect(patchIdsOf(f), f.name).toContain(SETTLEMENT_PATCH_ID);
    for (const f of fixtures.filter((x) => x.workflowType === 'orderWorkflow' && !settled().includes(x))) expect(patchIdsOf(f), f.name).not.toContain(SETTLEMENT_PATCH_ID);
  });

  it('negative control: when every order settles without patched(), then the settled fixture and earlier orders that billed an amount fail with DeterminismViolationError', async () => {
    const unguarded = await replayAll(unguardedSettlement, fixtures.filter((f) => f.workflowType === 'orderWorkflow'), 'unguarded-settlement-lines');
    for (const o of unguarded.filter((x) => x.error)) expect(o.error, o.fixture.name).toBeInstanceOf(DeterminismViolationError);
    const failed = unguarded.filter((o) => o.error).map((o) => o.fixture.name);
    expect(failed).toEqual(expect.arrayContaining(settled().map((f) => f.name)));
    // Orders open in production on deploy day (recorded before the patch) would break without the guard.
    expect(failed.filter((n) => !n.includes(`.after-${SETTLEMENT_PATCH_ID}.`)).length).toBeGreaterThan(0);
  });
});

// The license-count patch (src/licenses/workflow.ts): a license the issuing local activity finds on a retry (its
// first attempt stored it, the result was lost) updates LicenseCount as an issued one does. Only a run that lost such
// a result passes the patch site; the recorder loses one on purpose (online-license-lost-result).
const LICENSE_COUNT_PATCH_ID = 'upsert-license-count-on-found-license';
const LOST_RESULT_BEFORE = 'licenseInstanceWorkflow/online-license-lost-result.json';
const LOST_RESULT_AFTER = `licenseInstanceWorkflow/online-license-lost-result.after-${LICENSE_COUNT_PATCH_ID}.json`;

describe(`patch ${LICENSE_COUNT_PATCH_ID}: a license found on a retry, before and after the change`, () => {
  /** The LicenseCount values a run upserted, in order. */
  const licenseCounts = (f: Fixture): number[] =>
    f.json.events.flatMap((e) => {
      const field = (e['upsertWorkflowSearchAttributesEventAttributes'] as { searchAttributes?: { indexedFields?: Record<string, { data?: string }> } } | undefined)?.searchAttributes?.indexedFields?.['LicenseCount'];
      return field?.data ? [JSON.parse(Buffer.from(field.data, 'base64').toString('utf8')) as number] : [];
    });

  it('when the lost-result fixtures are read, then only the one recorded after the change carries its marker, and it alone counts the found license', () => {
    expect(patchIdsOf(fixture(LOST_RESULT_BEFORE))).not.toContain(LICENSE_COUNT_PATCH_ID);
    expect(patchIdsOf(fixture(LOST_RESULT_AFTER))).toContain(LICENSE_COUNT_PATCH_ID);
    for (const f of fixtures.filter((x) => x.name !== LOST_RESULT_AFTER)) expect(patchIdsOf(f), f.name).not.toContain(LICENSE_COUNT_PATCH_ID);
    // Before: the found license was not counted until the next issue. After: counted at once.
    expect(licenseCounts(fixture(LOST_RESULT_BEFORE))).toEqual([2]);
    expect(licenseCounts(fixture(LOST_RESULT_AFTER))).toEqual([1, 2]);
  });

  it('negative control: when the upsert is made without patched(), then both lost-result fixtures fail with DeterminismViolationError, and no other license instance', async () => {
    const unguarded = await replayAll(unguardedLicenseCount, fixtures.filter((f) => f.workflowType === 'licenseInstanceWorkflow'), 'unguarded-license-count-on-found-license');
    expect(unguarded.length).toBeGreaterThan(2);
    for (const o of unguarded.filter((x) => x.error)) expect(o.error, o.fixture.name).toBeInstanceOf(DeterminismViolationError);
    expect(unguarded.filter((o) => o.error).map((o) => o.fixture.name).sort()).toEqual([LOST_RESULT_AFTER, LOST_RESULT_BEFORE].sort());
  });
});

// Two patches of one fix (2026-12-07): a settled order released while its supervision was still open waited for
// ever. The supervision child did not tell a released order how it ended (the order "knew, and had closed"), but a
// settled order stays open after its release until its lines are settled, and only that signal wrote off the
// purchase line an unaccepted supervision leaves (in the workflow only: it stayed PENDING in settlement_lines).
const RELEASE_SIGNAL_PATCH_ID = 'signal-order-when-its-release-closes-supervision';
const LINE_WRITE_OFF_PATCH_ID = 'write-off-unaccepted-purchase-line-in-store';
const SETTLED_RELEASED = 'v2-settled-supervised-released.after-upsert-details-after-query-order.after-settlement-lines';
const ORDER_BEFORE = `orderWorkflow/${SETTLED_RELEASED}.json`;
const ORDER_AFTER = `orderWorkflow/${SETTLED_RELEASED}.after-${LINE_WRITE_OFF_PATCH_ID}.json`;
const SUPERVISION_AFTER = `supervisionWorkflow/v2-settled-supervised-released.after-${RELEASE_SIGNAL_PATCH_ID}.json`;

describe(`patches ${RELEASE_SIGNAL_PATCH_ID} and ${LINE_WRITE_OFF_PATCH_ID}: a settled order released during its supervision`, () => {
  const eventsOf = (f: Fixture, kind: string) => f.json.events.filter((e) => attrs(e, kind) !== undefined);
  /** The supervision's outcome, from its completed result. */
  const outcomeOf = (f: Fixture): string | undefined => {
    const result = (eventsOf(f, 'workflowExecutionCompleted')[0]?.['workflowExecutionCompletedEventAttributes'] as { result?: { payloads?: Array<{ data?: string }> } } | undefined)?.result?.payloads?.[0]?.data;
    return result ? (JSON.parse(Buffer.from(result, 'base64').toString('utf8')) as { outcome?: string }).outcome : undefined;
  };
  const closedByRelease = () => fixtures.filter((f) => f.workflowType === 'supervisionWorkflow' && outcomeOf(f) === 'RELEASED').map((f) => f.name);

  it('when the fixtures are read, then before the patches the order waited (open) and its supervision ended silently; after them the supervision told it and it completed', () => {
    const [before, after, supervisionAfter] = [fixture(ORDER_BEFORE), fixture(ORDER_AFTER), fixture(SUPERVISION_AFTER)];
    expect(eventsOf(before, 'workflowExecutionCompleted')).toHaveLength(0);
    expect(eventsOf(before, 'workflowExecutionSignaled')).toHaveLength(0);
    expect(eventsOf(after, 'workflowExecutionSignaled')).toHaveLength(1);
    expect(eventsOf(after, 'workflowExecutionCompleted')).toHaveLength(1);
    expect(after.json.events.some((e) => attrs(e, 'activityTaskScheduled')?.activityType?.name === 'writeOffUnbilledLines')).toBe(true);
    expect(eventsOf(supervisionAfter, 'signalExternalWorkflowExecutionInitiated')).toHaveLength(1);
    // Every supervision closed by a release before the patch sent nothing.
    const silent = closedByRelease().filter((n) => n !== SUPERVISION_AFTER);
    expect(silent.length).toBeGreaterThanOrEqual(3);
    for (const n of silent) expect(eventsOf(fixture(n), 'signalExternalWorkflowExecutionInitiated'), n).toHaveLength(0);
    // The markers: in the fixtures recorded after, and nowhere else.
    for (const f of fixtures) {
      expect(patchIdsOf(f).includes(LINE_WRITE_OFF_PATCH_ID), f.name).toBe(f.name === ORDER_AFTER);
      expect(patchIdsOf(f).includes(RELEASE_SIGNAL_PATCH_ID), f.name).toBe(f.name === SUPERVISION_AFTER);
    }
  });

  it('negative control: when the store write-off is made without patched(), then the order that took it fails with DeterminismViolationError, and no other order', async () => {
    const unguarded = await replayAll(unguardedLineWriteOff, fixtures.filter((f) => f.workflowType === 'orderWorkflow'), 'unguarded-unaccepted-purchase-line-write-off');
    expect(unguarded.length).toBeGreaterThan(10);
    for (const o of unguarded.filter((x) => x.error)) expect(o.error, o.fixture.name).toBeInstanceOf(DeterminismViolationError);
    // No order recorded before the patch had its supervision close unaccepted with a line to write off (the one
    // that would have, ORDER_BEFORE, never heard): only the marker of the one after it is unmatched.
    expect(unguarded.filter((o) => o.error).map((o) => o.fixture.name)).toEqual([ORDER_AFTER]);
  });

  it('negative control: when the signal is sent without patched(), then every supervision closed by a release fails with DeterminismViolationError, and no other', async () => {
    const supervision = fixtures.filter((f) => f.workflowType === 'supervisionWorkflow');
    expect(closedByRelease().length).toBeLessThan(supervision.length);
    const unguarded = await replayAll(unguardedReleaseSignal, supervision, 'unguarded-released-supervision-signal');
    for (const o of unguarded.filter((x) => x.error)) expect(o.error, o.fixture.name).toBeInstanceOf(DeterminismViolationError);
    expect(unguarded.filter((o) => o.error).map((o) => o.fixture.name).sort()).toEqual(closedByRelease().sort());
  });
});
