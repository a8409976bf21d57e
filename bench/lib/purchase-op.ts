import { WorkflowUpdateStage, type Client } from '@temporalio/client';
import { instanceIdFor, purchaseStartOperation } from '../../src/orders/service.js';
import { purchaseUpdate, type InterfaceVersion, type OperationResult, type OrderDetails, type OrderKey } from '../../src/orders/contract.js';

// The purchase as src/api/order-service.ts `purchase()` sends it to Temporal: the product's own start operation
// (purchaseStartOperation) and update, minus the budget timer and the read-model lookups only test orders make.

/** One purchase to send. */
export interface PurchaseSpec {
  readonly key: OrderKey;
  readonly interfaceVersion: InterfaceVersion;
  readonly businessId: string;
  readonly details?: OrderDetails;
}

/** Sends one purchase by update-with-start and waits for its answer (provisioning finished). */
export async function purchaseViaClient(client: Client, taskQueue: string, p: PurchaseSpec): Promise<OperationResult> {
  const startWorkflowOperation = purchaseStartOperation(taskQueue, { ...p, testOrder: false }, instanceIdFor(p.businessId));
  const handle = await client.workflow.startUpdateWithStart(purchaseUpdate, {
    args: [{ businessId: p.businessId, testOrder: false }],
    waitForStage: WorkflowUpdateStage.ACCEPTED,
    startWorkflowOperation,
  });
  return handle.result();
}
