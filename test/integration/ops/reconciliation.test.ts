import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReconciliationActivities, type ReconciliationLogger } from '../../../src/reconciliation/activities.js';
import { ensureReconciliationSchedule } from '../../../src/reconciliation/schedule.js';
import { RECONCILIATION_WORKFLOW_TYPE, type ReconciliationInput, type ReconciliationResult } from '../../../src/reconciliation/contract.js';
import { uniqueId } from '../../setup/infra.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, lineOf } from '../../support/factories.js';

// Reconciliation against the real PostgreSQL and Temporal: drift is injected into the read model by hand (as a bad
// migration or a manual fix would), found by a reconciliation run, shown by GET /ops/drift and the gauge, and
// resolved by the next run once the row is right again. Runs are scoped to the test's instances because the
// shared test database holds other tests' orders, whose workflows have no worker any more.

let h: ServiceHarness;

beforeAll(async () => {
  h = await startServiceHarness();
});
afterAll(async () => {
  await h?.close();
});

async function ops(path: string): Promise<any> {
  const res = await fetch(`${h.internalOrigin}/ops${path}`, { headers: { authorization: `Bearer ${h.opsToken}` } });
  expect(res.status).toBe(200);
  return res.json();
}

async function buy(): Promise<{ orderId: string; instanceId: string; workflowId: string }> {
  const order = h.marketplace.orderBook.createOrder(aSimOrder({ periodType: 'month' }));
  const { instanceId } = await h.market.newInstanceV2WithAsync(order.orderId, lineOf(order).orderLineId, { retries: 0 });
  const row = (await h.pool.query('SELECT workflow_id FROM instances WHERE instance_id = $1', [instanceId])).rows[0];
  return { orderId: order.orderId, instanceId, workflowId: row.workflow_id };
}

/** Runs the reconciliation workflow on the harness worker, scoped to `instanceIds`. */
function reconcile(instanceIds: string[], extra: ReconciliationInput = {}): Promise<ReconciliationResult> {
  return h.client.workflow.execute(RECONCILIATION_WORKFLOW_TYPE, {
    taskQueue: h.config.temporal.taskQueue,
    workflowId: uniqueId('reconciliation'),
    args: [{ instanceIds, staleGraceMs: 300, ...extra } satisfies ReconciliationInput],
    workflowExecutionTimeout: '2 minutes',
  });
}

async function gauge(kind: string): Promise<number | undefined> {
  const text = await (await fetch(`${h.internalOrigin}/metrics`)).text();
  const m = new RegExp(`^koogallery_reconciliation_open_findings\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('reconciliation workflow', () => {
  it('when the read model agrees with the workflow, then a run finds nothing for the instance', async () => {
    const { instanceId } = await buy();
    const result = await reconcile([instanceId]);
    expect(result).toMatchObject({ checked: 1, unchecked: 0, newFindings: 0 });
    expect((await ops(`/drift?instanceId=${instanceId}&status=all`)).findings).toEqual([]);
  });

  it('when a row\'s phase is changed behind the workflow\'s back, then a run reports PHASE_MISMATCH (ops API and gauge), and after the fix the next run resolves it', async () => {
    const { instanceId, orderId, workflowId } = await buy();
    await h.pool.query(`UPDATE instances SET phase = 'FROZEN' WHERE instance_id = $1`, [instanceId]);

    const found = await reconcile([instanceId]);
    expect(found).toMatchObject({ checked: 1, newFindings: 1 });
    expect(found.open.PHASE_MISMATCH).toBeGreaterThanOrEqual(1);
    const drift = await ops(`/drift?instanceId=${instanceId}`);
    expect(drift.findings).toEqual([
      expect.objectContaining({
        instanceId,
        orderId,
        workflowId,
        kind: 'PHASE_MISMATCH',
        details: { readModelPhase: 'FROZEN', readModelSeq: 2, workflowPhase: 'ACTIVE', workflowSeq: 2, workflowStatus: 'RUNNING' },
        resolvedAt: null,
      }),
    ]);
    // The latest run of the whole database: ours, complete, unless another file's began since (never an older one).
    const ours = (await h.pool.query<{ startedAt: Date; complete: boolean }>(`SELECT started_at AS "startedAt", complete FROM reconciliation_runs WHERE run_key = $1`, [found.runKey])).rows[0];
    expect(ours?.complete).toBe(true);
    expect(Date.parse(drift.lastRun.startedAt)).toBeGreaterThanOrEqual(ours!.startedAt.getTime());
    if (drift.lastRun.runKey === found.runKey) expect(drift.lastRun).toMatchObject({ complete: true });
    expect((await ops(`/orders/${instanceId}`)).drift).toHaveLength(1);
    expect(await gauge('PHASE_MISMATCH')).toBeGreaterThanOrEqual(1);

    // Seen again: still one open finding, not a new one.
    expect(await reconcile([instanceId])).toMatchObject({ newFindings: 0 });
    expect((await ops(`/drift?instanceId=${instanceId}`)).findings).toHaveLength(1);

    await h.pool.query(`UPDATE instances SET phase = 'ACTIVE' WHERE instance_id = $1`, [instanceId]);
    const fixed = await reconcile([instanceId]);
    expect(fixed).toMatchObject({ checked: 1, newFindings: 0, resolved: 1 });
    expect((await ops(`/drift?instanceId=${instanceId}`)).findings).toEqual([]);
    const resolved = await ops(`/drift?instanceId=${instanceId}&status=resolved`);
    expect(resolved.findings).toEqual([expect.objectContaining({ kind: 'PHASE_MISMATCH', resolvedAt: expect.any(String) })]);
  });

  it('when the read model missed a transition, then READ_MODEL_STALE once the grace period has passed', async () => {
    const { instanceId } = await buy();
    // As if the PROVISIONED write had been lost: the row is still at the first transition.
    await h.pool.query(`UPDATE instances SET phase = 'PROVISIONING', seq = 1 WHERE instance_id = $1`, [instanceId]);
    await reconcile([instanceId]);
    const [f] = (await ops(`/drift?instanceId=${instanceId}`)).findings;
    expect(f).toMatchObject({ kind: 'READ_MODEL_STALE', details: { readModelSeq: 1, workflowSeq: 2, workflowPhase: 'ACTIVE' } });
  });

  it('when the workflow is gone or was terminated, then WORKFLOW_MISSING and WORKFLOW_CLOSED', async () => {
    const ghost = uniqueId('ghost');
    await h.pool.query(
      `INSERT INTO instances (instance_id, workflow_id, interface_version, order_id, phase, seq) VALUES ($1, $2, 'V2', $3, 'ACTIVE', 2)`,
      [ghost, `order-${ghost}`, `CS-${ghost}`],
    );
    const { instanceId, workflowId } = await buy();
    await h.client.workflow.getHandle(workflowId).terminate('reconciliation test');
    await reconcile([ghost, instanceId]);
    expect((await ops(`/drift?instanceId=${ghost}`)).findings).toEqual([expect.objectContaining({ kind: 'WORKFLOW_MISSING' })]);
    expect((await ops(`/drift?instanceId=${instanceId}`)).findings).toEqual([
      expect.objectContaining({ kind: 'WORKFLOW_CLOSED', details: expect.objectContaining({ workflowStatus: 'TERMINATED' }) }),
    ]);
  });

  it('when checkMarketplace is on and Query Order no longer knows the order, then MARKETPLACE_ORDER_MISSING', async () => {
    const { instanceId } = await buy();
    // The row now names an order the simulated marketplace never issued.
    await h.pool.query(`UPDATE instances SET order_id = $2 WHERE instance_id = $1`, [instanceId, `CS${Date.now()}`]);
    await reconcile([instanceId], { checkMarketplace: true });
    expect((await ops(`/drift?instanceId=${instanceId}`)).findings.map((f: { kind: string }) => f.kind)).toEqual(['MARKETPLACE_ORDER_MISSING']);
    // A run that does not ask the marketplace cannot tell, so it keeps the finding open.
    expect(await reconcile([instanceId])).toMatchObject({ resolved: 0 });
    expect((await ops(`/drift?instanceId=${instanceId}`)).findings).toHaveLength(1);
  });
});

describe('reconciliation activities', () => {
  it('when a finding is new, then exactly one warn line carries orderId, instanceId and workflowId; a finding seen again is not logged again', async () => {
    const { instanceId, orderId, workflowId } = await buy();
    await h.pool.query(`UPDATE instances SET phase = 'FAILED' WHERE instance_id = $1`, [instanceId]);
    const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
    const logger: ReconciliationLogger = {
      warn: (fields, msg) => lines.push({ level: 'warn', fields, msg }),
      info: (fields, msg) => lines.push({ level: 'info', fields, msg }),
    };
    const acts = createReconciliationActivities({ pool: h.pool, client: () => h.client, logger, sleep: async () => undefined });
    for (let run = 0; run < 2; run++) {
      const runKey = uniqueId('recon-direct');
      await acts.beginReconciliation({ runKey });
      const page = await acts.reconcileInstances({ runKey, pageSize: 10, checkMarketplace: false, staleGraceMs: 0, instanceIds: [instanceId] });
      expect(page).toMatchObject({ checked: 1, findings: 1, newFindings: run === 0 ? 1 : 0 });
      expect(page.next).toBeUndefined();
      await acts.finishReconciliation({ runKey, complete: true, checked: 1, unchecked: 0, newFindings: page.newFindings, instanceIds: [instanceId] });
    }
    const warns = lines.filter((l) => l.level === 'warn');
    expect(warns).toEqual([
      { level: 'warn', msg: 'reconciliation drift found', fields: expect.objectContaining({ orderId, instanceId, workflowId, kind: 'PHASE_MISMATCH' }) },
    ]);
    expect(lines.filter((l) => l.msg === 'reconciliation run finished')).toHaveLength(2);
  });

  it('when a page is full, then it names the next page, and paging covers every instance once', async () => {
    const a = await buy();
    const b = await buy();
    const c = await buy();
    const ids = [a.instanceId, b.instanceId, c.instanceId];
    const acts = createReconciliationActivities({ pool: h.pool, client: () => h.client, logger: { warn: () => undefined, info: () => undefined } });
    const runKey = uniqueId('recon-pages');
    await acts.beginReconciliation({ runKey });
    const first = await acts.reconcileInstances({ runKey, pageSize: 2, checkMarketplace: false, staleGraceMs: 0, instanceIds: ids });
    expect(first).toMatchObject({ checked: 2 });
    expect(first.next).toBe([...ids].sort()[1]);
    const second = await acts.reconcileInstances({ runKey, after: first.next!, pageSize: 2, checkMarketplace: false, staleGraceMs: 0, instanceIds: ids });
    expect(second).toMatchObject({ checked: 1 });
    expect(second.next).toBeUndefined();
  });
});

describe('reconciliation rules that need timing', () => {
  const quiet: ReconciliationLogger = { warn: () => undefined, info: () => undefined };

  it('when the read model catches up during the grace period (a write in flight), then there is no finding', async () => {
    const { instanceId } = await buy();
    await h.pool.query(`UPDATE instances SET phase = 'PROVISIONING', seq = 1 WHERE instance_id = $1`, [instanceId]);
    // The "grace period" is where the late write lands.
    const sleep = async () => void (await h.pool.query(`UPDATE instances SET phase = 'ACTIVE', seq = 2 WHERE instance_id = $1`, [instanceId]));
    const acts = createReconciliationActivities({ pool: h.pool, client: () => h.client, logger: quiet, sleep });
    const runKey = uniqueId('recon-grace');
    await acts.beginReconciliation({ runKey });
    const page = await acts.reconcileInstances({ runKey, pageSize: 10, checkMarketplace: false, staleGraceMs: 1, instanceIds: [instanceId] });
    expect(page).toMatchObject({ checked: 1, findings: 0 });
  });

  it('when a workflow cannot be asked (no worker), then the instance is unchecked and its open finding is kept, not resolved', async () => {
    const { instanceId } = await buy();
    await h.pool.query(`UPDATE instances SET phase = 'FROZEN' WHERE instance_id = $1`, [instanceId]);
    await reconcile([instanceId]);
    expect((await ops(`/drift?instanceId=${instanceId}`)).findings).toHaveLength(1);
    await h.pool.query(`UPDATE instances SET phase = 'ACTIVE' WHERE instance_id = $1`, [instanceId]);
    await h.stopWorker();
    try {
      const acts = createReconciliationActivities({ pool: h.pool, client: () => h.client, logger: quiet, workflowTimeoutMs: 500 });
      const runKey = uniqueId('recon-noworker');
      await acts.beginReconciliation({ runKey });
      const page = await acts.reconcileInstances({ runKey, pageSize: 10, checkMarketplace: false, staleGraceMs: 0, instanceIds: [instanceId] });
      expect(page).toMatchObject({ checked: 0, unchecked: 1, findings: 0 });
      const result = await acts.finishReconciliation({ runKey, complete: true, checked: 0, unchecked: 1, newFindings: 0, instanceIds: [instanceId] });
      expect(result.resolved).toBe(0);
      expect((await ops(`/drift?instanceId=${instanceId}`)).findings).toHaveLength(1);
    } finally {
      await h.startWorker();
    }
    // With the worker back, the next run sees the fixed row and resolves the finding.
    expect(await reconcile([instanceId])).toMatchObject({ checked: 1, resolved: 1 });
  });
});

describe('reconciliation schedule', () => {
  it('when ensured twice, then it is created once, updated in place, and runs the reconciliation workflow on the given task queue', async () => {
    const taskQueue = uniqueId('recon-tq');
    const first = await ensureReconciliationSchedule(h.client, { taskQueue, paused: true });
    try {
      expect(first).toEqual({ scheduleId: `koogallery-reconciliation-${taskQueue}`, created: true });
      const second = await ensureReconciliationSchedule(h.client, { taskQueue, every: '30m', paused: true });
      expect(second).toEqual({ scheduleId: first.scheduleId, created: false });
      const d = await h.client.schedule.getHandle(first.scheduleId).describe();
      expect(d.spec.intervals?.map((i) => i.every)).toEqual([30 * 60_000]);
      expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: RECONCILIATION_WORKFLOW_TYPE, taskQueue });
      expect(d.state.paused).toBe(true);
    } finally {
      await h.client.schedule.getHandle(first.scheduleId).delete();
    }
  });
});
