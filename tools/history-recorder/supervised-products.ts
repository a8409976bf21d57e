// The supervised products and terms both kits record with, and the check every supervision step makes.
import type { WorkflowHandle } from '@temporalio/client';
import type { SupervisionInput, SupervisionState, SupervisionTerms } from '../../src/supervision/contract.js';

/** Products the service kit's configuration supervises (SUPERVISED_PRODUCTS); every other product is not. */
export const HARDWARE_PRODUCT = 'prod-replay-hw';
export const GENERAL_PRODUCT = 'prod-replay-svc';
/** SUPERVISED_PRODUCTS for the service kit: only these two, so the other recorders' products record as before. */
export const SUPERVISED_PRODUCTS = `${HARDWARE_PRODUCT}=HARDWARE,${GENERAL_PRODUCT}=GENERAL`;

/** Supervision terms as configured by default (the 2024-03-05 notice: reminders from day 180, every 30 days). */
const TERMS = { reminderAfterDays: 180, reminderIntervalDays: 30, autoAcceptDays: 10 } as const;
export const HARDWARE_TERMS: SupervisionTerms = { kind: 'HARDWARE', ...TERMS };
export const GENERAL_TERMS: SupervisionTerms = { kind: 'GENERAL', ...TERMS };

export type SupervisionHandle = WorkflowHandle<(input: SupervisionInput) => Promise<SupervisionState>>;

/** Fails the recording unless the supervision's state has these fields (shallow). */
export function expectSupervision(step: string, s: SupervisionState | undefined, want: Partial<SupervisionState>): SupervisionState {
  const wrong = Object.entries(want).filter(([k, v]) => s?.[k as keyof SupervisionState] !== v);
  if (!s || wrong.length > 0) {
    throw new Error(`${step}: expected ${JSON.stringify(want)}, got ${s ? JSON.stringify(Object.fromEntries(wrong.map(([k]) => [k, s[k as keyof SupervisionState]]))) : 'no supervision'}`);
  }
  return s;
}
