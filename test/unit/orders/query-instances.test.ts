import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createOrderService } from '../../../src/orders/service.js';
import type { InstanceAccessRow } from '../../../src/orders/store.js';
import { createSealedBox } from '../../../src/platform/sealed-box.js';

// queryInstance reads usage alongside the read model only while some id may be metered: a poll of period
// instances it has read before costs one query, not two (bench B3); an instance that turns out metered is still
// answered with its usage.

let writes = 0;
const row = (instanceId: string, chargingMode: string | null): InstanceAccessRow => ({
  version: String(++writes),
  instanceId,
  workflowId: `wf-${instanceId}`,
  orderId: `o-${instanceId}`,
  phase: 'ACTIVE',
  chargingMode,
  frontEndUrl: 'https://app.example.com',
  adminUrl: null,
  memo: null,
  credentialsSealed: null,
});

/**
 * The order service over `rows`, recording each read of the pool (whole access rows, or versions only) and each
 * usage read.
 */
function serviceOver(rows: Map<string, InstanceAccessRow>) {
  const usageCalls: Array<{ ids: readonly string[]; reportedOnly: boolean }> = [];
  const reads: Array<{ kind: 'rows' | 'versions'; ids: string[] }> = [];
  const pool = {
    query: async (sql: string, [ids]: [string[]]) => {
      const kind = sql.includes('credentials_sealed') ? 'rows' : 'versions';
      reads.push({ kind, ids });
      const found = ids.flatMap((id) => (rows.has(id) ? [rows.get(id)!] : []));
      return { rows: kind === 'rows' ? found : found.map((r) => ({ instanceId: r.instanceId, version: r.version })) };
    },
  } as unknown as Pool;
  const service = createOrderService({
    client: undefined as never,
    pool,
    taskQueue: 'unused',
    accessKey: 'ak-for-the-test',
    sealedBox: createSealedBox('data-encryption-key-for-the-unit-test'),
    budgetMs: 1000,
    usageOf: async (ids, o) => {
      usageCalls.push({ ids, reportedOnly: o?.reportedOnly ?? false });
      return new Map(ids.filter((id) => rows.get(id)?.chargingMode === 'ON_DEMAND').map((id) => [id, { chargingMode: 'ON_DEMAND', usedAmount: '7' }]));
    },
  });
  return { service, usageCalls, reads };
}

describe('queryInstance and the usage read', () => {
  it('skips the usage read once every id is known to be period-charged', async () => {
    const { service, usageCalls } = serviceOver(new Map([['p1', row('p1', 'PERIOD')], ['p2', row('p2', 'ONE_TIME')]]));
    const first = await service.queryInstances(['p1', 'p2']);
    expect(first.kind).toBe('instances');
    expect(usageCalls).toHaveLength(1);
    const again = await service.queryInstances(['p2', 'p1']);
    expect(again).toEqual(first.kind === 'instances' ? { ...first, info: [...first.info].reverse() } : first);
    expect(usageCalls).toHaveLength(1);
  });

  it('reads usage whenever an id is metered, new, or stored without a charging mode', async () => {
    const rows = new Map([['p1', row('p1', 'PERIOD')], ['d1', row('d1', 'ON_DEMAND')], ['n1', row('n1', null)]]);
    const { service, usageCalls } = serviceOver(rows);
    await service.queryInstances(['p1', 'd1']);
    const withMetered = await service.queryInstances(['p1', 'd1']);
    expect(usageCalls.filter((c) => c.reportedOnly)).toHaveLength(2);
    expect(withMetered.kind === 'instances' && withMetered.info.find((i) => i.instanceId === 'd1')?.usage).toEqual({ chargingMode: 'ON_DEMAND', usedAmount: '7' });
    await service.queryInstances(['n1']);
    await service.queryInstances(['n1']);
    await service.queryInstances(['p1', 'never-seen']);
    expect(usageCalls.filter((c) => c.reportedOnly)).toHaveLength(5);
  });

  it('answers the usage of an instance read as period before and metered now', async () => {
    const rows = new Map([['x1', row('x1', 'PERIOD')]]);
    const { service, usageCalls } = serviceOver(rows);
    await service.queryInstances(['x1']);
    rows.set('x1', row('x1', 'ON_DEMAND'));
    const now = await service.queryInstances(['x1']);
    // The alongside read was skipped; the late read (after the row) found the usage.
    expect(usageCalls).toEqual([{ ids: ['x1'], reportedOnly: true }, { ids: ['x1'], reportedOnly: false }]);
    expect(now.kind === 'instances' && now.info[0]?.usage).toEqual({ chargingMode: 'ON_DEMAND', usedAmount: '7' });
    await service.queryInstances(['x1']);
    expect(usageCalls.at(-1)).toEqual({ ids: ['x1'], reportedOnly: true });
  });
});

describe('queryInstance and the rows it has read before', () => {
  const urls = (o: Awaited<ReturnType<ReturnType<typeof createOrderService>['queryInstances']>>) =>
    o.kind === 'instances' ? o.info.map((i) => `${i.instanceId} ${i.appInfo?.frontEndUrl}`) : o.kind;

  it('reads only the versions of rows it holds, and answers the same', async () => {
    const rows = new Map([['a', row('a', 'PERIOD')], ['b', row('b', 'PERIOD')]]);
    const { service, reads } = serviceOver(rows);
    const first = await service.queryInstances(['a', 'b']);
    const again = await service.queryInstances(['b', 'a']);
    expect(reads.map((r) => r.kind)).toEqual(['rows', 'versions']);
    expect(urls(again)).toEqual([...urls(first)].reverse());
  });

  it('reads again, and answers, a row whose version moved; drops one gone; reads outright when an id is new', async () => {
    const rows = new Map([['a', row('a', 'PERIOD')], ['b', row('b', 'PERIOD')], ['c', row('c', 'PERIOD')]]);
    const { service, reads } = serviceOver(rows);
    await service.queryInstances(['a', 'b', 'c']);
    rows.set('b', { ...row('b', 'PERIOD'), frontEndUrl: 'https://moved.example.com' });
    rows.delete('c');
    const after = await service.queryInstances(['a', 'b', 'c']);
    expect(reads.slice(1)).toEqual([
      { kind: 'versions', ids: ['a', 'b', 'c'] },
      { kind: 'rows', ids: ['b'] },
    ]);
    expect(urls(after)).toEqual(['a https://app.example.com', 'b https://moved.example.com']);
    await service.queryInstances(['a', 'new']);
    expect(reads.at(-1)).toEqual({ kind: 'rows', ids: ['a', 'new'] });
  });

  it('when polls arrive while a version read is in flight, then they share the next one and each gets its own instances', async () => {
    const rows = new Map([['a', row('a', 'PERIOD')], ['b', row('b', 'PERIOD')], ['c', row('c', 'PERIOD')]]);
    const { service, reads } = serviceOver(rows);
    await service.queryInstances(['a', 'b', 'c']);
    const polls = await Promise.all([service.queryInstances(['a']), service.queryInstances(['b']), service.queryInstances(['c', 'a'])]);
    // The first went alone; the two that came while it was in flight, together (each id once).
    expect(reads.slice(1)).toEqual([
      { kind: 'versions', ids: ['a'] },
      { kind: 'versions', ids: ['b', 'c', 'a'] },
    ]);
    expect(polls.map(urls)).toEqual([['a https://app.example.com'], ['b https://app.example.com'], ['c https://app.example.com', 'a https://app.example.com']]);
  });

  it('answers a row that moved to a phase not ready any more as not ready, though it held it ready', async () => {
    const rows = new Map([['a', row('a', 'PERIOD')]]);
    const { service } = serviceOver(rows);
    expect((await service.queryInstances(['a'])).kind).toBe('instances');
    rows.set('a', { ...row('a', 'PERIOD'), phase: 'RELEASED' });
    expect((await service.queryInstances(['a'])).kind).toBe('instance-not-found');
  });
});
