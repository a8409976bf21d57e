import { expect } from 'vitest';

/** One page of an ops list endpoint (keyset paging: `nextCursor` null on the last page). */
export interface OpsPage<T> {
  readonly status: number;
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/**
 * Walks an ops list page after page by `nextCursor`, from `o.from` (a cursor) or the first page, until the last page or
 * until `o.enough` is true of what was read; each page must answer 200. At most `o.maxPages` (default 200) pages.
 */
export async function readPages<T>(
  page: (cursor: string | null) => Promise<OpsPage<T>>,
  o: { readonly from?: string; readonly enough?: (items: readonly T[]) => boolean; readonly maxPages?: number } = {},
): Promise<T[]> {
  const items: T[] = [];
  let cursor = o.from ?? null;
  for (let n = 0; n < (o.maxPages ?? 200); n += 1) {
    const p = await page(cursor);
    expect(p.status).toBe(200);
    items.push(...p.items);
    cursor = p.nextCursor;
    if (!cursor || o.enough?.(items)) return items;
  }
  throw new Error(`more than ${o.maxPages ?? 200} pages`);
}
