import { createHash } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { withDeadline } from '../platform/deadline.js';
import { findInstanceAccess, findInstanceByWorkflowId, findInstances, type InstanceAccessRow, type InstanceRow } from './store.js';
import { ResultCode, encryptField, type AppInfo, type InstanceInfo } from '../koogallery/index.js';
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
  type RefreshRequest,
  type ReleaseRequest,
  type StatusRequest,
  type UpgradeRequest,
} from './contract.js';
import { InstanceIdKey, InterfaceVersionKey, OrderIdKey, OrderPhaseKey, TestOrderKey } from '../kernel/search-attributes.js';

// The production interface's use cases, one function per marketplace operation, independent of V1/V2 wire
// formats: the HTTP layer parses and verifies, this layer talks to Temporal and the read model, and answers with
// a marketplace result code. Every call finishes inside the configured budget (well inside the marketplace's 5 s).

/** An answer to the marketplace, before wire formatting. */
export interface ServiceAnswer {
  readonly code: ResultCode;
  readonly message?: string;
  readonly instanceId?: string;
  /** For newInstance (V1): how the buyer reaches the instance, credentials encrypted for the marketplace. */
  readonly appInfo?: AppInfo;
  /** For queryInstance. */
  readonly info?: InstanceInfo[];
  /** The order workflow this call reached (for logs). */
  readonly workflowId?: string;
  /** The purchase order of the instance (for logs; a renewal's own order id is a different one). */
  readonly orderId?: string;
}

/** What the order service needs. */
export interface OrderServiceDeps {
  readonly client: Client;
  readonly pool: Pool;
  readonly taskQueue: string;
  readonly accessKey: string;
  readonly sealedBox: SealedBox;
  /** How long an operation may wait for its workflow before answering "processing" or a retryable failure. */
  readonly budgetMs: number;
}

/** A purchase as the HTTP layer hands it over. */
export interface PurchaseInput {
  readonly key: OrderKey;
  readonly interfaceVersion: InterfaceVersion;
  readonly businessId: string;
  readonly testOrder: boolean;
  readonly details?: OrderDetails;
}

class BudgetExceeded extends Error {}

function withinBudget<T>(p: Promise<T>, ms: number): Promise<T> {
  return withDeadline(p, ms, () => new BudgetExceeded(`no answer within ${ms} ms`));
}

/** instanceId = the first businessId (§3.1), unless it is longer than the 64 characters an instanceId may have. */
export function instanceIdFor(businessId: string): string {
  if (businessId.length <= 64) return businessId;
  return `i-${createHash('sha256').update(businessId).digest('hex').slice(0, 40)}`;
}

function rejectionCode(err: unknown): ResultCode | undefined {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type === ORDER_REJECTION_TYPE) {
    const code = cause.details?.[0];
    if (typeof code === 'string' && (Object.values(ResultCode) as string[]).includes(code)) return code as ResultCode;
  }
  return undefined;
}

function isClosedWorkflowError(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const msg = err instanceof Error ? err.message : '';
  return /workflow execution already completed|not found/i.test(msg);
}

const READY_PHASES = new Set(['ACTIVE', 'FROZEN']);

/**
 * The start half of a purchase's update-with-start: the order workflow's id, input, id policies, initial search
 * attributes and summaries. Exported so the benchmarks send exactly the purchase the API sends.
 */
export function purchaseStartOperation(taskQueue: string, p: PurchaseInput, instanceId: string, seqBase?: number) {
  const workflowId = orderWorkflowId(p.key);
  const input: OrderWorkflowInput = {
    key: p.key,
    interfaceVersion: p.interfaceVersion,
    instanceId,
    testOrder: p.testOrder,
    ...(p.details ? { details: p.details } : {}),
    ...(seqBase !== undefined ? { seqBase } : {}),
  };
  return new WithStartWorkflowOperation(ORDER_WORKFLOW_TYPE, {
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
    staticSummary: `${p.interfaceVersion} order ${p.key.orderId}${p.key.kind === 'v2-line' ? ` line ${p.key.orderLineId}` : ''}${p.testOrder ? ' (test order)' : ''}`,
    staticDetails: `instanceId \`${instanceId}\` · first businessId \`${p.businessId}\``,
  });
}

/** Creates the order service. */
export function createOrderService(deps: OrderServiceDeps) {
  const { client, pool, budgetMs } = deps;

  // queryInstance answers up to 100 instances per call and is polled; opening the sealed credentials and
  // AES-encrypting them again for every instance of every poll was most of its CPU. The encrypted appInfo is kept
  // per instance (re-sending the same ciphertext reveals nothing new) and rebuilt when the stored access changes.
  const appInfoCache = new Map<string, { stamp: string; appInfo: AppInfo }>();
  const APP_INFO_CACHE_LIMIT = 20_000;

  function appInfoOf(row: InstanceAccessRow): AppInfo | undefined {
    if (!row.frontEndUrl) return undefined;
    const stamp = `${row.credentialsSealed ?? ''}|${row.frontEndUrl}|${row.adminUrl ?? ''}|${row.memo ?? ''}`;
    const cached = appInfoCache.get(row.instanceId);
    if (cached?.stamp === stamp) return cached.appInfo;
    const appInfo = buildAppInfo(row, row.frontEndUrl);
    appInfoCache.delete(row.instanceId);
    appInfoCache.set(row.instanceId, { stamp, appInfo });
    if (appInfoCache.size > APP_INFO_CACHE_LIMIT) appInfoCache.delete(appInfoCache.keys().next().value!);
    return appInfo;
  }

  function buildAppInfo(row: InstanceAccessRow, frontEndUrl: string): AppInfo {
    const creds = row.credentialsSealed ? deps.sealedBox.openJson<{ userName: string; password: string }>(row.credentialsSealed) : undefined;
    return {
      frontEndUrl,
      ...(row.adminUrl ? { adminUrl: row.adminUrl } : {}),
      ...(creds ? { userName: encryptField(deps.accessKey, creds.userName, '1'), password: encryptField(deps.accessKey, creds.password, '1') } : {}),
      ...(row.memo ? { memo: row.memo } : {}),
    };
  }

  /** Answer for an order whose workflow is closed (or whose operation found it gone), from the read model. */
  function answerFromRow(row: InstanceRow | undefined, opts: { purchase: boolean; release: boolean; testOrder: boolean }): ServiceAnswer {
    if (!row) return { code: ResultCode.InstanceNotFound, message: 'instance not found' };
    const base = { instanceId: row.instanceId, workflowId: row.workflowId, orderId: row.orderId };
    if (row.phase === 'RELEASED') {
      if (opts.purchase || opts.release || opts.testOrder || row.testOrder) return { ...base, code: ResultCode.Success };
      return { ...base, code: ResultCode.InstanceNotFound, message: 'instance released' };
    }
    if (row.phase === 'REJECTED' || row.phase === 'FAILED') {
      if (opts.purchase) return { ...base, code: (row.resultCode as ResultCode | null) ?? ResultCode.InternalError };
      return { ...base, code: ResultCode.InstanceNotFound, message: 'no instance was created' };
    }
    return { ...base, code: ResultCode.InternalError, message: `order workflow unavailable (phase ${row.phase})` };
  }

  async function purchase(p: PurchaseInput): Promise<ServiceAnswer> {
    const workflowId = orderWorkflowId(p.key);
    let instanceId = instanceIdFor(p.businessId);
    let seqBase: number | undefined;
    if (p.testOrder) {
      // Dial tests replay the same debug order twice a day, also after it was released: start it over, under the
      // instanceId it was first given (UNCONFIRMED which one the replayed cases carry; keeping it is the safe side),
      // continuing its transition counter so the read model takes the new run's writes.
      const prior = await findInstanceByWorkflowId(pool, workflowId);
      if (prior) {
        instanceId = prior.instanceId;
        seqBase = prior.seq;
      }
    }
    const startWorkflowOperation = purchaseStartOperation(deps.taskQueue, p, instanceId, seqBase);
    const deadline = Date.now() + budgetMs;
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
        budgetMs,
      );
      return { code: result.code, instanceId: result.instanceId, workflowId, orderId: p.key.orderId, ...(result.message ? { message: result.message } : {}) };
    } catch (err) {
      if (err instanceof BudgetExceeded) {
        // Provisioning goes on in the workflow. Name the instance if it is known, so the marketplace can poll it.
        const row = await withinBudget(findInstanceByWorkflowId(pool, workflowId), Math.max(200, deadline + 800 - Date.now())).catch(() => undefined);
        if (row && row.phase !== 'RELEASED') return { code: ResultCode.Processing, instanceId: row.instanceId, workflowId, orderId: p.key.orderId, message: 'provisioning' };
        return { code: ResultCode.InternalError, workflowId, orderId: p.key.orderId, message: 'order not yet accepted; retry' };
      }
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        return answerFromRow(await findInstanceByWorkflowId(pool, workflowId), { purchase: true, release: false, testOrder: p.testOrder });
      }
      const code = rejectionCode(err);
      if (code) return { code, workflowId, orderId: p.key.orderId };
      throw err;
    }
  }

  /** Runs an update on the order that owns `instanceId`, mapping every outcome to a result code. */
  async function operate(
    instanceId: string,
    testOrder: boolean,
    run: (workflowId: string) => Promise<OperationResult>,
    opts: { release?: boolean } = {},
  ): Promise<ServiceAnswer> {
    const [row] = await findInstances(pool, [instanceId]);
    if (!row) return { code: ResultCode.InstanceNotFound, message: 'instance not found' };
    const ids = { instanceId, workflowId: row.workflowId, orderId: row.orderId };
    try {
      const result = await withinBudget(run(row.workflowId), budgetMs);
      return { ...ids, code: result.code, ...(result.message ? { message: result.message } : {}) };
    } catch (err) {
      if (err instanceof BudgetExceeded) return { ...ids, code: ResultCode.InternalError, message: 'still processing; retry' };
      const code = rejectionCode(err);
      if (code) return { ...ids, code };
      if (isClosedWorkflowError(err)) {
        const fresh = (await findInstances(pool, [instanceId]))[0];
        return answerFromRow(fresh, { purchase: false, release: opts.release ?? false, testOrder });
      }
      throw err;
    }
  }

  const handleOf = (workflowId: string) => client.workflow.getHandle(workflowId);

  return {
    purchase,

    /** refreshInstance: renewal, renewal refund, trial conversion, renewal with change. */
    refresh(instanceId: string, req: RefreshRequest): Promise<ServiceAnswer> {
      return operate(instanceId, req.testOrder, (wf) => handleOf(wf).executeUpdate(refreshUpdate, { args: [req], updateId: `refresh-${req.orderId}` }));
    },

    /** expireInstance / instanceStatus / updateInstanceStatus. */
    setStatus(instanceId: string, req: StatusRequest): Promise<ServiceAnswer> {
      return operate(instanceId, req.testOrder, (wf) => handleOf(wf).executeUpdate(setStatusUpdate, { args: [req] }));
    },

    /** upgrade / upgradeInstance. */
    upgrade(instanceId: string, req: UpgradeRequest): Promise<ServiceAnswer> {
      return operate(instanceId, req.testOrder, (wf) => handleOf(wf).executeUpdate(upgradeUpdate, { args: [req], updateId: `upgrade-${req.orderId}` }));
    },

    /** releaseInstance: releasing a released instance succeeds. */
    release(instanceId: string, req: ReleaseRequest): Promise<ServiceAnswer> {
      return operate(instanceId, req.testOrder, (wf) => handleOf(wf).executeUpdate(releaseUpdate, { args: [req] }), { release: true });
    },

    /** queryInstance: answered from the read model (fast, and available while no worker runs). */
    async queryInstances(instanceIds: readonly string[]): Promise<ServiceAnswer> {
      const rows = await findInstanceAccess(pool, instanceIds);
      if (rows.length === 0) return { code: ResultCode.InstanceNotFound, message: 'instance not found' };
      const byId = new Map(rows.map((r) => [r.instanceId, r]));
      const info: InstanceInfo[] = [];
      for (const id of instanceIds) {
        const row = byId.get(id);
        if (!row || !READY_PHASES.has(row.phase)) continue;
        const appInfo = appInfoOf(row);
        info.push({ instanceId: row.instanceId, ...(appInfo ? { appInfo } : {}) });
      }
      // Known but not ready yet (async purchase still provisioning): tell the poller to come back.
      if (info.length === 0) {
        const provisioning = rows.some((r) => r.phase === 'PROVISIONING');
        return provisioning ? { code: ResultCode.Processing, message: 'provisioning' } : { code: ResultCode.InstanceNotFound, message: 'no live instance' };
      }
      // A single-instance query names its order in the logs like every other call about that order.
      const only = rows.length === 1 ? rows[0]! : undefined;
      return { code: ResultCode.Success, info, ...(only ? { instanceId: only.instanceId, workflowId: only.workflowId, orderId: only.orderId } : {}) };
    },

    /** changeInstanceCheck: a renewal with change is allowed for a live instance. */
    async checkChange(instanceId: string): Promise<ServiceAnswer> {
      const [row] = await findInstances(pool, [instanceId]);
      if (!row || !READY_PHASES.has(row.phase)) return { code: ResultCode.InstanceNotFound, message: 'instance not found' };
      return { code: ResultCode.Success, instanceId, workflowId: row.workflowId, orderId: row.orderId };
    },

    /** The V1 newInstance answer's appInfo for an instance. */
    async appInfoFor(instanceId: string): Promise<AppInfo | undefined> {
      const [row] = await findInstanceAccess(pool, [instanceId]);
      return row ? appInfoOf(row) : undefined;
    },
  };
}

/** The order service's type. */
export type OrderService = ReturnType<typeof createOrderService>;
