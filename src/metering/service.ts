import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { withTransaction } from '../platform/db/transaction.js';
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
import { findMeteredInstances, insertUsage, lockInstances, registerInstances, type InstanceRegistration, type MeteredInstanceRow, type TotalMove } from './store.js';

// Metering's use cases for the API: usage intake (checked, then stored in bulk: no workflow per record) and the
// usage queryInstance answers with. Instances are learnt from the orders context's read model (through its
// service), never from its workflow: an on-demand or package instance is registered here at its first record.

/** Phases in which an instance accrues usage (a frozen one may still report what it used before the freeze). */
const LIVE_PHASES = new Set(['ACTIVE', 'FROZEN']);

/** A package's total crossed its threshold, or reached its quota, with this batch. */
export interface PackageCrossing {
  readonly instanceId: string;
  readonly kind: 'THRESHOLD_CROSSED' | 'EXHAUSTED';
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
  /** Told of every threshold crossed and quota used up (the package workflows hear only these). */
  readonly onPackageCrossings?: (crossings: readonly PackageCrossing[]) => Promise<void>;
  /** Injectable clock (tests). */
  readonly now?: () => number;
}

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
export function usageOfRow(r: MeteredInstanceRow): InstanceUsage {
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

    let moves: TotalMove[] = [];
    if (storable.length > 0) {
      const ids = [...registrations.keys()].sort();
      const stored = await withTransaction(pool, async (client) => {
        await registerInstances(
          client,
          ids.map((id) => registrations.get(id)!),
        );
        await lockInstances(client, ids);
        return insertUsage(
          client,
          storable.map((s) => s.record),
        );
      });
      moves = stored.moves;
      for (const s of storable) answers[s.index] = { recordId: s.record.recordId, status: stored.inserted.has(s.record.recordId) ? 'accepted' : 'duplicate' };
    }

    const packageMoves = moves.filter((m) => registrations.get(m.instanceId)?.chargingMode === 'ON_DEMAND_PKG');
    if (packageMoves.length > 0 && deps.onPackageCrossings) {
      const rows = new Map((await findMeteredInstances(pool, packageMoves.map((m) => m.instanceId))).map((r) => [r.instanceId, r]));
      const crossings = packageMoves.flatMap((m) => {
        const row = rows.get(m.instanceId);
        return row ? crossingsOf(row, m) : [];
      });
      if (crossings.length > 0) await deps.onPackageCrossings(crossings);
    }
    return answers.map((a, i) => a ?? { recordId: batch.records[i]!.recordId, status: 'refused', reason: UsageRefusal.UnknownInstance });
  }

  /**
   * The usage of every metered instance among these ids (others are absent from the map). An instance that has
   * reported nothing yet is not registered: its usage is zero, with its package's quota from the order's facts
   * (skipped with `reportedOnly`).
   */
  async function usageOf(instanceIds: readonly string[], o: { readonly reportedOnly?: boolean } = {}): Promise<Map<string, InstanceUsage>> {
    const rows = await findMeteredInstances(pool, instanceIds);
    const out = new Map(rows.map((r) => [r.instanceId, usageOfRow(r)]));
    if (o.reportedOnly) return out;
    const unregistered = instanceIds.filter((id) => !out.has(id));
    if (unregistered.length > 0) {
      for (const f of await findInstanceChargingFacts(pool, unregistered)) {
        if (!isMetered(f.chargingMode)) continue;
        const reg = registrationOf(f, deps.packages);
        out.set(f.instanceId, usageOfRow({ ...reg, used: '0', nextInstanceId: null, prevInstanceId: null, updatedAt: new Date(now()) }));
      }
    }
    return out;
  }

  return { report, usageOf };
}

/**
 * Tells each crossing to its package's workflow (signal-with-start: the first crossing starts it). A signal that
 * cannot be sent is logged and the intake still answers: the records are stored.
 */
export function packageSignaller(o: {
  readonly client: Client;
  readonly taskQueue: string;
  readonly repurchaseWindowMs: number;
  readonly pollIntervalMs?: number;
  readonly onError: (err: unknown, c: PackageCrossing) => void;
}): (crossings: readonly PackageCrossing[]) => Promise<void> {
  return async (crossings) => {
    await Promise.all(
      crossings.map(async (c) => {
        const input: PackageWorkflowInput = {
          instanceId: c.instanceId,
          stopWhenUsedUp: c.stopWhenUsedUp,
          repurchase: c.repurchase,
          repurchaseWindowMs: o.repurchaseWindowMs,
          ...(o.pollIntervalMs !== undefined ? { pollIntervalMs: o.pollIntervalMs } : {}),
        };
        try {
          await o.client.workflow.signalWithStart(PACKAGE_WORKFLOW_TYPE, {
            workflowId: packageWorkflowId(c.instanceId),
            taskQueue: o.taskQueue,
            args: [input],
            signal: packageEventSignal,
            signalArgs: [{ kind: c.kind, usedAfter: c.usedAfter, quota: c.quota }],
            staticSummary: `Package ${c.instanceId}`,
          });
        } catch (err) {
          o.onError(err, c);
        }
      }),
    );
  };
}

/** The metering service's type. */
export type MeteringService = ReturnType<typeof createMeteringService>;

export { countAnswers, usageBatchSchema, type UsageBatch } from './intake.js';
