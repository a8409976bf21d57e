import { createHash } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowUpdateStage, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { lookupWindowMs, tooLateToStart, withDeadline } from '../platform/deadline.js';
import { createBatcher, type BatcherWatch } from '../platform/db/batcher.js';
import { classifyTemporalFailure } from '../platform/temporal/failures.js';
import { announceProvisioningInstance, findInstanceAccess, findInstanceByWorkflowId, findInstances, findInstanceVersions, type InstanceAccessRow, type InstanceRow } from './store.js';
import { ResultCode, encryptField, type AppInfo, type InstanceInfo } from '../koogallery/index.js';
import { appInfoViolations } from '../koogallery/app-info-limits.js';
import type { BuyerContacts, ProductionCommand, PurchaseCommand } from '../koogallery/commands.js';
import type { SealedBox } from '../platform/sealed-box.js';
import {
  ORDER_REJECTION_TYPE,
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  purchaseUpdate,
  refreshUpdate,
  releaseUpdate,
  setStatusUpdate,
  upgradeUpdate,
  type InterfaceVersion,
  type OperationResult,
  type OrderDetails,
  type OrderKey,
  type OrderWorkflowInput,
} from './contract.js';
import { InstanceIdKey, InterfaceVersionKey, OrderIdKey, OrderPhaseKey, TestOrderKey } from '../kernel/search-attributes.js';

// The production interface's use cases, one per marketplace command, independent of V1/V2 wire formats: the HTTP
// layer verifies, parses into a command (src/koogallery/commands.ts) and puts the outcome into the marketplace's
// words (answers.ts); this layer talks to Temporal and the read model. Every call finishes inside the configured
// budget (well inside the marketplace's 5 s). Failures of the Temporal client are recognised by type and code
// (src/platform/temporal/failures.ts); what is left is thrown, and the HTTP layer answers it as a retryable error.

/** The ids an outcome concerns, for logs: the instance, its order workflow and its purchase order. */
export interface OrderIds {
  readonly instanceId?: string;
  readonly workflowId?: string;
  /** The purchase order of the instance (a renewal's own order id is a different one). */
  readonly orderId?: string;
}

/** What became of a command, before it is put into the marketplace's words (answers.ts does that, in one place). */
export type OrderOutcome =
  /** The order's own answer: its workflow's, or, for an order whose workflow has closed, the read model's. */
  | { readonly kind: 'answered'; readonly code: ResultCode; readonly message?: string; readonly ids: OrderIds; readonly appInfo?: AppInfo }
  /** The order's workflow refused the request (an update validator), with the code it chose. */
  | { readonly kind: 'refused'; readonly code: ResultCode; readonly message: string; readonly ids: OrderIds }
  /** No such instance for the marketplace: never created, unknown, or released. */
  | { readonly kind: 'instance-not-found'; readonly message: string; readonly ids?: OrderIds }
  /** A purchase (or the instances polled) still provisioning after the budget; the marketplace may poll. */
  | { readonly kind: 'provisioning'; readonly ids?: OrderIds }
  /** Not decided within the budget, or not now: the same call later will be answered. */
  | { readonly kind: 'retry-later'; readonly message: string; readonly ids?: OrderIds }
  /** queryInstance: the instances that are ready, with how to reach them. */
  | { readonly kind: 'instances'; readonly info: InstanceInfo[]; readonly ids?: OrderIds };

/** What the order service needs. */
export interface OrderServiceDeps {
  readonly client: Client;
  readonly pool: Pool;
  readonly taskQueue: string;
  /** Start orders with settlement lines (SETTLEMENT_ORDER_LINES, issue #15). */
  readonly settlement?: boolean;
  readonly accessKey: string;
  readonly sealedBox: SealedBox;
  /** How long an operation may wait for its workflow before answering "processing" or a retryable failure. */
  readonly budgetMs: number;
  /**
   * The usage queryInstance carries for on-demand and package instances (§4.2), by instanceId: the metering
   * context's, injected by the composition root (this context knows no metering). `reportedOnly`: only instances
   * that have reported usage (no look-up of the others).
   */
  readonly usageOf?: (instanceIds: readonly string[], o?: { readonly reportedOnly?: boolean }) => Promise<ReadonlyMap<string, unknown>>;
  /**
   * The workflow a purchase starts, when it is not orderWorkflow: another workflow type built on the order lifecycle
   * (runOrderLifecycle), such as the licenses context's license instance. Everything else about orders is the same.
   */
  readonly instanceWorkflow?: InstanceWorkflow;
  /** Where queryInstance's version-read backlog is watched from (the API's metrics). */
  readonly batchers?: BatcherWatch;
}

/** A workflow type built on the order lifecycle, as purchases start it. */
export interface InstanceWorkflow {
  readonly type: string;
  /** Its workflow id for an order (orderWorkflowId's for orderWorkflow). */
  id(key: OrderKey): string;
  /** A word for the Temporal UI's summary, e.g. "Online License". */
  label(interfaceVersion: InterfaceVersion): string;
}

/** A purchase as the order workflow is started with it. */
export interface PurchaseInput {
  readonly key: OrderKey;
  readonly interfaceVersion: InterfaceVersion;
  readonly businessId: string;
  readonly testOrder: boolean;
  readonly details?: OrderDetails;
  /** Default: orderWorkflow. */
  readonly workflow?: InstanceWorkflow;
}

/** After the budget: how long the look-ups naming a still-provisioning instance may take. */
const LOOKUP_MS = 800;
/** Read-model phases a purchase answered 000004 may be polled in: provisioning, or already done. */
const POLLABLE_PHASES = new Set(['PROVISIONING', 'ACTIVE', 'FROZEN']);

class BudgetExceeded extends Error {}

function withinBudget<T>(p: Promise<T>, ms: number): Promise<T> {
  return withDeadline(p, ms, () => new BudgetExceeded(`no answer within ${ms} ms`));
}

/** instanceId = the first businessId (§3.1), unless it is longer than the 64 characters an instanceId may have. */
export function instanceIdFor(businessId: string): string {
  if (businessId.length <= 64) return businessId;
  return `i-${createHash('sha256').update(businessId).digest('hex').slice(0, 40)}`;
}

/** The result code an order's update validator chose (its ApplicationFailure's first detail), if it is one. */
function refusedCode(details: readonly unknown[] | undefined | null): ResultCode {
  const code = details?.[0];
  return typeof code === 'string' && (Object.values(ResultCode) as string[]).includes(code) ? (code as ResultCode) : ResultCode.InternalError;
}

const READY_PHASES = new Set(['ACTIVE', 'FROZEN']);
/** Charging modes that report usage (metering's `isMetered`; this context does not import metering, see the fence). */
const isMeteredMode = (mode: string | null | undefined) => mode === 'ON_DEMAND' || mode === 'ON_DEMAND_PKG';

/**
 * The start half of a purchase's update-with-start: the order workflow's id, input, id policies, initial search
 * attributes and summaries. Exported so the benchmarks send exactly the purchase the API sends.
 */
export function purchaseStartOperation(taskQueue: string, p: PurchaseInput, instanceId: string, seqBase?: number, settlement?: boolean) {
  const workflowId = p.workflow?.id(p.key) ?? orderWorkflowId(p.key);
  const input: OrderWorkflowInput = {
    key: p.key,
    interfaceVersion: p.interfaceVersion,
    instanceId,
    testOrder: p.testOrder,
    ...(p.details ? { details: p.details } : {}),
    ...(seqBase !== undefined ? { seqBase } : {}),
    ...(settlement ? { settlement: true } : {}),
  };
  return new WithStartWorkflowOperation(p.workflow?.type ?? ORDER_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [input],
    // Concurrent and repeated purchases join the one running order; a closed real order is never started again.
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: p.testOrder ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: OrderIdKey, value: p.key.orderId },
      { key: InstanceIdKey, value: instanceId },
      { key: OrderPhaseKey, value: 'PROVISIONING' },
      { key: TestOrderKey, value: p.testOrder },
      { key: InterfaceVersionKey, value: p.interfaceVersion },
    ],
    staticSummary: `${p.workflow ? `${p.workflow.label(p.interfaceVersion)} ` : ''}${p.interfaceVersion} order ${p.key.orderId}${p.key.kind === 'v2-line' ? ` line ${p.key.orderLineId}` : ''}${p.testOrder ? ' (test order)' : ''}`,
    staticDetails: `instanceId \`${instanceId}\` · first businessId \`${p.businessId}\``,
  });
}

/** Creates the order service. */
export function createOrderService(deps: OrderServiceDeps) {
  const { client, pool, budgetMs } = deps;

  // queryInstance answers up to 100 instances per call and is polled; opening the sealed credentials and
  // AES-encrypting them again for every instance of every poll was most of its CPU. The encrypted appInfo is kept
  // per instance (re-sending the same ciphertext reveals nothing new) and rebuilt when the row's version or the key
  // changes.
  const appInfoCache = new Map<string, { version: string; keyNumber: number; appInfo: AppInfo | undefined }>();
  const CACHE_LIMIT = 20_000;
  // The access keys calls were answered with, numbered as first met: an entry names a key by its number, so the
  // cache's 20,000 entries do not each hold a copy of the secret.
  const keyNumbers = new Map<string, number>();
  const keyNumberOf = (key: string): number => {
    let n = keyNumbers.get(key);
    if (n === undefined) keyNumbers.set(key, (n = keyNumbers.size));
    return n;
  };
  /** Sets `key` as the newest entry of a map kept to CACHE_LIMIT entries, the oldest going first. */
  const remember = <V>(cache: Map<string, V>, key: string, value: V) => {
    cache.delete(key);
    cache.set(key, value);
    if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  };

  /**
   * The appInfo to send for a ready instance, its credentials encrypted with `accessKey` (the key the call was
   * verified with: its product's); undefined when it has no access yet, or none the marketplace accepts.
   */
  function appInfoOf(row: InstanceAccessRow, accessKey: string): AppInfo | undefined {
    const keyNumber = keyNumberOf(accessKey);
    const cached = appInfoCache.get(row.instanceId);
    // The key is part of the entry: an instance is queried under its product's key, so this rebuilds only if that changes.
    if (cached !== undefined && cached.version === row.version && cached.keyNumber === keyNumber) return cached.appInfo;
    const appInfo = row.frontEndUrl ? buildAppInfo(row, row.frontEndUrl, accessKey) : undefined;
    remember(appInfoCache, row.instanceId, { version: row.version, keyNumber, appInfo });
    return appInfo;
  }

  // The access rows of polled instances as last read, by id (at most CACHE_LIMIT, sealed credentials and all: a few
  // MB). A poll whose ids are all here reads only the rows' versions (two short columns instead of the answer's nine,
  // the sealed credentials the longest: less for PostgreSQL to send and the API to parse, bench B3) and then, in a
  // second statement, the rows whose version moved; a poll with an id not here reads the rows outright. Never stale:
  // a held row is used only while PostgreSQL reports its version unchanged (xmin, a transaction id: it could come
  // round again only after ~4 billion transactions, and then on this very row).
  const accessRows = new Map<string, InstanceAccessRow>();
  // The version reads of polls that arrive while one is in flight go together in the next (platform/db/batcher.ts):
  // under load one statement for several polls. Each poll looks up only its own ids in the shared answer.
  const versionReads = createBatcher<readonly string[], ReadonlyMap<string, string>>({
    what: 'instance version reads',
    run: async (idLists) => {
      const found = await findInstanceVersions(pool, [...new Set(idLists.flat())]);
      const byId = new Map(found.map((v) => [v.instanceId, v.version]));
      return idLists.map(() => byId);
    },
    // ≤ 50 polls of ≤ 100 ids: one indexed read of ≤ 5,000 rows.
    maxBatch: 50,
    maxQueued: 10_000,
    ...(deps.batchers ? { watch: deps.batchers } : {}),
  });
  async function readAccessRows(instanceIds: readonly string[]): Promise<InstanceAccessRow[]> {
    const keep = (rows: readonly InstanceAccessRow[]) => {
      for (const r of rows) remember(accessRows, r.instanceId, r);
      rememberUnmetered(rows);
    };
    if (!instanceIds.every((id) => accessRows.has(id))) {
      const rows = await findInstanceAccess(pool, instanceIds);
      keep(rows);
      return rows;
    }
    const rows: InstanceAccessRow[] = [];
    const moved: string[] = [];
    const versions = await versionReads.submit(instanceIds);
    for (const id of instanceIds) {
      const version = versions.get(id);
      // Not there any more: left out, as a read of the rows would.
      if (version === undefined) continue;
      const held = accessRows.get(id)!;
      if (held.version === version) rows.push(held);
      else moved.push(id);
    }
    if (moved.length === 0) return rows;
    // A row that moved again between the two reads is taken as the second read finds it; one deleted is left out.
    const reread = await findInstanceAccess(pool, moved);
    keep(reread);
    return rows.concat(reread);
  }

  // Instances last read with a charging mode that is not metered (an instance is charged as its order line was
  // bought), learnt as rows are read from PostgreSQL (readAccessRows). An id not seen yet, or seen without a mode,
  // still gets the usage read alongside; and should a row ever come back metered after all, the answer stays right:
  // its usage is read after the row (`late` below), one round trip later, and the id leaves this set.
  const knownUnmetered = new Set<string>();
  function rememberUnmetered(rows: readonly InstanceAccessRow[]): void {
    for (const r of rows) {
      if (isMeteredMode(r.chargingMode)) knownUnmetered.delete(r.instanceId);
      if (!r.chargingMode || isMeteredMode(r.chargingMode) || knownUnmetered.has(r.instanceId)) continue;
      knownUnmetered.add(r.instanceId);
      if (knownUnmetered.size > CACHE_LIMIT) knownUnmetered.delete(knownUnmetered.values().next().value!);
    }
  }

  function buildAppInfo(row: InstanceAccessRow, frontEndUrl: string, accessKey: string): AppInfo | undefined {
    const creds = row.credentialsSealed ? deps.sealedBox.openJson<{ userName: string; password: string }>(row.credentialsSealed) : undefined;
    const plain = { frontEndUrl, ...(row.adminUrl ? { adminUrl: row.adminUrl } : {}), ...(creds ?? {}), ...(row.memo ? { memo: row.memo } : {}) };
    // Provisioning refuses access over the marketplace's limits (the purchase fails); a row written before that
    // check is withheld rather than sent, so the marketplace never receives a value it cannot take.
    if (appInfoViolations(plain).length > 0) return undefined;
    return {
      frontEndUrl,
      ...(row.adminUrl ? { adminUrl: row.adminUrl } : {}),
      ...(creds ? { userName: encryptField(accessKey, creds.userName, '1'), password: encryptField(accessKey, creds.password, '1') } : {}),
      ...(row.memo ? { memo: row.memo } : {}),
    };
  }

  /** The outcome for an order whose workflow is closed (or whose operation found it gone), from the read model. */
  function outcomeFromRow(row: InstanceRow | undefined, opts: { purchase: boolean; release: boolean; testOrder: boolean }): OrderOutcome {
    if (!row) return { kind: 'instance-not-found', message: 'instance not found' };
    const ids = { instanceId: row.instanceId, workflowId: row.workflowId, orderId: row.orderId };
    if (row.phase === 'RELEASED') {
      if (opts.purchase || opts.release || opts.testOrder || row.testOrder) return { kind: 'answered', code: ResultCode.Success, ids };
      return { kind: 'instance-not-found', message: 'instance released', ids };
    }
    if (row.phase === 'REJECTED' || row.phase === 'FAILED') {
      if (opts.purchase) return { kind: 'answered', code: (row.resultCode as ResultCode | null) ?? ResultCode.InternalError, ids };
      return { kind: 'instance-not-found', message: 'no instance was created', ids };
    }
    return { kind: 'retry-later', message: `order workflow unavailable (phase ${row.phase})`, ids };
  }

  /**
   * Announces the instance an open order workflow was started for, when no worker has recorded it yet: its start set
   * the InstanceId, TestOrder and InterfaceVersion search attributes, and describe answers from the server, no worker
   * needed. Resolves to the instance once its row is in the read model (announced here or written by the workflow
   * meanwhile), so that polls find it; undefined when no run is open or the row cannot be confirmed.
   */
  async function announceStartedInstance(workflowId: string, key: OrderKey, by: number): Promise<string | undefined> {
    // The gRPC deadline, so that a describe left behind by an answer sent is cancelled, not piled up in an outage.
    const description = await client.withDeadline(by, () => client.workflow.getHandle(workflowId).describe());
    const attrs = description.typedSearchAttributes;
    const instanceId = attrs.get(InstanceIdKey);
    const interfaceVersion = attrs.get(InterfaceVersionKey);
    if (description.status.name !== 'RUNNING' || !instanceId || !interfaceVersion || Date.now() >= by) return undefined;
    const recorded = await announceProvisioningInstance(pool, {
      instanceId,
      workflowId,
      interfaceVersion,
      orderId: key.orderId,
      ...(key.kind === 'v2-line' ? { orderLineId: key.orderLineId } : {}),
      testOrder: attrs.get(TestOrderKey) ?? false,
    });
    return recorded ? instanceId : undefined;
  }

  /** The order's answer to an operation, as an outcome. */
  const answered = (result: OperationResult, ids: OrderIds): OrderOutcome => ({ kind: 'answered', code: result.code, ids, ...(result.message ? { message: result.message } : {}) });

  /** The workflow details of a V1 purchase: the pushed facts, and the buyer's contacts sealed (never plain in a workflow). */
  function purchaseDetails(c: PurchaseCommand): OrderDetails | undefined {
    if (!c.facts) return undefined;
    const contacts: BuyerContacts | undefined = c.contacts;
    return { ...c.facts, ...(contacts ? { buyerContactsSealed: deps.sealedBox.sealJson(contacts) } : {}) };
  }

  async function purchase(c: PurchaseCommand, accessKey: string, receivedAt: number): Promise<OrderOutcome> {
    // The budget counts from the call's arrival: admission (signature, nonce) has spent some of the 5 s already.
    const deadline = receivedAt + budgetMs;
    const details = purchaseDetails(c);
    const p: PurchaseInput = {
      key: c.key,
      interfaceVersion: c.interfaceVersion,
      businessId: c.businessId,
      testOrder: c.testOrder,
      ...(details ? { details } : {}),
      ...(deps.instanceWorkflow ? { workflow: deps.instanceWorkflow } : {}),
    };
    const workflowId = p.workflow?.id(p.key) ?? orderWorkflowId(p.key);
    const orderIds = { workflowId, orderId: p.key.orderId };
    // Retryable: the marketplace calls again, and the call joins whatever this one started.
    const notYetAccepted: OrderOutcome = { kind: 'retry-later', message: 'order not yet accepted; retry', ids: orderIds };
    let instanceId = instanceIdFor(p.businessId);
    let seqBase: number | undefined;
    if (p.testOrder) {
      // Dial tests replay the same debug order twice a day, also after it was released: start it over, under the
      // instanceId it was first given (UNCONFIRMED which one the replayed cases carry; keeping it is the safe side),
      // continuing its transition counter so the read model takes the new run's writes.
      let prior: InstanceRow | undefined;
      try {
        prior = await withinBudget(findInstanceByWorkflowId(pool, workflowId), lookupWindowMs(deadline));
      } catch (err) {
        if (err instanceof BudgetExceeded) return notYetAccepted;
        throw err;
      }
      if (prior) {
        instanceId = prior.instanceId;
        seqBase = prior.seq;
      }
    }
    const startWorkflowOperation = purchaseStartOperation(deps.taskQueue, p, instanceId, seqBase, deps.settlement);
    let outcome: OrderOutcome;
    try {
      const result = await withinBudget(
        (async (): Promise<OperationResult> => {
          const handle = await client.workflow.startUpdateWithStart(purchaseUpdate, {
            args: [{ businessId: p.businessId, testOrder: p.testOrder }],
            waitForStage: WorkflowUpdateStage.ACCEPTED,
            startWorkflowOperation,
          });
          return handle.result();
        })(),
        Math.max(0, deadline - Date.now()),
      );
      outcome = answered(result, { ...orderIds, instanceId: result.instanceId });
    } catch (err) {
      if (err instanceof BudgetExceeded) {
        // Provisioning goes on in the workflow. Name the instance if it is known, so the marketplace can poll it. Every
        // look-up ends by one fixed time, `LOOKUP_MS` after the budget (budget ≤ 4 s: the answer leaves within 5 s).
        const lookupEnd = deadline + LOOKUP_MS;
        const timeLeft = () => lookupEnd - Date.now();
        if (tooLateToStart(lookupEnd)) return notYetAccepted;
        const row = await withinBudget(findInstanceByWorkflowId(pool, workflowId), timeLeft()).catch(() => undefined);
        // Polled next: only a phase the polls answer 000004 or 000000 for (a failed purchase being retried is not yet).
        if (row && POLLABLE_PHASES.has(row.phase)) return { kind: 'provisioning', ids: { ...orderIds, instanceId: row.instanceId } };
        if (!row && p.interfaceVersion === 'V2' && !tooLateToStart(lookupEnd)) {
          // Not recorded yet: no worker has run the order's first task (cold after a start, busy, or down). If
          // Temporal holds the order, its start named the instance: announced in the read model, it is answered 000004
          // and polled, instead of 000005 and called again later. (V1 has no 000004: its 000005 is the same either way.)
          const announced = await withinBudget(announceStartedInstance(workflowId, p.key, lookupEnd), timeLeft()).catch(() => undefined);
          if (announced) return { kind: 'provisioning', ids: { ...orderIds, instanceId: announced } };
        }
        return notYetAccepted;
      }
      const failure = classifyTemporalFailure(err, ORDER_REJECTION_TYPE);
      if (failure.kind === 'already-started') {
        // A real order whose workflow has closed (REJECT_DUPLICATE): the read model has its answer.
        outcome = outcomeFromRow(await findInstanceByWorkflowId(pool, workflowId), { purchase: true, release: false, testOrder: p.testOrder });
      } else if (failure.kind === 'update-refused') {
        return { kind: 'refused', code: refusedCode(failure.failure.details), message: failure.failure.message, ids: orderIds };
      } else {
        throw err;
      }
    }
    // V1 has no queryInstance poll after a purchase: its answer carries how to reach the instance.
    if (c.interfaceVersion === 'V1' && outcome.kind === 'answered' && outcome.code === ResultCode.Success && outcome.ids.instanceId) {
      const [row] = await findInstanceAccess(pool, [outcome.ids.instanceId]);
      const appInfo = row ? appInfoOf(row, accessKey) : undefined;
      if (appInfo) outcome = { ...outcome, appInfo };
    }
    return outcome;
  }

  /**
   * Runs an update on the order that owns `instanceId`, recognising every way it can fail. As a purchase's, the
   * budget counts from the call's arrival (`receivedAt`): admission and the look-up of the order spend of it.
   */
  async function operate(
    c: { readonly instanceId: string; readonly testOrder: boolean },
    receivedAt: number,
    run: (workflowId: string) => Promise<OperationResult>,
    opts: { release?: boolean } = {},
  ): Promise<OrderOutcome> {
    const { instanceId, testOrder } = c;
    const deadline = receivedAt + budgetMs;
    let ids: OrderIds = { instanceId };
    const stillProcessing = (): OrderOutcome => ({ kind: 'retry-later', message: 'still processing; retry', ids });
    try {
      const [row] = await withinBudget(findInstances(pool, [instanceId]), lookupWindowMs(deadline));
      if (!row) return { kind: 'instance-not-found', message: 'instance not found' };
      ids = { instanceId, workflowId: row.workflowId, orderId: row.orderId };
      // An update sent with no time to answer would be applied behind a 000005: leave it to the marketplace's retry.
      if (tooLateToStart(deadline)) return stillProcessing();
      return answered(await withinBudget(run(row.workflowId), deadline - Date.now()), ids);
    } catch (err) {
      if (err instanceof BudgetExceeded) return stillProcessing();
      const failure = classifyTemporalFailure(err, ORDER_REJECTION_TYPE);
      if (failure.kind === 'update-refused') return { kind: 'refused', code: refusedCode(failure.failure.details), message: failure.failure.message, ids };
      if (failure.kind === 'workflow-gone') {
        // The order closed (released, or a failed purchase past its retention): what it left in the read model decides,
        // read by the same fixed end as a purchase's look-ups after its budget.
        const lookup = withinBudget(findInstances(pool, [instanceId]), lookupWindowMs(deadline + LOOKUP_MS));
        const fresh = await lookup.catch((e: unknown) => {
          if (e instanceof BudgetExceeded) return undefined;
          throw e;
        });
        if (fresh === undefined) return stillProcessing();
        return outcomeFromRow(fresh[0], { purchase: false, release: opts.release ?? false, testOrder });
      }
      throw err;
    }
  }

  const handleOf = (workflowId: string) => client.workflow.getHandle(workflowId);

  /** queryInstance: answered from the read model (fast, and available while no worker runs). */
  async function queryInstances(instanceIds: readonly string[], accessKey: string = deps.accessKey): Promise<OrderOutcome> {
    // The usage of instances that reported some is read alongside (one round trip, not two, for on-demand ids),
    // unless every id is known to be charged otherwise: it would find nothing, and it cost ≈ 0.4 ms of the 3.4 ms
    // of CPU of a 100-id call (bench B3).
    const usageRead = deps.usageOf && !instanceIds.every((id) => knownUnmetered.has(id)) ? deps.usageOf(instanceIds, { reportedOnly: true }) : undefined;
    const [rows, reported] = await Promise.all([readAccessRows(instanceIds), usageRead]);
    if (rows.length === 0) return { kind: 'instance-not-found', message: 'instance not found' };
    const byId = new Map(rows.map((r) => [r.instanceId, r]));
    const silent = rows.filter((r) => READY_PHASES.has(r.phase) && isMeteredMode(r.chargingMode) && !reported?.has(r.instanceId));
    // Metered instances that have reported nothing yet: their (zero) usage and package terms, asked for apart.
    const late = silent.length > 0 && deps.usageOf ? await deps.usageOf(silent.map((r) => r.instanceId)) : undefined;
    const usage = { get: (id: string) => reported?.get(id) ?? late?.get(id) };
    const info: InstanceInfo[] = [];
    for (const id of instanceIds) {
      const row = byId.get(id);
      if (!row || !READY_PHASES.has(row.phase)) continue;
      const appInfo = appInfoOf(row, accessKey);
      const used = usage.get(row.instanceId);
      info.push({ instanceId: row.instanceId, ...(appInfo ? { appInfo } : {}), ...(used !== undefined ? { usage: used } : {}) });
    }
    // A single-instance query names its order in the logs like every other call about that order.
    const only = rows.length === 1 ? rows[0]! : undefined;
    const ids = only ? { instanceId: only.instanceId, workflowId: only.workflowId, orderId: only.orderId } : undefined;
    // Known but not ready yet (async purchase still provisioning): tell the poller to come back.
    if (info.length === 0) {
      const provisioning = rows.some((r) => r.phase === 'PROVISIONING');
      return provisioning ? { kind: 'provisioning', ...(ids ? { ids } : {}) } : { kind: 'instance-not-found', message: 'no live instance' };
    }
    return { kind: 'instances', info, ...(ids ? { ids } : {}) };
  }

  /** changeInstanceCheck: a renewal with change is allowed for a live instance. */
  async function checkChange(instanceId: string): Promise<OrderOutcome> {
    const [row] = await findInstances(pool, [instanceId]);
    if (!row || !READY_PHASES.has(row.phase)) return { kind: 'instance-not-found', message: 'instance not found' };
    return { kind: 'answered', code: ResultCode.Success, ids: { instanceId, workflowId: row.workflowId, orderId: row.orderId } };
  }

  /**
   * Runs one marketplace command: the production interface's table of contents. `call.accessKey` is the key the
   * call was verified with, which encrypts the appInfo of its answer (default: the access key); `call.receivedAt`
   * when it arrived (epoch ms; default: now), from which the budget of a purchase or an operation counts.
   */
  function execute(c: ProductionCommand, call: { readonly accessKey?: string; readonly receivedAt?: number } = {}): Promise<OrderOutcome> {
    const accessKey = call.accessKey ?? deps.accessKey;
    const receivedAt = call.receivedAt ?? Date.now();
    switch (c.kind) {
      case 'purchase':
        return purchase(c, accessKey, receivedAt);
      case 'renew': {
        const req = {
          orderId: c.orderId,
          ...(c.orderLineId ? { orderLineId: c.orderLineId } : {}),
          scene: c.scene,
          expireTime: c.expireTime,
          ...(c.productId ? { productId: c.productId } : {}),
          ...(c.periodType ? { periodType: c.periodType } : {}),
          ...(c.periodNumber !== undefined ? { periodNumber: c.periodNumber } : {}),
          ...(c.orderAmount ? { orderAmount: c.orderAmount } : {}),
          testOrder: c.testOrder,
        };
        return operate(c, receivedAt, (wf) => handleOf(wf).executeUpdate(refreshUpdate, { args: [req], updateId: `refresh-${c.orderId}` }));
      }
      case 'expire':
      case 'freeze':
      case 'unfreeze': {
        // Expiry and arrears are separate freezes: a renewal lifts the first, only the marketplace's UNFREEZE both.
        const req = { action: c.kind === 'unfreeze' ? ('UNFREEZE' as const) : ('FREEZE' as const), reason: c.kind === 'expire' ? ('EXPIRED' as const) : ('MARKETPLACE' as const), testOrder: c.testOrder };
        return operate(c, receivedAt, (wf) => handleOf(wf).executeUpdate(setStatusUpdate, { args: [req] }));
      }
      case 'upgrade': {
        const req = {
          orderId: c.orderId,
          ...(c.orderLineId ? { orderLineId: c.orderLineId } : {}),
          ...(c.skuCode ? { skuCode: c.skuCode } : {}),
          ...(c.productId ? { productId: c.productId } : {}),
          ...(c.spec ? { spec: c.spec } : {}),
          testOrder: c.testOrder,
        };
        return operate(c, receivedAt, (wf) => handleOf(wf).executeUpdate(upgradeUpdate, { args: [req], updateId: `upgrade-${c.orderId}` }));
      }
      case 'release': {
        const req = { ...(c.orderId ? { orderId: c.orderId } : {}), testOrder: c.testOrder };
        // Releasing a released instance succeeds.
        return operate(c, receivedAt, (wf) => handleOf(wf).executeUpdate(releaseUpdate, { args: [req] }), { release: true });
      }
      case 'query':
        return queryInstances(c.instanceIds, accessKey);
      case 'check-change':
        return checkChange(c.instanceId);
    }
  }

  return { execute, queryInstances };
}

/** The order service's type. */
export type OrderService = ReturnType<typeof createOrderService>;

// Reconciliation and the ops API ask Temporal about an order's workflow through the orders context.
export { viewOrderWorkflow } from './workflow-view.js';
// Supervision resolves a just-started supervised order through its order workflow's read-model row.
export { findOrderWorkflows } from './store.js';
// Metering checks usage records against the instances' charging facts (charging mode, phase, customer, product).
// A package's follow-on (the buyer's auto-repurchase) is an ordinary instance of the same customer and product.
export { findInstanceChargingFacts, findLiveInstancesOfCustomerProduct, type InstanceChargingRow } from './store.js';
