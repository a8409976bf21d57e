import { describe, expect, it } from 'vitest';
import { compareWithMarketplace, compareWithWorkflow, marketplaceCheckApplies, type ReconciledInstance, type WorkflowView } from '../../../src/reconciliation/compare.js';
import type { OrderState } from '../../../src/orders/contract.js';

// The comparison rules of reconciliation, one per branch: the workflow's seq is the truth about how far the
// order went, the read model's seq about how far it was written.

const row: ReconciledInstance = {
  instanceId: 'inst-1',
  workflowId: 'order-CS1-line-CS1-000001',
  orderId: 'CS1',
  orderLineId: 'CS1-000001',
  interfaceVersion: 'V2',
  phase: 'ACTIVE',
  seq: 2,
  testOrder: false,
};

const state = (phase: OrderState['phase'], seq: number): OrderState => ({
  instanceId: row.instanceId,
  key: { kind: 'v2-line', orderId: 'CS1', orderLineId: 'CS1-000001' },
  interfaceVersion: 'V2',
  testOrder: false,
  phase,
  freezeReasons: [],
  appliedOrderIds: [],
  seq,
});

const open = (phase: OrderState['phase'], seq: number): WorkflowView => ({ kind: 'state', open: true, status: 'RUNNING', state: state(phase, seq) });
const completed = (phase: OrderState['phase'], seq: number): WorkflowView => ({ kind: 'state', open: false, status: 'COMPLETED', state: state(phase, seq) });

describe('compareWithWorkflow', () => {
  it('when phase and seq agree, then the instance is consistent', () => {
    expect(compareWithWorkflow(row, open('ACTIVE', 2))).toEqual({ kind: 'consistent' });
  });

  it('when the seqs agree but the phases do not (an out-of-band write), then PHASE_MISMATCH with both sides', () => {
    const c = compareWithWorkflow({ ...row, phase: 'FROZEN' }, open('ACTIVE', 2));
    expect(c).toEqual({
      kind: 'drift',
      finding: {
        instanceId: 'inst-1',
        workflowId: row.workflowId,
        orderId: 'CS1',
        kind: 'PHASE_MISMATCH',
        details: { readModelPhase: 'FROZEN', readModelSeq: 2, workflowPhase: 'ACTIVE', workflowSeq: 2, workflowStatus: 'RUNNING' },
      },
    });
  });

  it('when an open workflow is ahead of the read model, then it is only "behind" (re-checked after a grace), not yet drift', () => {
    const c = compareWithWorkflow(row, open('FROZEN', 3));
    expect(c.kind).toBe('behind');
    expect(c.kind === 'behind' && c.finding.kind).toBe('READ_MODEL_STALE');
  });

  it('when a closed workflow is ahead of the read model, then READ_MODEL_STALE at once (nothing is in flight any more)', () => {
    const c = compareWithWorkflow(row, completed('RELEASED', 3));
    expect(c.kind).toBe('drift');
    expect(c.kind === 'drift' && c.finding).toMatchObject({ kind: 'READ_MODEL_STALE', details: { workflowPhase: 'RELEASED', workflowStatus: 'COMPLETED' } });
  });

  it('when the read model is ahead of the workflow (a reset), then READ_MODEL_AHEAD', () => {
    const c = compareWithWorkflow(row, open('ACTIVE', 1));
    expect(c.kind === 'drift' && c.finding.kind).toBe('READ_MODEL_AHEAD');
  });

  it('when a completed workflow ended in the phase the read model shows, then consistent (a closed workflow counts as its last state)', () => {
    expect(compareWithWorkflow({ ...row, phase: 'FAILED', seq: 4 }, completed('FAILED', 4))).toEqual({ kind: 'consistent' });
  });

  it('when there is no workflow, then WORKFLOW_MISSING', () => {
    const c = compareWithWorkflow(row, { kind: 'missing' });
    expect(c.kind === 'drift' && c.finding).toMatchObject({ kind: 'WORKFLOW_MISSING', details: { readModelPhase: 'ACTIVE', readModelSeq: 2 } });
  });

  it('when the workflow was terminated, then WORKFLOW_CLOSED with its status', () => {
    const c = compareWithWorkflow(row, { kind: 'closed', status: 'TERMINATED' });
    expect(c.kind === 'drift' && c.finding).toMatchObject({ kind: 'WORKFLOW_CLOSED', details: { workflowStatus: 'TERMINATED' } });
  });

  it('when the workflow cannot be asked, then the instance is unchecked, not drifted', () => {
    expect(compareWithWorkflow(row, { kind: 'unavailable', reason: 'query failed: deadline' })).toEqual({ kind: 'unchecked', reason: 'query failed: deadline' });
  });
});

describe('compareWithMarketplace', () => {
  it('when Query Order says the order does not exist, then MARKETPLACE_ORDER_MISSING; when it is found or unreachable, then nothing', () => {
    expect(compareWithMarketplace(row, { kind: 'missing', message: 'order not found' })).toMatchObject({ kind: 'MARKETPLACE_ORDER_MISSING', details: { orderLineId: 'CS1-000001' } });
    expect(compareWithMarketplace(row, { kind: 'found' })).toBeUndefined();
    expect(compareWithMarketplace(row, { kind: 'error', code: 'MARKETPLACE_UNAVAILABLE' })).toBeUndefined();
  });

  it('when the order is V1 or a dial test, then Query Order is not asked', () => {
    expect(marketplaceCheckApplies(row)).toBe(true);
    expect(marketplaceCheckApplies({ ...row, interfaceVersion: 'V1', orderLineId: null })).toBe(false);
    expect(marketplaceCheckApplies({ ...row, testOrder: true })).toBe(false);
  });
});
