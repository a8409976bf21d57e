// B6's second floor: the minimal workflow inside a bundle that also carries every workflow of the service
// (src/workflows.ts), so that replaying the same minimal histories with it shows what the bundle alone costs per
// history (the SDK evaluates the bundle in each workflow's context) apart from what our workflow code costs per event.
export * from '../../src/workflows.js';
export { minimalWorkflow } from './minimal.js';
