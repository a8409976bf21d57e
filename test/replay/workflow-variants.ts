import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Negative controls for the replay suite: deliberately incompatible versions of a workflow, generated from its
// CURRENT source by one marked edit each, so they never drift from the real workflow (hand-kept copies did: a
// later fix to the real code made the copies fail for reasons other than the edit they were meant to show).

const here = dirname(fileURLToPath(import.meta.url));
const SRC = join(here, '..', '..', 'src');
const OUT = join(here, '..', '..', '.data', 'replay-variants');

/** Which workflow a variant edits: its module under src/ and the function the module exports. */
export interface VariantTarget {
  readonly file: string;
  readonly workflow: string;
}

export const ORDER_WORKFLOW: VariantTarget = { file: 'orders/workflow.ts', workflow: 'orderWorkflow' };
export const SUPERVISION_WORKFLOW: VariantTarget = { file: 'supervision/workflow.ts', workflow: 'supervisionWorkflow' };

/**
 * One variant: a name, the workflow it edits (the order workflow unless said), and an edit that must change it.
 * With `module`, the edit applies to that module under src/ (workflow code the workflow imports) instead, and the
 * workflow is copied unchanged but for its import of the module, which points at the edited copy.
 */
export interface WorkflowVariant {
  readonly name: string;
  readonly target?: VariantTarget;
  readonly module?: string;
  readonly edit: (source: string) => string;
}

/**
 * Writes the variant next to nothing it could be confused with and returns a workflows entry to bundle. The entry
 * registers the edited workflow only: replay a variant against histories of that workflow type.
 */
export function writeVariant(v: WorkflowVariant): string {
  const target = v.target ?? ORDER_WORKFLOW;
  const editedFile = v.module ?? target.file;
  const source = readFileSync(join(SRC, editedFile), 'utf8');
  const edited = v.edit(source);
  if (edited === source) throw new Error(`variant ${v.name}: its edit no longer applies to ${editedFile}; update it`);
  // Relative imports are re-pointed at the real modules, so only the edited file differs.
  const rebase = (text: string, file: string) => text.replace(/from '\.\.\//g, `from '${SRC}/`).replace(/from '\.\//g, `from '${join(SRC, dirname(file))}/`);
  const dir = join(OUT, v.name);
  mkdirSync(dir, { recursive: true });
  if (v.module === undefined) {
    writeFileSync(join(dir, basename(target.file)), rebase(edited, target.file));
  } else {
    // The workflow's import of the module goes to the edited copy (beside it, under another name).
    const moduleCopy = `edited-${basename(v.module)}`;
    const realImport = `from '${join(SRC, v.module).replace(/\.ts$/, '.js')}'`;
    const workflow = rebase(readFileSync(join(SRC, target.file), 'utf8'), target.file);
    if (!workflow.includes(realImport)) throw new Error(`variant ${v.name}: ${target.file} does not import ${v.module}`);
    writeFileSync(join(dir, basename(target.file)), workflow.split(realImport).join(`from './${moduleCopy.replace(/\.ts$/, '.js')}'`));
    writeFileSync(join(dir, moduleCopy), rebase(edited, v.module));
  }
  writeFileSync(join(dir, 'index.ts'), `export { ${target.workflow} } from './${basename(target.file).replace(/\.ts$/, '.js')}';\n`);
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

/** The V1 supervision lookup made without its guard: every V1 purchase recorded before it (and after it) must break. */
export const unguardedV1SupervisionLookUp: WorkflowVariant = {
  name: 'unguarded-v1-supervision-look-up',
  edit: (s) => replaceOnce(s, `patched('look-up-v1-supervision-in-worker')`, `true`),
};

/**
 * The settlement lines made without their guard (every order settles, no patched() call): the settled order's
 * fixture (its marker unmatched) and every earlier order history that billed an amount must break.
 */
export const unguardedSettlementLines: WorkflowVariant = {
  name: 'unguarded-settlement-lines',
  edit: (s) => replaceOnce(s, `input.settlement && patched('settlement-lines')`, `true`),
};

const REMINDER_NOTIFIED_THEN_RECORDED = `        await notify(reminderNotifications(workflowId, input, state, now));
        await commit(reminderSent(state, nowIso()), 'REMINDER_SENT');
`;

/**
 * The supervision's reminder recorded before its notifications are enqueued (the same notices, computed first):
 * the two local activities swap places, so every history that sent a reminder breaks, and no other (the
 * auto-acceptance records first and notifies after, and is not edited).
 */
export const reminderRecordedBeforeNotified: WorkflowVariant = {
  name: 'reminder-recorded-before-notified',
  target: SUPERVISION_WORKFLOW,
  edit: (s) =>
    replaceOnce(
      s,
      REMINDER_NOTIFIED_THEN_RECORDED,
      `        const notices = reminderNotifications(workflowId, input, state, now);
        await commit(reminderSent(state, nowIso()), 'REMINDER_SENT');
        await notify(notices);
`,
    ),
};

export const NOTIFICATION_WORKFLOW: VariantTarget = { file: 'notifications/workflow.ts', workflow: 'notificationWorkflow' };

/**
 * The notification's delivery made a local activity (a plausible "optimisation": a webhook is a short call): a
 * different command where every recorded notification scheduled an activity, so every history breaks.
 */
export const deliveryAsLocalActivity: WorkflowVariant = {
  name: 'delivery-as-local-activity',
  target: NOTIFICATION_WORKFLOW,
  edit: (s) => {
    const imported = replaceOnce(s, `import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';`, `import { ActivityFailure, ApplicationFailure, proxyLocalActivities } from '@temporalio/workflow';`);
    if (imported === s) return s;
    return replaceOnce(imported, `proxyActivities<NotificationActivities>({`, `proxyLocalActivities<NotificationActivities>({`);
  },
};

export const LICENSE_INSTANCE_WORKFLOW: VariantTarget = { file: 'licenses/workflow.ts', workflow: 'licenseInstanceWorkflow' };

/**
 * LicenseCount upserted for a license found on a retry without its guard: the instance whose issue result was lost
 * before the patch (no upsert there) and after it (a marker no patched() call matches) must both break, and no
 * other license instance (none of them found a license on a retry).
 */
export const unguardedLicenseCountOnFoundLicense: WorkflowVariant = {
  name: 'unguarded-license-count-on-found-license',
  target: LICENSE_INSTANCE_WORKFLOW,
  edit: (s) => replaceOnce(s, `if (patched(UPSERT_LICENSE_COUNT_ON_FOUND_LICENSE)) upsertLedger();`, `upsertLedger();`),
};

/**
 * The purchase line written off in the store, when a supervision closes unaccepted, without patched(): a settled
 * order whose supervision closed before the patch wrote it off in the workflow only, with no activity there.
 */
export const unguardedUnacceptedLineWriteOff: WorkflowVariant = {
  name: 'unguarded-unaccepted-purchase-line-write-off',
  module: 'settlement/contract.ts',
  edit: (s) => replaceOnce(s, `if (patched('write-off-unaccepted-purchase-line-in-store')) {`, `if (true) {`),
};

/** A release's close told to the order without patched(): every supervision closed by a release before it ends silently. */
export const unguardedReleasedSupervisionSignal: WorkflowVariant = {
  name: 'unguarded-released-supervision-signal',
  target: SUPERVISION_WORKFLOW,
  edit: (s) => replaceOnce(s, `if (state.outcome === 'RELEASED' && !patched('signal-order-when-its-release-closes-supervision')) return state;`, ``),
};
