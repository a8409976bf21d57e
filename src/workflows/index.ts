// The workflow bundle's entry: every workflow type the worker registers. Names exported here are wire contracts.
export { orderWorkflow } from './order-workflow.js';
