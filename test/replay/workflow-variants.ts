import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Negative controls for the replay suite: deliberately incompatible versions of the order workflow, generated from
// its CURRENT source by one marked edit each, so they never drift from the real workflow (hand-kept copies did: a
// later fix to the real code made the copies fail for reasons other than the edit they were meant to show).

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(here, '..', '..', 'src', 'workflows', 'order-workflow.ts');
const OUT = join(here, '..', '..', '.data', 'replay-variants');

/** One variant: a name and an edit that must change the source (else the variant would test nothing). */
export interface WorkflowVariant {
  readonly name: string;
  readonly edit: (source: string) => string;
}

/** Writes the variant next to nothing it could be confused with and returns a workflows entry to bundle. */
export function writeVariant(v: WorkflowVariant): string {
  const source = readFileSync(SOURCE, 'utf8');
  const edited = v.edit(source);
  if (edited === source) throw new Error(`variant ${v.name}: its edit no longer applies to order-workflow.ts; update it`);
  const srcDir = join(here, '..', '..', 'src');
  // Relative imports are re-pointed at the real modules, so only the edited workflow differs.
  const rebased = edited.replace(/from '\.\.\//g, `from '${srcDir}/`).replace(/from '\.\//g, `from '${srcDir}/workflows/`);
  const dir = join(OUT, v.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'order-workflow.ts'), rebased);
  writeFileSync(join(dir, 'index.ts'), `export { orderWorkflow } from './order-workflow.js';\n`);
  return join(dir, 'index.ts');
}

function replaceOnce(source: string, from: string, to: string): string {
  const at = source.indexOf(from);
  if (at < 0 || source.indexOf(from, at + 1) >= 0) return source; // not found or ambiguous: writeVariant reports it
  return source.slice(0, at) + to + source.slice(at + from.length);
}

const PURCHASE_RECEIVED_BLOCK = `    if (!purchaseRecorded) {
      purchaseRecorded = true;
      await transition(state, 'PURCHASE_RECEIVED');
    }
`;

/** Query Order moved before the PURCHASE_RECEIVED write: V2 histories break, V1 ones (no Query Order) do not. */
export const swappedQueryOrder: WorkflowVariant = {
  name: 'swapped-query-order',
  edit: (s) => {
    const without = replaceOnce(s, PURCHASE_RECEIVED_BLOCK, '');
    if (without === s) return s;
    // Written right after the purchase's details are known (inside the try, after the V2 fetch).
    return replaceOnce(without, `      if (details.trial && details.customerId && details.productId) {`, `${PURCHASE_RECEIVED_BLOCK.replace(/^ {4}/gm, '      ')}      if (details.trial && details.customerId && details.productId) {`);
  },
};

/** The example patch made without its guard: histories recorded before it (and after it) must break. */
export const unguardedDetailsUpsert: WorkflowVariant = {
  name: 'unguarded-details-upsert',
  edit: (s) => replaceOnce(s, `if (patched('upsert-details-after-query-order')) {`, `if (true) {`),
};
