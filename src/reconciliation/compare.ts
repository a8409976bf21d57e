import type { OrderPhase } from '../orders/contract.js';
import type { WorkflowView } from '../orders/contract.js';
import { DriftKind, type DriftFinding } from './contract.js';

export type { WorkflowView };

// The comparison itself, free of I/O: one read-model row against what its workflow (and the marketplace) said.

/** The read-model columns reconciliation compares. */
export interface ReconciledInstance {
  readonly instanceId: string;
  readonly workflowId: string;
  readonly orderId: string;
  readonly orderLineId: string | null;
  readonly interfaceVersion: 'V1' | 'V2';
  readonly phase: OrderPhase;
  readonly seq: number;
  readonly testOrder: boolean;
}

/** The outcome of comparing one instance with its workflow. */
export type WorkflowComparison =
  | { readonly kind: 'consistent' }
  | { readonly kind: 'unchecked'; readonly reason: string }
  /** The read model is behind an open workflow: maybe a transition being written right now. Check again after a grace period. */
  | { readonly kind: 'behind'; readonly finding: DriftFinding }
  | { readonly kind: 'drift'; readonly finding: DriftFinding };

/** What Query Order said about the instance's order, when it was asked. */
export type MarketplaceView = { readonly kind: 'found' } | { readonly kind: 'missing'; readonly message: string } | { readonly kind: 'error'; readonly code: string };

function finding(row: ReconciledInstance, kind: DriftKind, details: Record<string, unknown>): DriftFinding {
  return { instanceId: row.instanceId, workflowId: row.workflowId, orderId: row.orderId, kind, details: { readModelPhase: row.phase, readModelSeq: row.seq, ...details } };
}

/**
 * Compares a read-model row with its workflow. The workflow is the source of truth: its `seq` counts transitions,
 * and the read model only ever accepts a newer seq, so
 *   - workflow seq > row seq: the read model missed transitions (stale; for an open workflow possibly in flight);
 *   - row seq > workflow seq: the workflow was reset, and the read model will ignore its writes until it catches up;
 *   - equal seq but another phase: the row was written out of band.
 */
export function compareWithWorkflow(row: ReconciledInstance, view: WorkflowView): WorkflowComparison {
  switch (view.kind) {
    case 'unavailable':
      return { kind: 'unchecked', reason: view.reason };
    case 'missing':
      return { kind: 'drift', finding: finding(row, DriftKind.WorkflowMissing, {}) };
    case 'closed':
      return { kind: 'drift', finding: finding(row, DriftKind.WorkflowClosed, { workflowStatus: view.status }) };
    case 'state': {
      const s = view.state;
      const wf = { workflowPhase: s.phase, workflowSeq: s.seq, workflowStatus: view.status };
      if (s.seq > row.seq) {
        const f = finding(row, DriftKind.ReadModelStale, wf);
        return view.open ? { kind: 'behind', finding: f } : { kind: 'drift', finding: f };
      }
      if (s.seq < row.seq) return { kind: 'drift', finding: finding(row, DriftKind.ReadModelAhead, wf) };
      if (s.phase !== row.phase) return { kind: 'drift', finding: finding(row, DriftKind.PhaseMismatch, wf) };
      return { kind: 'consistent' };
    }
  }
}

/** Compares with Query Order: only "no such order" is drift; an unavailable marketplace is not. */
export function compareWithMarketplace(row: ReconciledInstance, view: MarketplaceView): DriftFinding | undefined {
  if (view.kind !== 'missing') return undefined;
  return finding(row, DriftKind.MarketplaceOrderMissing, { orderLineId: row.orderLineId, marketplace: view.message.slice(0, 200) });
}

/** Whether Query Order applies to an instance: V2 orders (V1 pushes its orders inline) that are not dial tests. */
export function marketplaceCheckApplies(row: ReconciledInstance): boolean {
  return row.interfaceVersion === 'V2' && !row.testOrder && row.orderLineId !== null;
}
