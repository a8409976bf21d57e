import { WithStartWorkflowOperation, WorkflowUpdateStage, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { ResultCode, defaultResultMessage } from '../koogallery/index.js';
import { ORDER_REJECTION_TYPE } from '../orders/contract.js';
import { InstanceIdKey, OrderPhaseKey, TestOrderKey } from '../kernel/search-attributes.js';
import { lookupWindowMs, tooLateToStart, withDeadline } from '../platform/deadline.js';
import { classifyTemporalFailure } from '../platform/temporal/failures.js';
import { findLicenseCode } from './code-store.js';
import { LICENSE_CODE_WORKFLOW_TYPE, activateCodeUpdate, heartbeatCodeUpdate, licenseCodeWorkflowId, refreshCodeUpdate, releaseCodeUpdate, setCodeStatusUpdate } from './contract.js';
import type { CodeClientAnswer, CodeClientRequest, CodeOperationResult, CodeStatusRequest, RefreshCodeRequest, ReleaseCodeRequest } from './contract.js';
import type { LicenseOutcome } from './service.js';

// The license-code use cases: the client software's activation and heartbeats (an activation starts the code's
// workflow with update-with-start), and the marketplace's refresh / status / release of an activated code.

/** What the license-code service needs. */
export interface LicenseCodeServiceDeps {
  readonly client: Client;
  readonly pool: Pool;
  readonly taskQueue: string;
  /** How long a call may wait for the code's workflow (inside the marketplace's 5 s). */
  readonly budgetMs: number;
}

/** A client answer, or "try again" when the workflow (or the marketplace behind it) did not answer in time. */
export type CodeClientOutcome = CodeClientAnswer | { readonly outcome: 'RETRY' | 'NOT_ACTIVATED'; readonly message: string };

class BudgetExceeded extends Error {}

/** The result code a code workflow's validator chose (its ApplicationFailure's first detail). */
function refusedCode(details: readonly unknown[] | undefined | null): ResultCode {
  const code = details?.[0];
  return typeof code === 'string' && (Object.values(ResultCode) as string[]).includes(code) ? (code as ResultCode) : ResultCode.InternalError;
}

/** Creates the license-code service. */
export function createLicenseCodeService(deps: LicenseCodeServiceDeps) {
  const { client, pool, taskQueue, budgetMs } = deps;
  const withinBudget = <T>(p: Promise<T>, ms = budgetMs) => withDeadline(p, ms, () => new BudgetExceeded(`no answer within ${ms} ms`));

  async function clientCall(fn: () => Promise<CodeClientAnswer>): Promise<CodeClientOutcome> {
    try {
      return await withinBudget(fn());
    } catch (err) {
      if (err instanceof BudgetExceeded) return { outcome: 'RETRY', message: 'still processing; retry' };
      throw err;
    }
  }

  /**
   * Runs a marketplace operation on an activated code, mapping every outcome to a result code. Its budget counts
   * from the call's arrival (`receivedAt`, epoch ms), as every marketplace call's does.
   */
  async function operate(
    code: string,
    testOrder: boolean,
    receivedAt: number,
    run: (workflowId: string) => Promise<CodeOperationResult>,
    release = false,
  ): Promise<LicenseOutcome> {
    const deadline = receivedAt + budgetMs;
    const retry = (ids?: LicenseOutcome['ids']): LicenseOutcome => ({ code: ResultCode.InternalError, message: 'still processing; retry', ...(ids ? { ids } : {}) });
    let row: Awaited<ReturnType<typeof findLicenseCode>>;
    try {
      row = await withinBudget(findLicenseCode(pool, code), lookupWindowMs(deadline));
    } catch (err) {
      if (err instanceof BudgetExceeded) return retry();
      throw err;
    }
    // §7.2: "an unknown code → 000003" (the code id not found); a code never activated here is unknown to us.
    if (!row) return { code: ResultCode.InstanceNotFound, message: 'license code not found' };
    const ids = { instanceId: code, workflowId: row.workflowId, ...(row.orderId ? { orderId: row.orderId } : {}) };
    // An update sent with no time to answer would be applied behind a 000005: leave it to the marketplace's retry.
    if (tooLateToStart(deadline)) return retry(ids);
    try {
      const r = await withinBudget(run(row.workflowId), deadline - Date.now());
      return { code: r.code, message: r.message ?? defaultResultMessage(r.code), ids };
    } catch (err) {
      if (err instanceof BudgetExceeded) return retry(ids);
      const failure = classifyTemporalFailure(err, ORDER_REJECTION_TYPE);
      if (failure.kind === 'update-refused') return { code: refusedCode(failure.failure.details), message: failure.failure.message, ids };
      if (failure.kind !== 'workflow-gone') throw err;
      // Released, its run closed: a repeated release succeeds, anything else finds no code (debug calls succeed).
      const ok = release || testOrder || row.testOrder;
      return { code: ok ? ResultCode.Success : ResultCode.InstanceNotFound, message: 'license code released', ids };
    }
  }

  const handleOf = (workflowId: string) => client.workflow.getHandle(workflowId);

  return {
    /** Activation by the client software: starts the code's workflow, or joins it. */
    activate(code: string, req: CodeClientRequest): Promise<CodeClientOutcome> {
      const startWorkflowOperation = new WithStartWorkflowOperation(LICENSE_CODE_WORKFLOW_TYPE, {
        workflowId: licenseCodeWorkflowId(code),
        taskQueue,
        args: [{ code, testOrder: false }],
        // Concurrent activations join the one run; a refused or released code's closed run may be started again.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: [
          { key: InstanceIdKey, value: code },
          { key: OrderPhaseKey, value: 'PROVISIONING' },
          { key: TestOrderKey, value: false },
        ],
        staticSummary: `License code ${code}`,
      });
      return clientCall(async () => {
        const handle = await client.workflow.startUpdateWithStart(activateCodeUpdate, { args: [req], waitForStage: WorkflowUpdateStage.ACCEPTED, startWorkflowOperation });
        return handle.result();
      });
    },

    /** A heartbeat of the client software: the current license of an activated code. */
    async heartbeat(code: string, req: CodeClientRequest): Promise<CodeClientOutcome> {
      const row = await findLicenseCode(pool, code);
      if (!row) return { outcome: 'NOT_ACTIVATED', message: 'license code not activated here' };
      try {
        return await clientCall(() => handleOf(row.workflowId).executeUpdate(heartbeatCodeUpdate, { args: [req] }));
      } catch (err) {
        if (classifyTemporalFailure(err, ORDER_REJECTION_TYPE).kind === 'workflow-gone') return { outcome: 'RELEASED', message: 'license code released' };
        throw err;
      }
    },

    /** refreshLicenseCode (`receivedAt`: when the call arrived, epoch ms). */
    refresh(code: string, req: RefreshCodeRequest, receivedAt: number = Date.now()): Promise<LicenseOutcome> {
      return operate(code, req.testOrder, receivedAt, (wf) => handleOf(wf).executeUpdate(refreshCodeUpdate, { args: [req], updateId: `refresh-${req.orderId}` }));
    },

    /** updateLicenseCodeStatus. */
    setStatus(code: string, req: CodeStatusRequest, receivedAt: number = Date.now()): Promise<LicenseOutcome> {
      return operate(code, req.testOrder, receivedAt, (wf) => handleOf(wf).executeUpdate(setCodeStatusUpdate, { args: [req] }));
    },

    /** releaseLicenseCode: releasing a released code succeeds. */
    release(code: string, req: ReleaseCodeRequest, receivedAt: number = Date.now()): Promise<LicenseOutcome> {
      return operate(code, req.testOrder, receivedAt, (wf) => handleOf(wf).executeUpdate(releaseCodeUpdate, { args: [req] }), true);
    },
  };
}

/** The license-code service's type. */
export type LicenseCodeService = ReturnType<typeof createLicenseCodeService>;
