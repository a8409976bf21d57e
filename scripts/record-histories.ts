// Records the replay fixtures: runs each lifecycle path on the real Temporal dev server with the real worker,
// activities, PostgreSQL and the marketplace simulator, driven through the signed production interface, and
// exports the resulting histories into test/replay/histories/<workflow-type>/.
//
//   npx tsx scripts/record-histories.ts [--only <scenario>[,<scenario>...]] [--tag <label>] [--list]
//
// Each fixture is written as <scenario>[.<part>][.<tag>].json; rerunning overwrites the files of the same tag.
// Before a workflow change, the untagged fixtures are the record of the old code: keep them, and record the new
// code with `--tag after-<patch-id>` (docs/workflow-versioning.md). TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and
// DATABASE_URL override the defaults (local dev server, the migrated test database).
//
// Adding a workflow type (supervision, settlement, reconciliation): append recorders to RECORDERS whose
// `workflowType` names it; each returns the runs to export, and the driver waits for them and writes the files.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WithStartWorkflowOperation, WorkflowUpdateStage, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { findInstance } from '../src/db/read-model.js';
import { formatCompactUtc } from '../src/koogallery/index.js';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, purchaseUpdate, type OrderKey, type OrderWorkflowInput } from '../src/shared/order-contract.js';
import { InstanceIdKey, InterfaceVersionKey, OrderIdKey, OrderPhaseKey, TestOrderKey } from '../src/shared/search-attributes.js';
import type { CreateOrderInput, SimOrderInfo } from '../src/simulator/order-book.js';
import type { ProductionAnswer } from '../src/simulator/production-client.js';
import { patchIds } from '../test/replay/history-json.js';
import { startServiceHarness, type ServiceHarness } from '../test/support/service-harness.js';
import { RECONCILIATION_WORKFLOW_TYPE, type ReconciliationInput } from '../src/shared/reconciliation-contract.js';
import { fetchFixture, repoRelative, writeFixture, type ExportedHistory, type FetchedHistory } from './export-history.js';

/** One run to export, and the state it must be in when exported. */
interface RunToExport {
  readonly workflowId: string;
  /** Without it, the latest run (once no continue-as-new is under way). */
  readonly runId?: string;
  /** Appended to the scenario name when a scenario exports several runs. */
  readonly part?: string;
  /** COMPLETED / CONTINUED_AS_NEW: wait until closed so; RUNNING: wait until idle (no task, no activity pending). */
  readonly status: Extract<WorkflowExecutionStatusName, 'COMPLETED' | 'CONTINUED_AS_NEW' | 'RUNNING'>;
}

/** A named lifecycle path that produces the runs it wants exported. */
interface Recorder {
  readonly workflowType: string;
  readonly scenario: string;
  readonly description: string;
  record(kit: Kit): Promise<RunToExport[]>;
}

const DAY_MS = 86_400_000;
const inDays = (d: number) => formatCompactUtc(new Date(Date.now() + d * DAY_MS));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const freshId = (prefix: string) => `${prefix}${Date.now().toString(36).toUpperCase()}${randomUUID().slice(0, 6).toUpperCase()}`;

/** What recorders drive the service with: the harness, plus checked marketplace calls. */
class Kit {
  constructor(readonly h: ServiceHarness) {}

  get client(): Client {
    return this.h.client;
  }

  /** A recorded path that did not happen as intended would make a lying fixture: stop instead. */
  expectCode(a: ProductionAnswer, code: string | readonly string[], step: string): ProductionAnswer {
    const codes = typeof code === 'string' ? [code] : code;
    if (a.status !== 200 || !a.bodySignValid || !codes.includes(a.body?.resultCode)) {
      throw new Error(`${step}: expected ${codes.join('|')}, got HTTP ${a.status} ${a.rawBody.slice(0, 300)}`);
    }
    return a;
  }

  async v2(step: string, body: Record<string, unknown>, code: string | readonly string[] = '000000'): Promise<ProductionAnswer> {
    return this.expectCode(await this.h.market.v2(body), code, step);
  }

  async v1(step: string, activity: string, params: Record<string, string>, code: string | readonly string[] = '000000'): Promise<ProductionAnswer> {
    return this.expectCode(await this.h.market.v1(activity, params), code, step);
  }

  /** An order in the simulator's order book (yearly period purchase unless overridden). */
  order(extra: Partial<CreateOrderInput> = {}): SimOrderInfo {
    return this.h.marketplace.orderBook.createOrder({
      orderType: 'NEW',
      chargingMode: 'PERIOD',
      periodType: 'year',
      periodNumber: 1,
      productId: 'prod-replay',
      skuCode: 'sku-basic',
      customerId: freshId('cust-'),
      ...extra,
    });
  }

  /** V2 newInstance of a new order line. */
  async buyV2(extra: Partial<CreateOrderInput> = {}, o: { code?: string; testFlag?: '1' } = {}) {
    const order = this.order(extra);
    const line = order.orderLine[0]!.orderLineId;
    const a = await this.v2('V2 newInstance', { activity: 'newInstance', orderId: order.orderId, orderLineId: line, businessId: randomUUID(), ...(o.testFlag ? { testFlag: o.testFlag } : {}) }, o.code ?? '000000');
    const workflowId = orderWorkflowId({ kind: 'v2-line', orderId: order.orderId, orderLineId: line });
    return { order, line, workflowId, instanceId: a.body.instanceId as string, answer: a };
  }

  /** A V2 renewal order and its refreshInstance. */
  async renewV2(instanceId: string, customerId: string, expireInDays: number): Promise<void> {
    const renewal = this.order({ orderType: 'RENEW', customerId });
    await this.v2('V2 refreshInstance RENEWAL', {
      activity: 'refreshInstance',
      scene: 'RENEWAL',
      orderId: renewal.orderId,
      orderLineId: renewal.orderLine[0]!.orderLineId,
      instanceId,
      expireTime: inDays(expireInDays),
    });
  }

  /** Inline V1 newInstance parameters (yearly period purchase unless overridden; '' drops a parameter). */
  v1Params(extra: Record<string, string> = {}): Record<string, string> {
    return {
      businessId: randomUUID(),
      orderId: freshId('CSV1'),
      customerId: freshId('cust-'),
      productId: 'prod-replay-v1',
      skuCode: 'sku-basic',
      chargingMode: '1',
      periodType: 'year',
      periodNumber: '1',
      expireTime: inDays(365),
      ...extra,
    };
  }

  async buyV1(params: Record<string, string>): Promise<{ instanceId: string; workflowId: string }> {
    const a = await this.v1('V1 newInstance', 'newInstance', params);
    const instanceId = a.body.instanceId as string;
    return { instanceId, workflowId: await this.workflowIdOf(instanceId) };
  }

  async workflowIdOf(instanceId: string): Promise<string> {
    const row = await findInstance(this.h.pool, instanceId);
    if (!row) throw new Error(`no read-model row for instance ${instanceId}`);
    return row.workflowId;
  }

  async runIdOf(workflowId: string): Promise<string> {
    return (await this.client.workflow.getHandle(workflowId).describe()).runId;
  }

  /**
   * Waits until a run is closed, or open and idle: no workflow task or activity pending and the history length
   * unchanged across polls. Without a runId a continued-as-new run is not the end: its successor is waited for.
   */
  async settle(workflowId: string, runId?: string, timeoutMs = 60_000): Promise<{ status: WorkflowExecutionStatusName; runId: string; events: number }> {
    const handle = this.client.workflow.getHandle(workflowId, runId);
    const deadline = Date.now() + timeoutMs;
    let last: { runId: string; events: number } | undefined;
    for (;;) {
      const d = await handle.describe();
      const status = d.status.name;
      if (status !== 'RUNNING' && !(status === 'CONTINUED_AS_NEW' && runId === undefined)) return { status, runId: d.runId, events: d.historyLength };
      const idle = status === 'RUNNING' && !d.raw.pendingWorkflowTask && (d.raw.pendingActivities?.length ?? 0) === 0;
      if (idle && last && last.runId === d.runId && last.events === d.historyLength) return { status, runId: d.runId, events: d.historyLength };
      last = idle ? { runId: d.runId, events: d.historyLength } : undefined;
      if (Date.now() > deadline) throw new Error(`${workflowId} did not settle within ${timeoutMs} ms (status ${status}, ${d.historyLength} events)`);
      await sleep(300);
    }
  }
}

/** The order workflow's lifecycle paths (one fixture each, named by scenario). */
const orderRecorders: Recorder[] = [
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-period-purchase-to-release',
    description: 'V2 yearly purchase → queryInstance → renewal → freeze → unfreeze → release (and a repeated release)',
    async record(k) {
      const { workflowId, instanceId, order } = await k.buyV2();
      await k.v2('V2 queryInstance', { activity: 'queryInstance', instanceId });
      await k.renewV2(instanceId, order.buyerInfo.customerId, 730);
      await k.v2('V2 FREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' });
      await k.v2('V2 UNFREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' });
      await k.v2('V2 releaseInstance', { activity: 'releaseInstance', instanceId });
      await k.v2('V2 releaseInstance (again)', { activity: 'releaseInstance', instanceId });
      return [{ workflowId, status: 'COMPLETED' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v1-period-purchase-to-release',
    description: 'V1 yearly newInstance → queryInstance → expireInstance → renewal lifts the expiry → releaseInstance',
    async record(k) {
      const params = k.v1Params();
      const { instanceId, workflowId } = await k.buyV1(params);
      await k.v1('V1 queryInstance', 'queryInstance', { instanceId });
      await k.v1('V1 expireInstance', 'expireInstance', { instanceId, orderId: params.orderId! });
      await k.v1('V1 refreshInstance', 'refreshInstance', { instanceId, orderId: freshId('CSV1REN'), expireTime: inDays(730), periodType: 'year', periodNumber: '1', orderAmount: '1200.000' });
      await k.v1('V1 releaseInstance', 'releaseInstance', { instanceId, orderId: params.orderId! });
      return [{ workflowId, status: 'COMPLETED' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v1-on-demand',
    description: 'V1 on-demand billing item (chargingMode 0, no expiry) → releaseInstance',
    async record(k) {
      const params = k.v1Params({ chargingMode: '0', productId: 'od-replay', periodType: '', periodNumber: '', expireTime: '' });
      const { instanceId, workflowId } = await k.buyV1(params);
      if (workflowId !== orderWorkflowId({ kind: 'v1-on-demand', orderId: params.orderId!, productId: 'od-replay' })) throw new Error(`unexpected on-demand workflow id ${workflowId}`);
      await k.v1('V1 releaseInstance', 'releaseInstance', { instanceId, orderId: params.orderId! });
      return [{ workflowId, status: 'COMPLETED' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-trial-to-formal',
    description: 'V2 TRIAL order → newInstance (claims the trial) → refreshInstance TRIAL_TO_FORMAL',
    async record(k) {
      const { workflowId, instanceId } = await k.buyV2({ orderType: 'TRIAL', periodType: 'day', periodNumber: 7, orderAmount: '0' });
      await k.v2('V2 refreshInstance TRIAL_TO_FORMAL', { activity: 'refreshInstance', scene: 'TRIAL_TO_FORMAL', orderId: freshId('CST2F'), orderLineId: 'L1', instanceId, expireTime: inDays(365) });
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v1-trial-to-formal',
    description: 'V1 newInstance with trialFlag=1 → refreshInstance trialToFormal=1',
    async record(k) {
      const { instanceId, workflowId } = await k.buyV1(k.v1Params({ trialFlag: '1', periodType: '', periodNumber: '', expireTime: inDays(7) }));
      await k.v1('V1 refreshInstance trialToFormal', 'refreshInstance', { instanceId, orderId: freshId('CSV1T2F'), expireTime: inDays(30), trialToFormal: '1', periodType: 'month', periodNumber: '1', orderAmount: '100.000' });
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-upgrade',
    description: 'V2 purchase → CHANGE order with another SKU → upgradeInstance (pulls the new spec with Query Order)',
    async record(k) {
      const { workflowId, instanceId, order } = await k.buyV2({ periodType: 'month' });
      const change = k.order({ orderType: 'CHANGE', periodType: 'month', skuCode: 'sku-pro', linearValue: 50, customerId: order.buyerInfo.customerId });
      await k.v2('V2 upgradeInstance', { activity: 'upgradeInstance', instanceId, orderId: change.orderId, orderLineId: change.orderLine[0]!.orderLineId });
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v1-upgrade',
    description: 'V1 monthly newInstance → upgrade to another SKU (spec inline)',
    async record(k) {
      const { instanceId, workflowId } = await k.buyV1(k.v1Params({ periodType: 'month', expireTime: inDays(30) }));
      await k.v1('V1 upgrade', 'upgrade', { instanceId, orderId: freshId('CSV1UPG'), productId: 'prod-replay-v1', skuCode: 'sku-pro', amount: '10' });
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-renewal-refund',
    description: 'V2 yearly purchase → renewal → UNSUBSCRIBE_RENEWAL_PERIOD moves the expiry back',
    async record(k) {
      const { workflowId, instanceId, order } = await k.buyV2();
      await k.renewV2(instanceId, order.buyerInfo.customerId, 730);
      await k.v2('V2 refreshInstance UNSUBSCRIBE_RENEWAL_PERIOD', { activity: 'refreshInstance', scene: 'UNSUBSCRIBE_RENEWAL_PERIOD', orderId: freshId('CSREFUND'), orderLineId: 'L1', instanceId, expireTime: inDays(365) });
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-concurrent-renewals',
    description: 'V2 purchase → 8 different renewals and a freeze at once: the operation lock serialises them',
    async record(k) {
      const { workflowId, instanceId } = await k.buyV2();
      await Promise.all([
        ...Array.from({ length: 8 }, (_, i) =>
          k.v2(`V2 refreshInstance RENEWAL #${i}`, { activity: 'refreshInstance', scene: 'RENEWAL', orderId: freshId('CSRENEW'), orderLineId: 'L1', instanceId, expireTime: inDays(400 + i) }),
        ),
        k.v2('V2 updateInstanceStatus FREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' }),
      ]);
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-async-purchase',
    description: 'V2 purchase whose provisioning outlasts the answer budget → 000004 → queryInstance polled until ready',
    async record(k) {
      k.h.provisionerFaults.faults.delayMs('create', k.h.config.koogallery.provisionBudgetMs + 1500);
      try {
        const { workflowId, instanceId } = await k.buyV2({}, { code: '000004' });
        await k.v2('V2 queryInstance (provisioning)', { activity: 'queryInstance', instanceId }, '000004');
        for (let i = 0; ; i++) {
          const q = await k.h.market.v2({ activity: 'queryInstance', instanceId });
          if (q.body?.resultCode === '000000') break;
          if (i >= 80) throw new Error(`instance ${instanceId} never became ready`);
          await sleep(250);
        }
        return [{ workflowId, status: 'RUNNING' }];
      } finally {
        k.h.provisionerFaults.faults.reset();
      }
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-duplicate-purchases',
    description: '20 concurrent newInstance calls for one order line, each with its own businessId → one instance',
    async record(k) {
      const order = k.order();
      const line = order.orderLine[0]!.orderLineId;
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => k.h.market.v2({ activity: 'newInstance', orderId: order.orderId, orderLineId: line, businessId: randomUUID() })),
      );
      answers.forEach((a, i) => k.expectCode(a, '000000', `duplicate newInstance #${i + 1}`));
      if (new Set(answers.map((a) => a.body.instanceId)).size !== 1) throw new Error('duplicate purchases answered different instanceIds');
      return [{ workflowId: orderWorkflowId({ kind: 'v2-line', orderId: order.orderId, orderLineId: line }), status: 'RUNNING' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-second-trial-rejected',
    description: 'a customer who holds the trial benefit buys a second trial → 000105 (and again on retry); the rejected order',
    async record(k) {
      const customerId = freshId('trial-cust-');
      await k.buyV2({ orderType: 'TRIAL', periodType: 'day', periodNumber: 7, orderAmount: '0', customerId });
      const second = await k.buyV2({ orderType: 'TRIAL', periodType: 'day', periodNumber: 7, orderAmount: '0', customerId }, { code: '000105' });
      await k.v2('V2 newInstance (marketplace retry)', { activity: 'newInstance', orderId: second.order.orderId, orderLineId: second.line, businessId: randomUUID() }, '000105');
      return [{ workflowId: second.workflowId, status: 'COMPLETED' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-purchase-failed-then-released',
    description: 'newInstance for an order Query Order does not know → FAILED (000005) → releaseInstance ends it',
    async record(k) {
      const orderId = freshId('CSUNKNOWN');
      const orderLineId = `${orderId}-000001`;
      const businessId = randomUUID();
      await k.v2('V2 newInstance (unknown order)', { activity: 'newInstance', orderId, orderLineId, businessId }, '000005');
      await k.v2('V2 releaseInstance', { activity: 'releaseInstance', instanceId: businessId });
      return [{ workflowId: orderWorkflowId({ kind: 'v2-line', orderId, orderLineId }), status: 'COMPLETED' }];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-test-order-replayed',
    description: 'debug order (testFlag=1) bought, released, bought again → a second run under the same workflow id',
    async record(k) {
      const first = await k.buyV2({}, { testFlag: '1' });
      const firstRunId = await k.runIdOf(first.workflowId);
      await k.v2('V2 releaseInstance (test order)', { activity: 'releaseInstance', instanceId: first.instanceId, testFlag: '1' });
      await k.settle(first.workflowId, firstRunId);
      const again = await k.v2('V2 newInstance (test order again)', { activity: 'newInstance', orderId: first.order.orderId, orderLineId: first.line, businessId: randomUUID(), testFlag: '1' });
      if (again.body.instanceId !== first.instanceId) throw new Error('a replayed test order must keep its instanceId');
      const secondRunId = await k.runIdOf(first.workflowId);
      if (secondRunId === firstRunId) throw new Error('the replayed test order did not start a second run');
      return [
        { workflowId: first.workflowId, runId: firstRunId, part: 'first-run', status: 'COMPLETED' },
        { workflowId: first.workflowId, runId: secondRunId, part: 'second-run', status: 'RUNNING' },
      ];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-continue-as-new',
    description: 'order started with historyEventLimit 30 (update-with-start), then renewals until it continues as new',
    async record(k) {
      const order = k.order();
      const key: OrderKey = { kind: 'v2-line', orderId: order.orderId, orderLineId: order.orderLine[0]!.orderLineId };
      const workflowId = orderWorkflowId(key);
      const instanceId = randomUUID();
      const input: OrderWorkflowInput = { key, interfaceVersion: 'V2', instanceId, testOrder: false, historyEventLimit: 30 };
      // As the API starts orders (src/api/order-service.ts), plus the small history limit.
      const startWorkflowOperation = new WithStartWorkflowOperation(ORDER_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: k.h.config.temporal.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: OrderIdKey, value: key.orderId },
          { key: InstanceIdKey, value: instanceId },
          { key: OrderPhaseKey, value: 'PROVISIONING' },
          { key: TestOrderKey, value: false },
          { key: InterfaceVersionKey, value: 'V2' },
        ],
      });
      const update = await k.client.workflow.startUpdateWithStart(purchaseUpdate, {
        args: [{ businessId: instanceId, testOrder: false }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
        startWorkflowOperation,
      });
      const bought = await update.result();
      if (bought.code !== '000000') throw new Error(`purchase answered ${bought.code}`);
      // The run the purchase went to is the first run (it may already have continued as new by now).
      const firstRunId = update.workflowRunId;
      if (!firstRunId) throw new Error('update-with-start did not name its run');
      let lastRunId = firstRunId;
      const runs = new Set([firstRunId]);
      // Renew until the order has continued as new twice and its last run has itself applied a renewal on the
      // carried state (a renewal that only triggers a continue-as-new leaves a run with nothing in it yet).
      for (let i = 1; ; i++) {
        if (i > 40) throw new Error(`still ${runs.size} run(s) after ${i - 1} renewals`);
        await k.renewV2(instanceId, order.buyerInfo.customerId, 365 * (i + 1));
        lastRunId = (await k.settle(workflowId)).runId;
        const freshRun = !runs.has(lastRunId);
        runs.add(lastRunId);
        if (runs.size >= 3 && !freshRun) break;
      }
      return [
        { workflowId, runId: firstRunId, part: 'first-run', status: 'CONTINUED_AS_NEW' },
        { workflowId, runId: lastRunId, part: 'last-run', status: 'RUNNING' },
      ];
    },
  },
];

/**
 * Rerunning overwrites fixtures, but never an older code's shape with a newer one: a history that carries a patch
 * the file it would replace does not is the changed code, and belongs under `--tag after-<patch-id>`. (The old
 * fixture is deleted deliberately, once no run of its shape is open: docs/workflow-versioning.md.)
 */
function refuseToReplaceOlderShape(f: FetchedHistory): void {
  if (!existsSync(f.path)) return;
  const before = patchIds(JSON.parse(readFileSync(f.path, 'utf8')));
  const added = patchIds(JSON.parse(f.json)).filter((id) => !before.includes(id));
  if (added.length > 0) {
    throw new Error(`${repoRelative(f.path)} was recorded before patch ${added.join(', ')}; record the new code with --tag after-${added[0]} instead of replacing it`);
  }
}

/** Every recorder, in recording order. Other workflow types append theirs here. */
const reconciliationRecorders: Recorder[] = [
  {
    workflowType: RECONCILIATION_WORKFLOW_TYPE,
    scenario: 'one-run-with-drift',
    description: 'a reconciliation run over two instances, one of them with an injected read-model phase drift',
    async record(k) {
      const healthy = await k.buyV2();
      const drifted = await k.buyV2();
      // Out-of-band write: the read model claims FROZEN while the workflow is ACTIVE.
      await k.h.pool.query(`UPDATE instances SET phase = 'FROZEN' WHERE instance_id = $1`, [drifted.instanceId]);
      const workflowId = `replay-reconciliation-${randomUUID()}`;
      const input: ReconciliationInput = { pageSize: 1, instanceIds: [healthy.instanceId, drifted.instanceId] };
      await k.client.workflow.execute(RECONCILIATION_WORKFLOW_TYPE, { workflowId, taskQueue: k.h.config.temporal.taskQueue, args: [input] });
      return [{ workflowId, status: 'COMPLETED' }];
    },
  },
];

const RECORDERS: readonly Recorder[] = [...orderRecorders, ...reconciliationRecorders];

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string' }, tag: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log('usage: npx tsx scripts/record-histories.ts [--only <scenario>[,<scenario>...]] [--tag <label>] [--list]');
    return;
  }
  if (values.list) {
    for (const r of RECORDERS) console.log(`${r.workflowType}/${r.scenario}: ${r.description}`);
    return;
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((s) => !RECORDERS.some((r) => r.scenario === s)) ?? [];
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (see --list)`);
  if (values.tag !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(values.tag)) throw new Error('--tag must be kebab-case, e.g. after-<patch-id>');
  const selected = RECORDERS.filter((r) => !only || only.includes(r.scenario));

  // Worker state changes at INFO would drown the list of files written.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const h = await startServiceHarness({
    infra: {
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://koogallery:koogallery@127.0.0.1:5432/koogallery_orders_test',
      temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      temporalNamespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    },
  });
  const kit = new Kit(h);
  const written: ExportedHistory[] = [];
  try {
    for (const r of selected) {
      const runs = await r.record(kit);
      for (const run of runs) {
        const settled = await kit.settle(run.workflowId, run.runId);
        if (settled.status !== run.status) throw new Error(`${r.scenario}: ${run.workflowId} is ${settled.status}, expected ${run.status}`);
        const name = [r.scenario, run.part, values.tag].filter(Boolean).join('.');
        const fetched = await fetchFixture(kit.client, { workflowId: run.workflowId, runId: settled.runId, name });
        if (fetched.workflowType !== r.workflowType) throw new Error(`${r.scenario}: recorded a ${fetched.workflowType}, expected ${r.workflowType}`);
        refuseToReplaceOlderShape(fetched);
        const out = writeFixture(fetched);
        written.push(out);
        console.log(`wrote ${repoRelative(out.path)}  ${out.events} events  ${settled.status}${settled.status === 'RUNNING' ? ' (idle)' : ''}`);
      }
    }
  } finally {
    // Recorded runs have no worker once the harness closes: end every run still open on this harness's own task
    // queue (also after a failed recorder), so the shared dev server's open-order count is not polluted. The
    // fixtures were exported before, so they do not contain the termination.
    let ended = 0;
    for await (const wf of h.client.workflow.list({ query: `TaskQueue="${h.config.temporal.taskQueue}" AND ExecutionStatus="Running"` })) {
      await h.client.workflow.getHandle(wf.workflowId, wf.runId).terminate('replay fixture recorded').then(() => ended++, () => undefined);
    }
    console.log(`ended ${ended} recorded run(s) still open on task queue ${h.config.temporal.taskQueue}`);
    await h.close();
  }
  const events = written.reduce((n, w) => n + w.events, 0);
  console.log(`${written.length} fixture(s), ${events} events, from ${selected.length} scenario(s)${values.tag ? ` tagged ${values.tag}` : ''}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
