import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { ResultCode, defaultResultMessage, type ProductionCommand } from '../koogallery/index.js';
import { orderWorkflowId, ORDER_REJECTION_TYPE } from '../orders/contract.js';
import type { InstanceWorkflow } from '../orders/service.js';
import { lookupWindowMs, tooLateToStart, withDeadline } from '../platform/deadline.js';
import { createKeyedLimiter } from '../platform/keyed-limiter.js';
import { classifyTemporalFailure } from '../platform/temporal/failures.js';
import { LICENSE_INSTANCE_WORKFLOW_TYPE, isLicenseInstanceWorkflowId, issueLicenseUpdate, licenseInstanceWorkflowId, type LicenseRequest } from './contract.js';
import { findInstanceIdByWorkflowId, findLicenseTarget } from './store.js';

// The license use cases. Instances are orders: the order service runs their marketplace commands, configured to
// start a license instance workflow (runOrderLifecycle with a license ledger) instead of an order workflow, so both
// production URLs behave alike. Issuing goes to the instance's workflow as an update, after a look into the read
// model that answers repeats without it.

/** Purchases of License products start this workflow (the order service's instanceWorkflow). */
export const LICENSE_INSTANCE_WORKFLOW: InstanceWorkflow = {
  type: LICENSE_INSTANCE_WORKFLOW_TYPE,
  id: (key) => licenseInstanceWorkflowId(orderWorkflowId(key)),
  label: (interfaceVersion) => (interfaceVersion === 'V1' ? 'V1 License' : 'Online License'),
};

/** What the license service needs. */
export interface LicenseServiceDeps {
  readonly client: Client;
  readonly pool: Pool;
  /**
   * Runs a marketplace command with the order service whose purchases start license instances (instanceWorkflow:
   * LICENSE_INSTANCE_WORKFLOW), answered as the SaaS interface answers it (the orders context's answers.ts); composed
   * by src/main.
   */
  readonly runCommand: (
    c: ProductionCommand,
    call: { readonly receivedAt: number },
  ) => Promise<{ readonly code: ResultCode; readonly body: Record<string, unknown>; readonly ids?: LicenseIds }>;
  /**
   * How long a license call may wait for its workflow before a retryable answer (inside the marketplace's 5 s),
   * counted from the call's arrival: a V1 getLicense's purchase and issue share it.
   */
  readonly budgetMs: number;
}

/** The ids an answer concerns, for logs. */
export interface LicenseIds {
  readonly instanceId?: string;
  readonly workflowId?: string;
  readonly orderId?: string;
}

/** An answer to a License call, before wire formatting. */
export interface LicenseOutcome {
  readonly code: ResultCode;
  readonly message: string;
  /** The compact JWS, for 000000 of a license request. */
  readonly license?: string;
  readonly licenseId?: string;
  readonly ids?: LicenseIds;
}

const GONE = new Set(['RELEASED', 'FAILED', 'REJECTED']);
/**
 * Issue updates one API process sends one instance at a time. Temporal allows 10 in-flight updates per workflow and
 * refuses more (RESOURCE_EXHAUSTED, which the client retries after a second: too late for the marketplace's 5 s);
 * 5 leaves room for a second API replica.
 */
const ISSUES_IN_FLIGHT_PER_INSTANCE = 5;

class BudgetExceeded extends Error {}

const outcome = (code: ResultCode, message: string | undefined, rest: Omit<LicenseOutcome, 'code' | 'message'> = {}): LicenseOutcome => ({
  code,
  message: message ?? defaultResultMessage(code),
  ...rest,
});

/** Creates the license service. */
export function createLicenseService(deps: LicenseServiceDeps) {
  const { client, pool, budgetMs } = deps;
  const limiter = createKeyedLimiter(ISSUES_IN_FLIGHT_PER_INSTANCE);

  /**
   * Runs a marketplace command on a license instance, answered as the SaaS interface answers it; `receivedAt`: when
   * the call arrived (epoch ms), from which its budget counts.
   */
  async function command(c: ProductionCommand, receivedAt: number = Date.now()): Promise<LicenseOutcome> {
    const a = await deps.runCommand(c, { receivedAt });
    const message = typeof a.body['resultMsg'] === 'string' ? a.body['resultMsg'] : undefined;
    return outcome(a.code, message, a.ids ? { ids: a.ids } : {});
  }

  /** The instance of a V1 License purchase order (V1 calls after getLicense may name only the order). */
  async function instanceOfV1Order(orderId: string): Promise<string | undefined> {
    return findInstanceIdByWorkflowId(pool, LICENSE_INSTANCE_WORKFLOW.id({ kind: 'v1-order', orderId }));
  }

  /**
   * Issues the license for a request, or returns the one issued before (byte for byte). `receivedAt`: when the call
   * arrived (epoch ms), from which its budget counts.
   */
  async function issue(instanceId: string, req: LicenseRequest, receivedAt: number = Date.now()): Promise<LicenseOutcome> {
    const deadline = receivedAt + budgetMs;
    let found: Awaited<ReturnType<typeof findLicenseTarget>>;
    try {
      found = await withDeadline(findLicenseTarget(pool, instanceId, req.eventId, req.deviceFingerprint), lookupWindowMs(deadline), () => new BudgetExceeded('no read within the budget'));
    } catch (err) {
      if (err instanceof BudgetExceeded) return outcome(ResultCode.InternalError, 'still processing; retry', { ids: { instanceId } });
      throw err;
    }
    // An instance of another product (a SaaS order) has no licenses: for this interface it does not exist.
    if (!found || !isLicenseInstanceWorkflowId(found.workflowId)) return outcome(ResultCode.InstanceNotFound, 'instance not found');
    const ids = { instanceId, workflowId: found.workflowId, orderId: found.orderId };
    if (GONE.has(found.phase)) return outcome(ResultCode.InstanceNotFound, `instance ${found.phase.toLowerCase()}`, { ids });
    // A repeat: the stored bytes, without the workflow (a frozen instance still answers repeats: they are not new).
    if (found.token && found.licenseId) return outcome(ResultCode.Success, undefined, { ids, license: found.token, licenseId: found.licenseId });
    const update = () =>
      limiter.run(instanceId, async () => {
        // Waited its turn past the budget (or too near it to be answered): the marketplace has been told, or will be,
        // to retry; do not issue behind its back.
        if (tooLateToStart(deadline)) throw new BudgetExceeded('waited past the budget');
        return client.workflow.getHandle(found.workflowId).executeUpdate(issueLicenseUpdate, { args: [req] });
      });

    /** A refusal; a quota or freeze refusal of a request that got its license meanwhile is answered with it. */
    async function refusal(code: ResultCode, message?: string): Promise<LicenseOutcome> {
      if (code === ResultCode.LicenseQuotaExceeded || code === ResultCode.LicenseInstanceFrozen) {
        const again = await findLicenseTarget(pool, instanceId, req.eventId, req.deviceFingerprint);
        if (again?.token && again.licenseId) return outcome(ResultCode.Success, undefined, { ids, license: again.token, licenseId: again.licenseId });
      }
      return outcome(code, message, { ids });
    }

    // Twice at most: a run that continued as new while the update was on its way refuses it as closed.
    for (let attempt = 0; ; attempt++) {
      try {
        const a = await withDeadline(update(), Math.max(1, deadline - Date.now()), () => new BudgetExceeded('no answer within the budget'));
        if (a.code === '000000') return outcome(ResultCode.Success, a.message, { ids, license: a.license!, licenseId: a.licenseId! });
        return await refusal(a.code, a.message);
      } catch (err) {
        if (err instanceof BudgetExceeded) return outcome(ResultCode.InternalError, 'still processing; retry', { ids });
        const failure = classifyTemporalFailure(err, ORDER_REJECTION_TYPE);
        if (failure.kind === 'update-refused') return await refusal(refusedCode(failure.failure.details), failure.failure.message);
        if (failure.kind !== 'workflow-gone') throw err;
        const now = await findLicenseTarget(pool, instanceId, req.eventId, req.deviceFingerprint);
        if (attempt > 0 || !now || GONE.has(now.phase)) return outcome(ResultCode.InstanceNotFound, 'instance no longer exists', { ids });
        if (now.token && now.licenseId) return outcome(ResultCode.Success, undefined, { ids, license: now.token, licenseId: now.licenseId });
      }
    }
  }

  return { command, issue, instanceOfV1Order };
}

/** The result code a license instance's validator chose (its ApplicationFailure's first detail), if it is one. */
function refusedCode(details: readonly unknown[] | undefined | null): ResultCode {
  const code = details?.[0];
  return typeof code === 'string' && (Object.values(ResultCode) as string[]).includes(code) ? (code as ResultCode) : ResultCode.InternalError;
}

/** The license service's type. */
export type LicenseService = ReturnType<typeof createLicenseService>;
