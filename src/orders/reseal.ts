import type { Pool } from 'pg';
import { SealedBoxError, type SealedBox } from '../platform/sealed-box.js';
import { listSealedTenantValues, replaceSealedTenantValues, type TenantSealedColumn } from './provisioning/index.js';
import { listSealedInstanceCredentials, replaceSealedInstanceCredentials, type ResealedCell, type SealedCell } from './store.js';

// The second half of a data-encryption key rotation (README "Key rotation"): every value this context stores sealed
// is moved to the current key, so that the previous key can be dropped. Values a workflow carries in its history (a
// V1 buyer's contacts waiting for provisioning) cannot be rewritten; they are opened once, when the tenant is
// created, and the README says when no open order can still hold one.

/** A table column of sealed values, read in pages and rewritten a page at a time. */
export interface SealedColumn {
  /** `table.column`, for the report. */
  readonly name: string;
  list(afterId: string, limit: number): Promise<readonly SealedCell[]>;
  /** Writes each `sealed` where its row still holds `was`; answers the ids written (the others changed meanwhile). */
  replace(cells: readonly ResealedCell[]): Promise<ReadonlySet<string>>;
}

/** What one pass found in one column. */
export interface ColumnReport {
  readonly column: string;
  readonly scanned: number;
  /** Opened by the current key: nothing to do. */
  readonly current: number;
  /** Opened only by a previous key (rewritten unless checking). */
  readonly stale: number;
  readonly resealed: number;
  /** Stale when read, rewritten by the service before this pass could (so under the current key). */
  readonly changedMeanwhile: number;
  /** Rows whose value no configured key opens: a key missing from DATA_ENCRYPTION_PREVIOUS_KEYS, or a damaged row. */
  readonly unreadable: number;
  /** The first of those rows' ids, to look at. */
  readonly unreadableIds: readonly string[];
}

const UNREADABLE_IDS_SHOWN = 20;

/** Every sealed column of the orders context: the read model's credentials and the built-in provisioner's tenants. */
export function orderSealedColumns(pool: Pool): SealedColumn[] {
  const tenantColumn = (column: TenantSealedColumn): SealedColumn => ({
    name: `tenants.${column}`,
    list: (afterId, limit) => listSealedTenantValues(pool, column, afterId, limit),
    replace: (cells) => replaceSealedTenantValues(pool, column, cells),
  });
  return [
    {
      name: 'instances.credentials_sealed',
      list: (afterId, limit) => listSealedInstanceCredentials(pool, afterId, limit),
      replace: (cells) => replaceSealedInstanceCredentials(pool, cells),
    },
    tenantColumn('credentials_sealed'),
    tenantColumn('admin_contacts_sealed'),
  ];
}

/**
 * One pass over a column: each value the current key does not open is sealed anew under it (`write`), or only
 * counted (a check), a page at a time. Idempotent (a second pass finds nothing stale) and safe beside the running
 * service (a row is rewritten only if it still holds what was read). Errors other than an unreadable value (the database) end the pass.
 */
export async function resealColumn(column: SealedColumn, box: SealedBox, o: { write: boolean; pageSize?: number }): Promise<ColumnReport> {
  const pageSize = o.pageSize ?? 500;
  let scanned = 0;
  let current = 0;
  let stale = 0;
  let resealed = 0;
  let changedMeanwhile = 0;
  const unreadableIds: string[] = [];
  let unreadable = 0;
  let afterId = '';
  for (;;) {
    const page = await column.list(afterId, pageSize);
    const fresh: ResealedCell[] = [];
    for (const cell of page) {
      scanned++;
      let sealed: string | undefined;
      try {
        sealed = box.reseal(cell.sealed);
      } catch (err) {
        if (!(err instanceof SealedBoxError)) throw err;
        unreadable++;
        if (unreadableIds.length < UNREADABLE_IDS_SHOWN) unreadableIds.push(cell.id);
        continue;
      }
      if (sealed === undefined) {
        current++;
        continue;
      }
      stale++;
      if (o.write) fresh.push({ id: cell.id, was: cell.sealed, sealed });
    }
    // One UPDATE a page (one round trip, not one a value: 0.5 ms each, minutes a million); still compare-and-set.
    if (fresh.length > 0) {
      const written = await column.replace(fresh);
      resealed += written.size;
      changedMeanwhile += fresh.length - written.size;
    }
    if (page.length < pageSize) break;
    afterId = page[page.length - 1]!.id;
  }
  return { column: column.name, scanned, current, stale, resealed, changedMeanwhile, unreadable, unreadableIds };
}
