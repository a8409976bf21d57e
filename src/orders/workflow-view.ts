import type { Client } from '@temporalio/client';
import { getOrderQuery, type OrderState, type WorkflowView } from './contract.js';
import { isWorkflowGone } from '../platform/temporal/failures.js';

// Asks Temporal about one order workflow within a deadline: describe (no worker needed), then the live state by
// query when it is open, or its result (the final OrderState) when it completed. Used by GET /ops/orders/:instanceId
// and by reconciliation (through the orders service). WorkflowView is in contract.ts.

function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.slice(0, 200);
}

/** Describes, then queries (open) or reads the result (completed) of `workflowId`, each step within `timeoutMs`. */
export async function viewOrderWorkflow(client: Client, workflowId: string, timeoutMs: number): Promise<WorkflowView> {
  const handle = client.workflow.getHandle(workflowId);
  const within = <T>(fn: () => Promise<T>): Promise<T> => client.withDeadline(Date.now() + timeoutMs, fn);
  let status: string;
  try {
    status = (await within(() => handle.describe())).status.name;
  } catch (err) {
    return isWorkflowGone(err) ? { kind: 'missing' } : { kind: 'unavailable', reason: `describe failed: ${reasonOf(err)}` };
  }
  if (status === 'RUNNING') {
    try {
      const state = await within(() => handle.query(getOrderQuery));
      return { kind: 'state', open: true, status, state };
    } catch (err) {
      // The usual cause: no worker polls the order task queue right now.
      return { kind: 'unavailable', reason: `query failed: ${reasonOf(err)}` };
    }
  }
  if (status === 'COMPLETED') {
    try {
      const state = (await within(() => handle.result())) as OrderState;
      return { kind: 'state', open: false, status, state };
    } catch (err) {
      return { kind: 'unavailable', reason: `result unavailable: ${reasonOf(err)}` };
    }
  }
  return { kind: 'closed', status };
}
