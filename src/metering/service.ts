import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { withTransaction } from '../platform/db/transaction.js';
import { withDeadline } from '../platform/deadline.js';
import { findInstanceChargingFacts, type InstanceChargingRow } from '../orders/service.js';
import {
  PACKAGE_WORKFLOW_TYPE,
  UsageRefusal,
  isMetered,
  packageEventSignal,
  packageWorkflowId,
  type InstanceUsage,
  type PackageWorkflowInput,
  type RecordAnswer,
} from './contract.js';
import { checkRecord, type CheckedRecord, type UsageBatch } from './intake.js';
import type { PackageTerms } from './settings.js';
import {
  findInstanceUsage,
  addToTotals,
  insertUsageRecords,
  lockInstances,
  markCrossingsDelivered,
  openPackages,
  recordCrossings,
  registerInstances,
  undeliveredCrossings,
  type InstanceRegistration,
  type MeteredInstanceRow,
  type MeteredUsageRow,
  type TotalMove,
} from './store.js';

// Metering's use cases for the API: usage intake (checked, then stored in bulk: no workflow per record) and the
// usage queryInstance answers with. Instances are learnt from the orders context's read model (through its
// service), never from its workflow: an on-demand or package instance is registered here at its first record.

/** Phases in which an instance accrues usage (a frozen one may still report what it used before the freeze). */
const LIVE_PHASES = new Set(['ACTIVE', 'FROZEN']);

/**
 * A package's total crossed its threshold, or reached its quota, with this batch; or (RELEASED, from the
 * catch-up sweep) its instance was released before the package was used up.
 */
export interface PackageCrossing {
  readonly instanceId: string;
  readonly kind: 'THRESHOLD_CROSSED' | 'EXHAUSTED' | 'RELEASED';
  readonly usedAfter: string;
  readonly quota: string;
  readonly stopWhenUsedUp: boolean;
  readonly repurchase: boolean;
}

/** What the metering service needs. */
export interface MeteringServiceDeps {
  readonly pool: Pool;
  /** Package terms per SKU where the order does not state a quota (METERING_PACKAGES). */
  readonly packages: Readonly<Record<string, PackageTerms>>;
  readonly futureToleranceMs: number;
  /**
   * Told of every threshold crossed and quota used up (the package workflows hear only these); answers the ones
   * delivered. The crossings are stored with the usage first, so one not delivered now is by the catch-up.
   */
  readonly onPackageCrossings?: (crossings: readonly PackageCrossing[]) => Promise<readonly PackageCrossing[]>;
  /**
   * When a crossing could not be told, tell it again from this process after `firstDelayMs`, doubling up to
   * `maxDelayMs`, until it is delivered (off when absent; the API sets it). Without it a lost signal waits for the
   * next hourly push run's catch-up: up to an hour of a used-up package still served.
   */
  readonly redelivery?: { readonly firstDelayMs: number; readonly maxDelayMs: number };
  /** Injectable clock (tests). */
  readonly now?: () => number;
}

/** How long usage intake waits for its crossings' signals before leaving them to the redelivery. */
const CROSSING_SIGNAL_BUDGET_MS = 2_000;

/** The API's redelivery of crossings it could not tell: soon after, then less often while Temporal stays away. */
export const API_CROSSING_REDELIVERY = { firstDelayMs: 5_000, maxDelayMs: 300_000 } as const;

/**
 * The quota an order states for a package: the line's `linearValue` (UNCONFIRMED that packages carry their amount
 * there; the 2022 payload shows it per product), when it is a positive number.
 */
function quotaFromOrder(spec: Record<string, unknown>): string | undefined {
  const v = spec['linearValue'];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d{1,4})?$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? String(n) : undefined;
}

/** The registration of a metered instance from its order's facts and the configured package terms. */
export function registrationOf(f: InstanceChargingRow, packages: Readonly<Record<string, PackageTerms>>): InstanceRegistration {
  const mode = f.chargingMode === 'ON_DEMAND_PKG' ? 'ON_DEMAND_PKG' : 'ON_DEMAND';
  const terms = mode === 'ON_DEMAND_PKG' && f.skuCode ? packages[f.skuCode] : undefined;
  const quota = mode === 'ON_DEMAND_PKG' ? (quotaFromOrder(f.spec) ?? terms?.quota ?? null) : null;
  return {
    instanceId: f.instanceId,
    chargingMode: mode,
    customerId: f.customerId,
    productId: f.productId,
    skuCode: f.skuCode,
    quota,
    stopWhenUsedUp: mode === 'ON_DEMAND_PKG' ? (terms?.stopWhenUsedUp ?? true) : null,
    thresholdKind: terms?.threshold?.kind ?? null,
    thresholdValue: terms?.threshold?.value ?? null,
    repurchase: mode === 'ON_DEMAND_PKG' ? (terms?.repurchase ?? true) : null,
  };
}

/** The used amount at which a package's threshold is crossed, or undefined (no threshold or quota). */
export function thresholdUsedAt(p: Pick<MeteredInstanceRow, 'quota' | 'thresholdKind' | 'thresholdValue'>): number | undefined {
  if (p.quota === null || p.thresholdKind === null || p.thresholdValue === null) return undefined;
  const quota = Number(p.quota);
  const value = Number(p.thresholdValue);
  return p.thresholdKind === 'PERCENT' ? (quota * value) / 100 : Math.max(0, quota - value);
}

/** The crossings of one total's move (a package's threshold and quota, each crossed at most once per move). */
export function crossingsOf(p: MeteredInstanceRow, move: TotalMove): PackageCrossing[] {
  if (p.chargingMode !== 'ON_DEMAND_PKG' || p.quota === null) return [];
  const before = Number(move.usedBefore);
  const after = Number(move.usedAfter);
  const quota = Number(p.quota);
  const out: PackageCrossing[] = [];
  const terms = { usedAfter: move.usedAfter, quota: p.quota, stopWhenUsedUp: p.stopWhenUsedUp ?? true, repurchase: p.repurchase ?? true };
  const at = thresholdUsedAt(p);
  if (at !== undefined && before < at && after >= at) out.push({ instanceId: p.instanceId, kind: 'THRESHOLD_CROSSED', ...terms });
  if (before < quota && after >= quota) out.push({ instanceId: p.instanceId, kind: 'EXHAUSTED', ...terms });
  return out;
}

/** A numeric's text without trailing zeros ("250.5000" → "250.5", "3.0000" → "3"). */
export function trimDecimal(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** A metered instance's usage as queryInstance carries it. */
export function usageOfRow(r: MeteredUsageRow): InstanceUsage {
  const updatedAt = r.updatedAt.toISOString();
  const used = trimDecimal(r.used);
  if (r.chargingMode === 'ON_DEMAND') return { chargingMode: 'ON_DEMAND', usedAmount: used, updatedAt };
  // Four decimals at most on both sides, so the difference is exact once scaled to integers.
  const remaining = r.quota === null ? null : Math.max(0, Math.round(Number(r.quota) * 10_000) - Math.round(Number(r.used) * 10_000)) / 10_000;
  return {
    chargingMode: 'ON_DEMAND_PKG',
    usedAmount: used,
    totalAmount: r.quota === null ? null : trimDecimal(r.quota),
    remainingAmount: remaining === null ? null : String(remaining),
    ...(r.nextInstanceId ? { nextInstanceId: r.nextInstanceId } : {}),
    updatedAt,
  };
}

/** Builds the metering service. */
export function createMeteringService(deps: MeteringServiceDeps) {
  const { pool } = deps;
  const now = deps.now ?? Date.now;
  const redelivery = createRedelivery(deps);

  /**
   * Tells crossings to their package workflows. With redelivery on, the intake waits at most
   * CROSSING_SIGNAL_BUDGET_MS: while Temporal is away the client retries for about a minute, and the merchant's
   * product should not wait that long for an answer about usage already stored. Crossings not confirmed by then are
   * owed (a signal that lands later anyway is sent again, which changes nothing).
   */
  async function signalWithinBudget(crossings: readonly PackageCrossing[]): Promise<readonly PackageCrossing[]> {
    if (!deps.redelivery) return deps.onPackageCrossings!(crossings);
    // One by one, so that those confirmed in time count as delivered when the others are not.
    const confirmed: PackageCrossing[] = [];
    const each = crossings.map((c) => deps.onPackageCrossings!([c]).then((d) => void confirmed.push(...d), () => undefined));
    await withDeadline(Promise.all(each), CROSSING_SIGNAL_BUDGET_MS, () => new Error('crossing signals not confirmed in time')).catch(() => undefined);
    return [...confirmed];
  }

  /** Checks and stores one batch; answers every record in the order given. */
  async function report(batch: UsageBatch): Promise<RecordAnswer[]> {
    const nowMs = now();
    const answers = new Array<RecordAnswer | undefined>(batch.records.length);
    const checked: { index: number; record: CheckedRecord }[] = [];
    const seen = new Set<string>();
    batch.records.forEach((r, index) => {
      if (seen.has(r.recordId)) {
        answers[index] = { recordId: r.recordId, status: 'duplicate' };
        return;
      }
      seen.add(r.recordId);
      const c = checkRecord(r, nowMs, deps.futureToleranceMs);
      if (typeof c === 'string') answers[index] = { recordId: r.recordId, status: 'refused', reason: c };
      else checked.push({ index, record: c });
    });

    const instanceIds = [...new Set(checked.map((c) => c.record.instanceId))];
    const facts = new Map((await findInstanceChargingFacts(pool, instanceIds)).map((f) => [f.instanceId, f]));
    const storable: { index: number; record: CheckedRecord }[] = [];
    const registrations = new Map<string, InstanceRegistration>();
    for (const c of checked) {
      const f = facts.get(c.record.instanceId);
      const reason = !f ? UsageRefusal.UnknownInstance : !isMetered(f.chargingMode) ? UsageRefusal.NotMetered : !LIVE_PHASES.has(f.phase) ? UsageRefusal.InstanceNotLive : undefined;
      if (reason) {
        answers[c.index] = { recordId: c.record.recordId, status: 'refused', reason };
        continue;
      }
      if (!registrations.has(f!.instanceId)) registrations.set(f!.instanceId, registrationOf(f!, deps.packages));
      storable.push(c);
    }

    let crossings: PackageCrossing[] = [];
    if (storable.length > 0) {
      const ids = [...registrations.keys()].sort();
      const stored = await withTransaction(pool, async (client) => {
        await registerInstances(
          client,
          ids.map((id) => registrations.get(id)!),
        );
        // The records first, without locks (concurrent batches of the same instances insert side by side); then
        // the totals, locked in id order and updated in one statement, so the lock lasts only to the commit.
        const { inserted, additions } = await insertUsageRecords(
          client,
          storable.map((s) => s.record),
        );
        await lockInstances(
          client,
          additions.map((a) => a.instanceId),
        );
        const moves = await addToTotals(client, additions);
        // The crossings go in with the usage that caused them: none is lost if the signal cannot be sent.
        const found = moves.flatMap((m) => crossingsOf(m.row, m));
        await recordCrossings(client, found);
        return { inserted, crossings: found };
      });
      crossings = stored.crossings;
      for (const s of storable) answers[s.index] = { recordId: s.record.recordId, status: stored.inserted.has(s.record.recordId) ? 'accepted' : 'duplicate' };
    }

    if (crossings.length > 0 && deps.onPackageCrossings) {
      // A package with a crossing still owed gets its later ones in line behind it, not before it.
      const queued = crossings.filter((c) => redelivery.holds(c.instanceId));
      const sendable = crossings.filter((c) => !redelivery.holds(c.instanceId));
      const delivered = sendable.length > 0 ? await signalWithinBudget(sendable) : [];
      const deliveredKeys = new Set(delivered.map(crossingKey));
      redelivery.owe([...queued, ...sendable.filter((c) => !deliveredKeys.has(crossingKey(c)))]);
      await markCrossingsDelivered(pool, delivered);
    }
    return answers.map((a, i) => a ?? { recordId: batch.records[i]!.recordId, status: 'refused', reason: UsageRefusal.UnknownInstance });
  }

  /**
   * The usage of every metered instance among these ids (others are absent from the map). An instance that has
   * reported nothing yet is not registered: its usage is zero, with its package's quota from the order's facts
   * (skipped with `reportedOnly`).
   */
  async function usageOf(instanceIds: readonly string[], o: { readonly reportedOnly?: boolean } = {}): Promise<Map<string, InstanceUsage>> {
    const rows = await findInstanceUsage(pool, instanceIds);
    const out = new Map(rows.map((r) => [r.instanceId, usageOfRow(r)]));
    if (o.reportedOnly) return out;
    const unregistered = instanceIds.filter((id) => !out.has(id));
    if (unregistered.length > 0) {
      for (const f of await findInstanceChargingFacts(pool, unregistered)) {
        if (!isMetered(f.chargingMode)) continue;
        const reg = registrationOf(f, deps.packages);
        out.set(f.instanceId, usageOfRow({ ...reg, used: '0', nextInstanceId: null, updatedAt: new Date(now()) }));
      }
    }
    return out;
  }

  return {
    report,
    usageOf,
    /** Stops retrying undelivered crossings and waits for a pass under way (at shutdown, before the pool ends); the hourly catch-up remains. */
    stopRedelivery: redelivery.stop,
  };
}

/**
 * Sends one package's crossings in their order (threshold, exhaustion, release), up to the first that fails: a later
 * one must not overtake it. Answers those sent (the signaller reports and leaves out what it could not send).
 */
async function sendInOrder(signal: PackageSignaller, list: readonly PackageCrossing[]): Promise<PackageCrossing[]> {
  const sent: PackageCrossing[] = [];
  for (const c of list) {
    const [delivered] = await signal([c]);
    if (!delivered) break;
    sent.push(delivered);
  }
  return sent;
}

/** A crossing's identity: one per package and kind (metering_crossings' key). */
const crossingKey = (c: Pick<PackageCrossing, 'instanceId' | 'kind'>): string => `${c.instanceId}/${c.kind}`;

/** At most this many crossings wait in memory for a retry; beyond it, the hourly catch-up delivers them. */
const REDELIVERY_MAX_OWED = 10_000;
/** Packages signalled side by side in a retry pass; a group with nothing delivered ends the pass (Temporal still away). */
const REDELIVERY_GROUP = 50;

/**
 * The retry of crossings this process stored but could not tell. The crossings table is the durable record (the
 * hourly catch-up delivers from it whatever happens here, also after a crash); this only shortens the wait while
 * the process lives. It retries only its own failures, not every undelivered row: another process's are its own
 * business (and its task queue's). A package's crossings go in the order they were found, and a package with one
 * owed takes its later ones in line (`holds`). A crossing the catch-up delivered meanwhile is signalled again:
 * a running package workflow ignores a repeat, and an ended one is not started again (REJECT_DUPLICATE).
 */
function createRedelivery(deps: MeteringServiceDeps): { owe: (crossings: readonly PackageCrossing[]) => void; holds: (instanceId: string) => boolean; stop: () => Promise<void> } {
  const { redelivery, onPackageCrossings } = deps;
  /** Owed crossings by package, each package's in the order found. */
  const owed = new Map<string, PackageCrossing[]>();
  let owedCount = 0;
  let timer: NodeJS.Timeout | undefined;
  let passing: Promise<void> | undefined;
  let delayMs = redelivery?.firstDelayMs ?? 0;
  let stopped = false;
  const schedule = () => {
    if (stopped || timer || passing || owed.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      passing = pass().finally(() => {
        passing = undefined;
        schedule();
      });
    }, delayMs);
    // Never what keeps a process alive.
    timer.unref();
  };
  const pass = async () => {
    const packages = [...owed.keys()];
    let progress = false;
    for (let i = 0; i < packages.length && !stopped; i += REDELIVERY_GROUP) {
      const group = packages.slice(i, i + REDELIVERY_GROUP);
      // A signaller that throws sent nothing either.
      const sentPerPackage = await Promise.all(group.map((id) => sendInOrder((cs) => onPackageCrossings!(cs).catch(() => []), owed.get(id) ?? [])));
      const sent = sentPerPackage.flat();
      for (const [k, id] of group.entries()) {
        const left = (owed.get(id) ?? []).slice(sentPerPackage[k]!.length);
        owedCount -= (owed.get(id)?.length ?? 0) - left.length;
        if (left.length === 0) owed.delete(id);
        else owed.set(id, left);
      }
      // Marked after: a crossing sent and not marked (PostgreSQL away) is only sent again by the catch-up.
      await markCrossingsDelivered(deps.pool, sent).catch(() => undefined);
      if (sent.length === 0) break;
      progress = true;
    }
    delayMs = owed.size === 0 ? redelivery!.firstDelayMs : progress ? delayMs : Math.min(delayMs * 2, redelivery!.maxDelayMs);
  };
  return {
    owe: (crossings) => {
      if (!redelivery || !onPackageCrossings || crossings.length === 0) return;
      for (const c of crossings) {
        if (owedCount >= REDELIVERY_MAX_OWED) break;
        const list = owed.get(c.instanceId) ?? [];
        if (list.some((x) => x.kind === c.kind)) continue;
        owed.set(c.instanceId, [...list, c]);
        owedCount++;
      }
      schedule();
    },
    holds: (instanceId) => owed.has(instanceId),
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await passing;
    },
  };
}

/** Tells crossings to their package workflows; answers the ones delivered. */
export type PackageSignaller = (crossings: readonly PackageCrossing[]) => Promise<readonly PackageCrossing[]>;

/** Whether Temporal answered that the workflow does not exist (or is no longer running). */
function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'WorkflowNotFoundError';
}

/**
 * Tells each crossing to its package's workflow (signal-with-start: the first crossing starts it); a release is
 * a plain signal (a package never started has nothing to end). A signal that cannot be sent is reported to
 * `onError` and left out of the answer: its crossing stays undelivered for the catch-up.
 */
export function packageSignaller(o: {
  readonly client: Client;
  readonly taskQueue: string;
  readonly repurchaseWindowMs: number;
  readonly pollIntervalMs?: number;
  readonly onError: (err: unknown, c: PackageCrossing) => void;
}): PackageSignaller {
  return async (crossings) => {
    const sent = await Promise.all(
      crossings.map(async (c) => {
        const input: PackageWorkflowInput = {
          instanceId: c.instanceId,
          stopWhenUsedUp: c.stopWhenUsedUp,
          repurchase: c.repurchase,
          repurchaseWindowMs: o.repurchaseWindowMs,
          ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
        };
        const event = { kind: c.kind, usedAfter: c.usedAfter, quota: c.quota };
        try {
          if (c.kind === 'RELEASED') {
            // Gone or already ended: nothing left to tell.
            await o.client.workflow
              .getHandle(packageWorkflowId(c.instanceId))
              .signal(packageEventSignal, event)
              .catch((err: unknown) => {
                if (!isNotFound(err)) throw err;
              });
          } else {
            await o.client.workflow
              .signalWithStart(PACKAGE_WORKFLOW_TYPE, {
                workflowId: packageWorkflowId(c.instanceId),
                taskQueue: o.taskQueue,
                args: [input],
                signal: packageEventSignal,
                signalArgs: [event],
                staticSummary: `Package ${c.instanceId}`,
                // A package's workflow ends once it has nothing left to wait for; a late or repeated crossing (a
                // retry, the catch-up) must not start it again, to notify the buyer twice and wait for ever.
                workflowIdReusePolicy: 'REJECT_DUPLICATE',
              })
              .catch((err: unknown) => {
                // Ended: it heard all it needed (exhaustion implies the threshold), so this crossing is delivered.
                if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
              });
          }
          return c;
        } catch (err) {
          o.onError(err, c);
          return undefined;
        }
      }),
    );
    return sent.filter((c): c is PackageCrossing => c !== undefined);
  };
}

/** Phases after which a package has nothing left to wait for. */
const ENDED_PHASES = new Set(['RELEASED', 'REJECTED', 'FAILED']);

/**
 * The catch-up the hourly push run does first: records a release for every open package whose instance was
 * released (or is gone), then delivers every undelivered crossing, oldest first. Idempotent: a crossing is
 * marked only once its signal went through, and a package workflow's handlers are idempotent, so a crossing
 * delivered twice (the API signalled, then died before marking it) changes nothing.
 */
export async function catchUpPackageCrossings(o: { readonly pool: Pool; readonly signal: PackageSignaller; readonly batch?: number }): Promise<{ released: number; delivered: number; undelivered: number }> {
  const batch = o.batch ?? 500;
  let released = 0;
  for (let after: string | undefined; ; ) {
    const open = await openPackages(o.pool, { limit: batch, ...(after !== undefined ? { after } : {}) });
    if (open.length === 0) break;
    const facts = new Map((await findInstanceChargingFacts(o.pool, open.map((p) => p.instanceId))).map((f) => [f.instanceId, f]));
    const ended = open.filter((p) => {
      const f = facts.get(p.instanceId);
      return !f || ENDED_PHASES.has(f.phase);
    });
    await recordCrossings(
      o.pool,
      ended.map((p) => ({ ...p, kind: 'RELEASED' as const })),
    );
    released += ended.length;
    after = open[open.length - 1]!.instanceId;
    if (open.length < batch) break;
  }
  let delivered = 0;
  let undelivered = 0;
  const seen = new Set<string>();
  for (;;) {
    const pending = (await undeliveredCrossings(o.pool, batch)).filter((c) => !seen.has(`${c.instanceId}/${c.kind}`));
    if (pending.length === 0) break;
    for (const c of pending) seen.add(`${c.instanceId}/${c.kind}`);
    // One package's crossings in their order (threshold, exhaustion, release); packages side by side.
    const byInstance = new Map<string, PackageCrossing[]>();
    for (const c of pending) byInstance.set(c.instanceId, [...(byInstance.get(c.instanceId) ?? []), c]);
    const ok = (await Promise.all([...byInstance.values()].map((list) => sendInOrder(o.signal, list)))).flat();
    await markCrossingsDelivered(o.pool, ok);
    delivered += ok.length;
    undelivered += pending.length - ok.length;
  }
  return { released, delivered, undelivered };
}

/** The metering service's type. */
export type MeteringService = ReturnType<typeof createMeteringService>;

export { countAnswers, usageBatchSchema, type UsageBatch } from './intake.js';
