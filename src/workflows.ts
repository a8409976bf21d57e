// The workflow bundle's entry: every workflow type the worker registers. Names exported here are wire contracts.
export { orderWorkflow } from './orders/workflow.js';
// Reconciliation (ops): started by the `koogallery-reconciliation` Schedule on the order task queue.
export { reconciliationWorkflow } from './reconciliation/workflow.js';
// Service supervision (§9): a child of a supervised order, started after provisioning.
export { supervisionWorkflow } from './supervision/workflow.js';
// License products (issue #13): an Online License or V1 License instance (the order lifecycle plus its licenses).
export { licenseInstanceWorkflow } from './licenses/workflow.js';
// License codes (授权码 2.0): one workflow per code activated through this service.
export { licenseCodeWorkflow } from './licenses/workflow.js';
// Notifications: one run per message and channel, started by the supervision's enqueueNotifications activity.
export { notificationWorkflow } from './notifications/workflow.js';
// Settlement (§10): the monthly run (started by the `koogallery-settlement` Schedule) and one statement per period
// and settlement type.
export { monthlySettlementWorkflow, settlementStatementWorkflow } from './settlement/workflow.js';
// Metering: the usage push, started by the `koogallery-metering-push` Schedule and by POST /ops/metering/push.
export { meteringPushWorkflow } from './metering/workflow.js';
// Metering: one per package instance, started by usage intake at its first threshold crossing (signal-with-start).
export { packageWorkflow } from './metering/workflow.js';
