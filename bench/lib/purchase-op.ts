import { WithStartWorkflowOperation, WorkflowUpdateStage, type Client } from '@temporalio/client';
import { instanceIdFor } from '../../src/api/order-service.js';
import {
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  purchaseUpdate,
  type InterfaceVersion,
  type OperationResult,
  type OrderDetails,
  type OrderKey,
  type OrderWorkflowInput,
} from '../../src/shared/order-contract.js';
import { InstanceIdKey, InterfaceVersionKey, OrderIdKey, OrderPhaseKey, TestOrderKey } from '../../src/shared/search-attributes.js';

// The purchase exactly as src/api/order-service.ts `purchase()` sends it to Temporal (update-with-start of
// purchaseUpdate, same ids, policies, search attributes and summaries), minus its budget timer and the read-model
// lookups that only test orders make. KEEP IN SYNC with order-service.ts: it builds the operation inline, so the
// bench cannot call it (see bench/README.md, "product changes": export the builder and this file goes away).

/** One purchase to send. */
export interface PurchaseSpec {
  readonly key: OrderKey;
  readonly interfaceVersion: InterfaceVersion;
  readonly businessId: string;
  readonly details?: OrderDetails;
}

/** Sends one purchase by update-with-start and waits for its answer (provisioning finished). */
export async function purchaseViaClient(client: Client, taskQueue: string, p: PurchaseSpec): Promise<OperationResult> {
  const workflowId = orderWorkflowId(p.key);
  const instanceId = instanceIdFor(p.businessId);
  const input: OrderWorkflowInput = { key: p.key, interfaceVersion: p.interfaceVersion, instanceId, testOrder: false, ...(p.details ? { details: p.details } : {}) };
  const startWorkflowOperation = new WithStartWorkflowOperation(ORDER_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: OrderIdKey, value: p.key.orderId },
      { key: InstanceIdKey, value: instanceId },
      { key: OrderPhaseKey, value: 'PROVISIONING' },
      { key: TestOrderKey, value: false },
      { key: InterfaceVersionKey, value: p.interfaceVersion },
    ],
    staticSummary: `${p.interfaceVersion} order ${p.key.orderId}${p.key.kind === 'v2-line' ? ` line ${p.key.orderLineId}` : ''}`,
    staticDetails: `instanceId \`${instanceId}\` · first businessId \`${p.businessId}\``,
  });
  const handle = await client.workflow.startUpdateWithStart(purchaseUpdate, {
    args: [{ businessId: p.businessId, testOrder: false }],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
    startWorkflowOperation,
  });
  return handle.result();
}
