import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createOrderService } from '../../../src/orders/service.js';
import type { InstanceAccessRow } from '../../../src/orders/store.js';
import { createSealedBox } from '../../../src/platform/sealed-box.js';

// queryInstance reads usage alongside the read model only while some id may be metered: a poll of period
// instances it has read before costs one query, not two (bench B3); an instance that turns out metered is still
// answered with its usage.

const row = (instanceId: string, chargingMode: string | null): InstanceAccessRow => ({
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

function serviceOver(rows: Map<string, InstanceAccessRow>) {
  const usageCalls: Array<{ ids: readonly string[]; reportedOnly: boolean }> = [];
  const pool = {
    query: async (_sql: string, [ids]: [string[]]) => ({ rows: ids.flatMap((id) => (rows.has(id) ? [rows.get(id)!] : [])) }),
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
  return { service, usageCalls };
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
