import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import type { ProductionAnswer, ProductionClient } from '../../tools/simulator/production-client.js';
import { ProductionCallError } from '../../tools/simulator/production-client.js';
import { type AnswerTally, RETRYABLE_CODES, withMarketplaceRetries } from './fault-checks.js';
import { aV2PurchaseBody } from './factories.js';
import { mapPool } from './fault-harness.js';

// A steady, bounded load of signed marketplace calls for outage scenarios (issue #7), then the marketplace's own
// retries, then the convergence checks: nothing lost (every purchased order ACTIVE), nothing doubled (one instance
// and one tenant per order, each renewal applied once).

/** One call of the load and what came back. */
export interface LoadRecord {
  readonly activity: 'newInstance' | 'queryInstance' | 'refreshInstance';
  readonly sentAt: number;
  answeredAt?: number;
  code?: string;
  status?: number;
  signed?: boolean;
  error?: string;
}

/** An order line bought during the load. */
export interface LoadOrder {
  readonly orderId: string;
  readonly orderLineId: string;
  instanceId?: string;
  /** Answered 000000 (by the load or by the marketplace retries afterwards). */
  confirmed: boolean;
}

/** A renewal sent during the load (at most one in flight per instance). */
export interface LoadRenewal {
  readonly instanceId: string;
  readonly body: Record<string, unknown>;
  confirmed: boolean;
}

/** Everything a load run produced. */
export interface LoadResult {
  readonly records: LoadRecord[];
  readonly orders: LoadOrder[];
  readonly renewals: LoadRenewal[];
}

/** Which codes a call of the load may get while a dependency is down: a success or a retryable answer, nothing else. */
export const ALLOWED_UNDER_OUTAGE: Readonly<Record<LoadRecord['activity'], readonly string[]>> = {
  newInstance: ['000000', '000004', '000005'],
  queryInstance: ['000000', '000004', '000005'],
  refreshInstance: ['000000', '000005'],
};

/**
 * Sends `ratePerSec` signed calls per second for `durationMs` (3 in 10 purchases of new orders, 4 queries of known
 * instances, 3 renewals of confirmed instances), never awaiting one before sending the next. `onTick` runs once per
 * second with the elapsed time (the test injects its faults there).
 */
export async function runMarketplaceLoad(o: {
  market: ProductionClient;
  createOrder: () => Promise<{ orderId: string; orderLineId: string }>;
  durationMs: number;
  ratePerSec: number;
  tally: AnswerTally;
  onTick?: (elapsedMs: number) => Promise<void> | void;
}): Promise<LoadResult> {
  const records: LoadRecord[] = [];
  const orders: LoadOrder[] = [];
  const renewals: LoadRenewal[] = [];
  const busy = new Set<string>();
  const inFlight: Array<Promise<void>> = [];
  const started = Date.now();
  const total = Math.round((o.durationMs / 1000) * o.ratePerSec);
  const interval = 1000 / o.ratePerSec;
  let nextTick = 0;
  const ticks: Array<Promise<void>> = [];

  const send = async (activity: LoadRecord['activity'], label: string, call: () => Promise<ProductionAnswer>): Promise<ProductionAnswer | undefined> => {
    const record: LoadRecord = { activity, sentAt: Date.now() };
    records.push(record);
    try {
      const a = await call();
      record.answeredAt = Date.now();
      record.status = a.status;
      record.signed = a.bodySignValid;
      record.code = String(a.body?.resultCode ?? '');
      o.tally.add(a, label);
      return a;
    } catch (err) {
      record.answeredAt = Date.now();
      record.error = err instanceof Error ? err.message : String(err);
      o.tally.addError(err, label);
      return undefined;
    }
  };

  const confirmedInstances = () => orders.filter((x) => x.confirmed && x.instanceId).map((x) => x.instanceId!);
  const knownInstances = () => orders.filter((x) => x.instanceId).map((x) => x.instanceId!);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    const elapsed = Date.now() - started;
    if (o.onTick && elapsed >= nextTick) {
      nextTick += 1000;
      ticks.push(Promise.resolve(o.onTick(elapsed)));
    }
    const slot = i % 10;
    const query = pick(knownInstances());
    const renewable = confirmedInstances().filter((id) => !busy.has(id));
    const kind: LoadRecord['activity'] = slot < 3 || !query ? 'newInstance' : slot < 7 || renewable.length === 0 ? 'queryInstance' : 'refreshInstance';
    if (kind === 'newInstance') {
      inFlight.push(
        (async () => {
          const order = await o.createOrder();
          const entry: LoadOrder = { ...order, confirmed: false };
          orders.push(entry);
          const a = await send('newInstance', `purchase ${order.orderId}`, () =>
            o.market.v2(aV2PurchaseBody(order)),
          );
          if (typeof a?.body?.instanceId === 'string') entry.instanceId = a.body.instanceId;
          if (a?.body?.resultCode === '000000') entry.confirmed = true;
        })(),
      );
    } else if (kind === 'queryInstance') {
      inFlight.push(send('queryInstance', `query ${query}`, () => o.market.v2({ activity: 'queryInstance', instanceId: query! })).then(() => undefined));
    } else {
      const instanceId = pick(renewable)!;
      busy.add(instanceId);
      const renewal: LoadRenewal = {
        instanceId,
        body: {
          activity: 'refreshInstance',
          scene: 'RENEWAL',
          orderId: `CSREN${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`,
          orderLineId: `L-${randomUUID().slice(0, 8)}`,
          instanceId,
          expireTime: formatCompactUtc(new Date(Date.now() + (400 + renewals.length) * 86_400_000)),
        },
        confirmed: false,
      };
      renewals.push(renewal);
      inFlight.push(
        send('refreshInstance', `renewal of ${instanceId}`, () => o.market.v2(renewal.body)).then((a) => {
          // An unconfirmed renewal keeps its instance busy until the marketplace's retries settle it: the marketplace
          // does not send a second renewal of one instance while the first is unanswered.
          if (a?.body?.resultCode === '000000') {
            renewal.confirmed = true;
            busy.delete(instanceId);
          }
        }),
      );
    }
  }
  await Promise.all(inFlight);
  await Promise.all(ticks);
  return { records, orders, renewals };
}

/** The marketplace's retries after the load: purchases until 000000 (polling 000004), renewals until 000000. */
export async function settleLikeTheMarketplace(market: ProductionClient, load: LoadResult, tally: AnswerTally): Promise<{ failedPurchases: string[]; failedRenewals: string[] }> {
  const failedPurchases: string[] = [];
  await mapPool(load.orders.filter((x) => !x.confirmed), 8, async (order) => {
    try {
      const outcome = await market.newInstanceV2WithAsync(order.orderId, order.orderLineId, { retries: 40, retryDelayMs: 1000, maxPolls: 240, pollIntervalMs: 500 });
      for (const a of outcome.answers) tally.add(a, `retry purchase ${order.orderId}`);
      if (order.instanceId !== undefined && order.instanceId !== outcome.instanceId) failedPurchases.push(`${order.orderId}: instanceId changed ${order.instanceId} → ${outcome.instanceId}`);
      order.instanceId = outcome.instanceId;
      order.confirmed = true;
    } catch (err) {
      if (err instanceof ProductionCallError) for (const a of err.answers) tally.add(a, `retry purchase ${order.orderId}`);
      failedPurchases.push(`${order.orderId}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  const failedRenewals: string[] = [];
  // Sequential per instance (the marketplace does not send two renewals of one instance at once).
  await mapPool(load.renewals.filter((r) => !r.confirmed), 8, async (renewal) => {
    const a = await withMarketplaceRetries(tally, `retry renewal ${String(renewal.body.orderId)}`, () => market.v2(renewal.body), { attempts: 60, delayMs: 1000 });
    if (a?.body?.resultCode === '000000') renewal.confirmed = true;
    else failedRenewals.push(`${String(renewal.body.orderId)}: ${String(a?.body?.resultCode ?? 'no answer')}`);
  });
  return { failedPurchases, failedRenewals };
}

/** Calls of the load that broke the outage contract: late (≥ 5 s), unsigned, not HTTP 200, no answer, or a code outside the allowed set. */
export function outageViolations(records: readonly LoadRecord[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    const latency = (r.answeredAt ?? Date.now()) - r.sentAt;
    const what = `${r.activity} sent at ${new Date(r.sentAt).toISOString()}`;
    if (r.error !== undefined) out.push(`${what}: no answer (${r.error})`);
    else if (r.status !== 200) out.push(`${what}: HTTP ${r.status}`);
    else if (!r.signed) out.push(`${what}: Body-Sign invalid`);
    else if (!ALLOWED_UNDER_OUTAGE[r.activity].includes(r.code ?? '')) out.push(`${what}: code ${r.code}`);
    if (latency >= 5000) out.push(`${what}: answered after ${latency} ms`);
  }
  return out;
}

/** How many calls answered within `[from, to]` got each code (for the outage window's figures). */
export function codesBetween(records: readonly LoadRecord[], from: number, to: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    if (r.sentAt < from || r.sentAt > to) continue;
    const k = r.error !== undefined ? 'no answer' : (r.code ?? '?');
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** The convergence verdict over a load's orders and renewals, read from the read model and the tenant registry. */
export interface Convergence {
  lost: string[];
  duplicates: string[];
}

/**
 * Checks the database the service wrote: every order has exactly one instance, ACTIVE (waits up to `timeoutMs` for
 * the read model to catch up), with exactly one ACTIVE tenant (builtin registry, same database) and one RENEWAL
 * transition per confirmed renewal.
 */
export async function checkConvergence(pool: pg.Pool, load: LoadResult, o: { timeoutMs: number; builtinTenants: boolean }): Promise<Convergence> {
  const orderIds = load.orders.map((x) => x.orderId);
  const deadline = Date.now() + o.timeoutMs;
  let lost: string[] = [];
  let duplicates: string[] = [];
  for (;;) {
    lost = [];
    duplicates = [];
    const rows = (
      await pool.query<{ order_id: string; instance_id: string; phase: string }>('SELECT order_id, instance_id, phase FROM instances WHERE order_id = ANY($1::text[])', [orderIds])
    ).rows;
    const byOrder = new Map<string, Array<{ instance_id: string; phase: string }>>();
    for (const r of rows) byOrder.set(r.order_id, [...(byOrder.get(r.order_id) ?? []), r]);
    for (const order of load.orders) {
      const mine = byOrder.get(order.orderId) ?? [];
      if (mine.length > 1) duplicates.push(`${order.orderId}: ${mine.length} instances`);
      const row = mine[0];
      if (!order.confirmed) lost.push(`${order.orderId}: never confirmed to the marketplace`);
      else if (!row) lost.push(`${order.orderId}: no instance row`);
      else if (row.phase !== 'ACTIVE') lost.push(`${order.orderId}: instance ${row.instance_id} is ${row.phase}`);
      else if (row.instance_id !== order.instanceId) duplicates.push(`${order.orderId}: marketplace holds ${order.instanceId}, read model ${row.instance_id}`);
    }
    const instanceIds = load.orders.map((x) => x.instanceId).filter((x): x is string => x !== undefined);
    if (o.builtinTenants) {
      const tenants = (await pool.query<{ instance_id: string; status: string }>('SELECT instance_id, status FROM tenants WHERE instance_id = ANY($1::text[])', [instanceIds])).rows;
      const byInstance = new Map<string, string[]>();
      for (const t of tenants) byInstance.set(t.instance_id, [...(byInstance.get(t.instance_id) ?? []), t.status]);
      for (const id of instanceIds) {
        const statuses = byInstance.get(id) ?? [];
        if (statuses.length === 0) lost.push(`instance ${id}: no tenant`);
        else if (statuses.length > 1) duplicates.push(`instance ${id}: ${statuses.length} tenants`);
        else if (statuses[0] !== 'ACTIVE') lost.push(`instance ${id}: tenant ${statuses[0]}`);
      }
    }
    const events = (
      await pool.query<{ instance_id: string; n: number }>(
        `SELECT instance_id, count(*)::int AS n FROM instance_transitions WHERE instance_id = ANY($1::text[]) AND event = 'RENEWAL' GROUP BY instance_id`,
        [instanceIds],
      )
    ).rows;
    const applied = new Map(events.map((e) => [e.instance_id, e.n]));
    const expected = new Map<string, number>();
    for (const r of load.renewals) if (r.confirmed) expected.set(r.instanceId, (expected.get(r.instanceId) ?? 0) + 1);
    for (const [id, n] of expected) {
      const got = applied.get(id) ?? 0;
      if (got < n) lost.push(`instance ${id}: ${n} renewals confirmed, ${got} applied`);
      if (got > n) duplicates.push(`instance ${id}: ${n} renewals confirmed, ${got} applied`);
    }
    if ((lost.length === 0 && duplicates.length === 0) || Date.now() > deadline) return { lost, duplicates };
    await sleep(1000);
  }
}

/** True when a code tells the marketplace to come back. */
export const isRetryable = (code: string | undefined): boolean => code !== undefined && RETRYABLE_CODES.has(code);
