// Records the replay fixtures: runs each lifecycle path with the real workflow code and exports the resulting
// histories into test/replay/histories/<workflow-type>/. Two kinds of recorder, by what the path needs:
//
// - service recorders (ServiceKit) run on the real Temporal dev server with the real worker, activities,
//   PostgreSQL and the marketplace simulator, driven through the signed production interface, the order
//   notification and the ops API: every path that happens in seconds.
// - time-skipping recorders (TimeSkippingKit) run on Temporal's Java time-skipping test server with the real
//   workflow bundle and in-memory activities: paths measured in days (hardware auto-acceptance 10 days after the
//   sign-for, 180-day reminders, an appeal that freezes the clock, continue-as-new after years of reminders),
//   which cannot be recorded in real time. Time moves only in the recorder's own `sleepDays`.
//
//   npx tsx tools/history-recorder/record-histories.ts [--only <scenario>[,<scenario>...]] [--tag [<workflow-type>:]<label>]... [--list]
//
// Each fixture is written as <scenario>[.<part>][.<tag>].json; rerunning overwrites the files of the same tag.
// Before a workflow change, the untagged fixtures are the record of the old code: keep them, and record the new
// code with `--tag after-<patch-id>` (docs/workflow-versioning.md). A patch belongs to one workflow type, and a
// scenario may export runs of several (an order and its supervision child): `--tag orderWorkflow:after-<patch-id>`
// tags that type's fixtures only, a tag without a type tags every fixture written. TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE and DATABASE_URL override the service recorders' defaults (local dev server, the migrated test
// database); TEMPORAL_TEST_SERVER the time-skipping server (scripts/infra/test-server.ts resolves it otherwise).
// Only the kinds of server the selected scenarios need are started.
//
// Adding a workflow type (settlement, ...): append recorders to RECORDERS whose `workflowType` names it; each
// returns the runs to export (a run of another type, such as a child, names its own `workflowType`), and the
// driver waits for them and writes the files.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  WithStartWorkflowOperation,
  WorkflowUpdateStage,
  type Client,
  type WorkflowExecutionStatusName,
  type WorkflowHandle,
} from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { OrderActivities } from '../../src/orders/activities.js';
import type { SupervisionActivities } from '../../src/supervision/activities.js';
import { findInstance } from '../../src/orders/store.js';
import { formatCompactUtc } from '../../src/koogallery/index.js';
import {
  getOrderQuery,
  ORDER_WORKFLOW_TYPE,
  orderWorkflowId,
  purchaseUpdate,
  type OrderDetails,
  type OrderKey,
  type OrderState,
  type OrderWorkflowInput,
} from '../../src/orders/contract.js';
import { InstanceIdKey, InterfaceVersionKey, OrderIdKey, OrderPhaseKey, TestOrderKey } from '../../src/kernel/search-attributes.js';
import {
  getSupervisionQuery,
  SUPERVISION_WORKFLOW_TYPE,
  supervisionActionUpdate,
  supervisionWorkflowId,
  type NotificationRequest,
  type ServicePeriod,
  type SupervisionAction,
  type SupervisionInput,
  type SupervisionNode,
  type SupervisionState,
  type SupervisionTerms,
} from '../../src/supervision/contract.js';
import type { CreateOrderInput, SimOrderInfo, SimSupervisionEventInput } from '../simulator/order-book.js';
import type { ProductionAnswer } from '../simulator/production-client.js';
import { patchIds } from '../../test/replay/history-json.js';
import { quietBundlerLogger } from '../../test/support/quiet-logger.js';
import { startServiceHarness, type ServiceHarness } from '../../test/support/service-harness.js';
import { RECONCILIATION_WORKFLOW_TYPE, type ReconciliationInput } from '../../src/reconciliation/contract.js';
import { fetchFixture, repoRelative, writeFixture, type ExportedHistory, type FetchedHistory } from './export-history.js';
import { addMissingSearchAttributes } from '../../scripts/infra/dev-server.js';
import { ensureTimeSkippingServer } from '../../scripts/infra/test-server.js';

/** One run to export, and the state it must be in when exported. */
interface RunToExport {
  readonly workflowId: string;
  /** Without it, the latest run (once no continue-as-new is under way). */
  readonly runId?: string;
  /** Appended to the scenario name when a scenario exports several runs of one workflow type. */
  readonly part?: string;
  /** A run of another type than the recorder's (e.g. the supervision child of an order): filed under that type. */
  readonly workflowType?: string;
  /** COMPLETED / CONTINUED_AS_NEW: wait until closed so; RUNNING: wait until idle (no task, no activity pending). */
  readonly status: Extract<WorkflowExecutionStatusName, 'COMPLETED' | 'CONTINUED_AS_NEW' | 'RUNNING'>;
}

/** How a run was found once it had settled. */
interface Settled {
  readonly status: WorkflowExecutionStatusName;
  readonly runId: string;
  readonly events: number;
}

/** What the driver needs from either kind of kit: a client on the kit's server and a way to wait for a run. */
interface RecordingKit {
  readonly client: Client;
  settle(workflowId: string, runId?: string, timeoutMs?: number): Promise<Settled>;
}

/** A named lifecycle path that produces the runs it wants exported, driven with kit K. */
interface Recorder<K extends RecordingKit> {
  readonly workflowType: string;
  readonly scenario: string;
  readonly description: string;
  record(kit: K): Promise<RunToExport[]>;
}

/** A recorder and the kind of kit (hence server) it runs on. */
type AnyRecorder = (Recorder<ServiceKit> & { readonly kit: 'service' }) | (Recorder<TimeSkippingKit> & { readonly kit: 'time-skipping' });

const DAY_MS = 86_400_000;
const inDays = (d: number) => formatCompactUtc(new Date(Date.now() + d * DAY_MS));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const freshId = (prefix: string) => `${prefix}${Date.now().toString(36).toUpperCase()}${randomUUID().slice(0, 6).toUpperCase()}`;

/** Products the service recorders' configuration supervises (SUPERVISED_PRODUCTS); every other product is not. */
const HARDWARE_PRODUCT = 'prod-replay-hw';
const GENERAL_PRODUCT = 'prod-replay-svc';

/** Polls until `probe` answers something; a recorded path that stalls must stop the recorder, not hang it. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(150);
  }
}

/** Fails the recording unless the supervision's state has these fields (shallow). */
function expectSupervision(step: string, s: SupervisionState | undefined, want: Partial<SupervisionState>): SupervisionState {
  const wrong = Object.entries(want).filter(([k, v]) => s?.[k as keyof SupervisionState] !== v);
  if (!s || wrong.length > 0) {
    throw new Error(`${step}: expected ${JSON.stringify(want)}, got ${s ? JSON.stringify(Object.fromEntries(wrong.map(([k]) => [k, s[k as keyof SupervisionState]]))) : 'no supervision'}`);
  }
  return s;
}

type SupervisionHandle = WorkflowHandle<(input: SupervisionInput) => Promise<SupervisionState>>;

/** What service recorders drive the service with: the harness, plus checked marketplace and ops calls. */
class ServiceKit implements RecordingKit {
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

  /** A V2 purchase of a supervised product, once its supervision child is up (at `node`). */
  async buySupervisedV2(productId: string, node: SupervisionNode, extra: Partial<CreateOrderInput> = {}) {
    const bought = await this.buyV2({ productId, skuCode: `${productId}-sku`, ...extra });
    const supervisionId = supervisionWorkflowId(bought.workflowId);
    await until(`supervision ${supervisionId} to start`, async () => {
      const s = await this.supervisionState(supervisionId).catch(() => undefined);
      return s?.seq ? s : undefined;
    });
    expectSupervision('supervision started', await this.supervisionState(supervisionId), { node });
    return { ...bought, orderId: bought.order.orderId, supervisionId };
  }

  /** The supervision's state: live while it runs, its result once it has ended. */
  async supervisionState(supervisionId: string): Promise<SupervisionState> {
    const h = this.client.workflow.getHandle(supervisionId) as SupervisionHandle;
    const { status } = await h.describe();
    return status.name === 'RUNNING' ? h.query(getSupervisionQuery) : h.result();
  }

  orderState(workflowId: string): Promise<OrderState> {
    return this.client.workflow.getHandle(workflowId).query(getOrderQuery);
  }

  /**
   * A merchant action through the ops API (`POST /ops/supervision/:orderId/actions`, bearer token), which must be
   * answered `status`; on 200 the supervision must then be at `node`.
   */
  async merchant(step: string, orderId: string, action: Record<string, unknown>, expect: { status?: number; node?: SupervisionNode } = {}): Promise<Record<string, any>> {
    const res = await fetch(`${new URL(this.h.baseUrl).origin}/ops/supervision/${encodeURIComponent(orderId)}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.h.config.opsApiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(action),
    });
    const json = (await res.json()) as Record<string, any>;
    const status = expect.status ?? 200;
    if (res.status !== status) throw new Error(`${step}: expected HTTP ${status}, got ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    if (status === 200 && expect.node && json.state?.node !== expect.node) throw new Error(`${step}: expected node ${expect.node}, got ${json.state?.node}`);
    return json;
  }

  /**
   * User-side events as the marketplace reports them: added to the order's supervision block, then the signed
   * order notification (which reads the order back with Query Order). The notification answers 000000 even when
   * an event is refused, so the supervision's node is what proves the step happened.
   */
  async userEvents(step: string, o: { orderId: string; line: string; supervisionId: string }, events: SimSupervisionEventInput[], node: SupervisionNode): Promise<SupervisionState> {
    this.h.marketplace.orderBook.addSupervisionEvents(o.orderId, { events: events.map((e) => ({ orderLineId: o.line, ...e })) });
    this.expectCode(await this.h.market.orderNotification({ orderId: o.orderId, orderLineId: o.line }), '000000', step);
    return expectSupervision(step, await this.supervisionState(o.supervisionId), { node });
  }

  /**
   * Waits until a run is closed, or open and idle: no workflow task or activity pending and the history length
   * unchanged across polls. Without a runId a continued-as-new run is not the end: its successor is waited for.
   */
  async settle(workflowId: string, runId?: string, timeoutMs = 60_000): Promise<Settled> {
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

/** Supervision terms as configured by default (the 2024-03-05 notice: reminders from day 180, every 30 days). */
const TERMS = { reminderAfterDays: 180, reminderIntervalDays: 30, autoAcceptDays: 10 } as const;
const HARDWARE_TERMS: SupervisionTerms = { kind: 'HARDWARE', ...TERMS };
const GENERAL_TERMS: SupervisionTerms = { kind: 'GENERAL', ...TERMS };

/**
 * What time-skipping recorders drive supervision with: the Java time-skipping test server, one worker on the real
 * workflow bundle, and in-memory activities (the supervision's record and notifications, and just enough of the
 * order's for a V1 order to provision and start its supervision as a child, as in production).
 */
class TimeSkippingKit implements RecordingKit {
  /** Every notification the supervisions asked for, to check a recorded path did what it claims. */
  readonly notifications: NotificationRequest[] = [];
  /** The merchant's catalogue as the in-memory worker reads it: the terms each supervised product is sold with. */
  readonly catalogue = new Map<string, SupervisionTerms>();
  private worker?: Worker;
  private running?: Promise<void>;

  private constructor(
    readonly env: TestWorkflowEnvironment,
    readonly taskQueue: string,
  ) {}

  static async start(): Promise<TimeSkippingKit> {
    const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: ensureTimeSkippingServer() } } });
    const kit = new TimeSkippingKit(env, `replay-recorder-${randomUUID()}`);
    try {
      // The Java test server knows no custom search attributes until told; both workflows upsert ours.
      await addMissingSearchAttributes(env.connection, env.namespace ?? 'default');
      const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_ENTRY, logger: quietBundlerLogger });
      const supervision: SupervisionActivities = {
        recordSupervision: async () => undefined,
        enqueueNotifications: async (requests) => {
          kit.notifications.push(...requests);
          return requests.length;
        },
      };
      const order: Partial<OrderActivities> = {
        lookUpSupervisionTerms: async (i) => {
          const terms = i.productId === undefined ? undefined : kit.catalogue.get(i.productId);
          return terms ? { terms } : {};
        },
        provisionTenant: async (i) => ({ frontEndUrl: `https://${i.instanceId}.tenants.test`, credentialsSealed: 'sealed' }),
        removeTenant: async () => undefined,
        recordTransition: async () => undefined,
      };
      kit.worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue: kit.taskQueue,
        workflowBundle: { code },
        activities: { ...order, ...supervision },
      });
      kit.running = kit.worker.run();
      return kit;
    } catch (err) {
      await kit.close();
      throw err;
    }
  }

  get client(): Client {
    return this.env.client;
  }

  async close(): Promise<void> {
    if (this.worker?.getState() === 'RUNNING') this.worker.shutdown();
    await this.running?.catch(() => undefined);
    await this.env.teardown();
  }

  /** Lets `days` pass on the server's clock; every timer due meanwhile fires and its workflow task completes. */
  async sleepDays(days: number): Promise<void> {
    await this.env.sleep(days * DAY_MS);
  }

  /**
   * A V1 order of a supervised product (details inline, as V1 sends them; the worker finds the terms in its
   * catalogue), started as the API would; resolves once its supervision child has started.
   */
  async supervisedOrder(terms: SupervisionTerms, period?: ServicePeriod): Promise<{ orderWorkflowId: string; supervision: SupervisionHandle }> {
    const orderId = freshId('CSTS');
    const productId = terms.kind === 'HARDWARE' ? HARDWARE_PRODUCT : GENERAL_PRODUCT;
    this.catalogue.set(productId, terms);
    const details: OrderDetails = {
      customerId: freshId('cust-'),
      productId,
      chargingMode: period ? 'PERIOD' : 'ONE_TIME',
      ...(period ? { periodType: period.periodType, periodNumber: period.periodNumber, expireTime: new Date(Date.now() + 400 * DAY_MS).toISOString() } : {}),
      trial: false,
      spec: {},
    };
    const key: OrderKey = { kind: 'v1-order', orderId };
    const input: OrderWorkflowInput = { key, interfaceVersion: 'V1', instanceId: randomUUID(), testOrder: false, details };
    const orderWorkflow = orderWorkflowId(key);
    await this.client.workflow.start(ORDER_WORKFLOW_TYPE, { taskQueue: this.taskQueue, workflowId: orderWorkflow, args: [input] });
    const supervision = this.client.workflow.getHandle(supervisionWorkflowId(orderWorkflow)) as SupervisionHandle;
    await until(`supervision of ${orderWorkflow} to start`, async () => ((await supervision.query(getSupervisionQuery).catch(() => undefined))?.seq ? true : undefined));
    return { orderWorkflowId: orderWorkflow, supervision };
  }

  /** A supervision started on its own (for input an order does not pass, such as a small historyEventLimit). */
  async supervisionAlone(terms: SupervisionTerms, extra: Partial<SupervisionInput> = {}): Promise<SupervisionHandle> {
    const orderId = freshId('CSTS');
    const key: OrderKey = { kind: 'v2-line', orderId, orderLineId: `${orderId}-000001` };
    const input: SupervisionInput = { orderWorkflowId: orderWorkflowId(key), instanceId: randomUUID(), key, terms, testOrder: false, customerId: freshId('cust-'), productId: GENERAL_PRODUCT, ...extra };
    return this.client.workflow.start(SUPERVISION_WORKFLOW_TYPE, { taskQueue: this.taskQueue, workflowId: supervisionWorkflowId(input.orderWorkflowId), args: [input] }) as Promise<SupervisionHandle>;
  }

  /** An action that must be applied (as the ops API and the order notification send it: the validated update). */
  async act(step: string, h: SupervisionHandle, action: SupervisionAction, want: Partial<SupervisionState> = {}): Promise<SupervisionState> {
    const r = await h.executeUpdate(supervisionActionUpdate, { args: [action] });
    if (!r.applied) throw new Error(`${step}: not applied (a duplicate?)`);
    return expectSupervision(step, r.state, want);
  }

  async state(step: string, h: SupervisionHandle, want: Partial<SupervisionState>): Promise<SupervisionState> {
    return expectSupervision(step, await h.query(getSupervisionQuery), want);
  }

  notesOf(h: { workflowId: string }, kind: string): NotificationRequest[] {
    return this.notifications.filter((n) => n.kind === kind && n.dedupeKey.startsWith(`${h.workflowId}:`));
  }

  /**
   * Waits until a run is closed, or open and idle: no workflow task or activity pending and its history unchanged
   * across polls. Whether a workflow task is pending is read from the history's last event, so the wait does not
   * depend on which describe fields the test server fills. Time never moves here: only sleepDays moves it.
   */
  async settle(workflowId: string, runId?: string, timeoutMs = 60_000): Promise<Settled> {
    const deadline = Date.now() + timeoutMs;
    let last: { runId: string; events: number } | undefined;
    for (;;) {
      const d = await this.client.workflow.getHandle(workflowId, runId).describe();
      const status = d.status.name;
      const events = (await this.client.workflow.getHandle(workflowId, d.runId).fetchHistory()).events ?? [];
      if (status !== 'RUNNING' && !(status === 'CONTINUED_AS_NEW' && runId === undefined)) return { status, runId: d.runId, events: events.length };
      const tail = events.at(-1);
      const taskPending = !!(tail?.workflowTaskScheduledEventAttributes || tail?.workflowTaskStartedEventAttributes);
      const idle = status === 'RUNNING' && !taskPending && (d.raw.pendingActivities?.length ?? 0) === 0;
      if (idle && last && last.runId === d.runId && last.events === events.length) return { status, runId: d.runId, events: events.length };
      last = idle ? { runId: d.runId, events: events.length } : undefined;
      if (Date.now() > deadline) throw new Error(`${workflowId} did not settle within ${timeoutMs} ms (status ${status}, ${events.length} events)`);
      await sleep(300);
    }
  }
}

const WORKFLOWS_ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'workflows.ts');

/** The order workflow's lifecycle paths (one fixture each, named by scenario). */
const orderRecorders: Recorder<ServiceKit>[] = [
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
    scenario: 'v1-general-supervised-released',
    description:
      'V1 monthly newInstance of a GENERAL-supervised product: the worker finds the terms (the API sends none) → supervision child → releaseInstance before acceptance closes it RELEASED; exports both',
    async record(k) {
      const params = k.v1Params({ productId: GENERAL_PRODUCT, skuCode: `${GENERAL_PRODUCT}-sku`, periodType: 'month', expireTime: inDays(30) });
      const { instanceId, workflowId } = await k.buyV1(params);
      const supervisionId = supervisionWorkflowId(workflowId);
      await until(`supervision ${supervisionId} to start`, async () => {
        const s = await k.supervisionState(supervisionId).catch(() => undefined);
        return s?.seq ? s : undefined;
      });
      expectSupervision('supervision started', await k.supervisionState(supervisionId), { node: 'REQUIREMENT_SUBMISSION' });
      await k.v1('V1 releaseInstance', 'releaseInstance', { instanceId, orderId: params.orderId! });
      const closed = await k.settle(supervisionId);
      if (closed.status !== 'COMPLETED') throw new Error(`supervision ${supervisionId} is ${closed.status} after the release`);
      expectSupervision('supervision closed by the release', await k.supervisionState(supervisionId), { node: 'CLOSED', outcome: 'RELEASED' });
      return [
        { workflowId, status: 'COMPLETED' },
        { workflowId: supervisionId, workflowType: SUPERVISION_WORKFLOW_TYPE, status: 'COMPLETED' },
      ];
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
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-hardware-supervised-to-release',
    description:
      'V2 purchase of a HARDWARE-supervised product → supervision child → shipment (ops API) → sign-for and acceptance (order notifications) → supervisionEnded → releaseInstance; exports the order and its supervision',
    async record(k) {
      const o = await k.buySupervisedV2(HARDWARE_PRODUCT, 'IMPLEMENTATION', { mobilePhone: '13800001234' });
      await k.merchant('ops RECORD_SHIPMENT', o.orderId, { type: 'RECORD_SHIPMENT', carrier: 'SF Express', trackingNumber: freshId('SF'), deliveryDocuments: ['delivery-note.pdf'] }, { node: 'USER_ACCEPTANCE' });
      const signed = await k.userEvents('notification SIGNED_FOR', o, [{ eventId: `${o.orderId}-signed`, eventType: 'SIGNED_FOR', consigneePhone: '138****1234' }], 'USER_ACCEPTANCE');
      if (!signed.signFor || signed.signFor.phoneMismatch) throw new Error(`sign-for not recorded as a match: ${JSON.stringify(signed.signFor)}`);
      await k.userEvents('notification ACCEPTED', o, [{ eventId: `${o.orderId}-accepted`, eventType: 'ACCEPTED' }], 'COMPLETED');
      // The order learns the outcome (and the validity that now decides its expiry) by the supervisionEnded signal.
      await until('the order to record its supervision outcome', async () => ((await k.orderState(o.workflowId)).supervision?.outcome === 'ACCEPTED' ? true : undefined));
      await k.v2('V2 releaseInstance', { activity: 'releaseInstance', instanceId: o.instanceId });
      return [
        { workflowId: o.workflowId, status: 'COMPLETED' },
        { workflowId: o.supervisionId, workflowType: SUPERVISION_WORKFLOW_TYPE, status: 'COMPLETED' },
      ];
    },
  },
  {
    workflowType: ORDER_WORKFLOW_TYPE,
    scenario: 'v2-general-supervised-released',
    description:
      'V2 purchase of a GENERAL-supervised product → requirement submitted and confirmed → releaseInstance before acceptance: the order signals closeSupervision, the child closes RELEASED; exports both',
    async record(k) {
      const o = await k.buySupervisedV2(GENERAL_PRODUCT, 'REQUIREMENT_SUBMISSION', { periodType: 'month' });
      await k.userEvents('notification REQUIREMENT_SUBMITTED', o, [{ eventId: `${o.orderId}-req`, eventType: 'REQUIREMENT_SUBMITTED', attachments: ['requirement.docx'] }], 'REQUIREMENT_CONFIRMATION');
      await k.merchant('ops CONFIRM_REQUIREMENT', o.orderId, { type: 'CONFIRM_REQUIREMENT' }, { node: 'IMPLEMENTATION' });
      await k.v2('V2 releaseInstance', { activity: 'releaseInstance', instanceId: o.instanceId });
      const closed = await k.settle(o.supervisionId);
      if (closed.status !== 'COMPLETED') throw new Error(`supervision ${o.supervisionId} is ${closed.status} after the release`);
      expectSupervision('supervision closed by the release', await k.supervisionState(o.supervisionId), { node: 'CLOSED', outcome: 'RELEASED' });
      return [
        { workflowId: o.workflowId, status: 'COMPLETED' },
        { workflowId: o.supervisionId, workflowType: SUPERVISION_WORKFLOW_TYPE, status: 'COMPLETED' },
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

/** The reconciliation workflow's paths. */
const reconciliationRecorders: Recorder<ServiceKit>[] = [
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

/** Supervision paths that happen in seconds, on the dev server through HTTP. */
const supervisionServiceRecorders: Recorder<ServiceKit>[] = [
  {
    workflowType: SUPERVISION_WORKFLOW_TYPE,
    scenario: 'general-rejections-then-accepted',
    description:
      'GENERAL supervision over HTTP: requirement submitted → rejected (ops) → an invalid confirmation refused (409, no trace) → submitted again → confirmed → implemented → acceptance rejected → implemented again → accepted',
    async record(k) {
      const o = await k.buySupervisedV2(GENERAL_PRODUCT, 'REQUIREMENT_SUBMISSION', { periodType: 'month' });
      const id = o.orderId;
      await k.userEvents('notification REQUIREMENT_SUBMITTED', o, [{ eventId: `${id}-req-1`, eventType: 'REQUIREMENT_SUBMITTED', attachments: ['requirement-v1.docx'] }], 'REQUIREMENT_CONFIRMATION');
      await k.merchant('ops REJECT_REQUIREMENT', id, { type: 'REJECT_REQUIREMENT', reason: 'the requirement names no delivery site' }, { node: 'REQUIREMENT_SUBMISSION' });
      // Refused by the update's validator: 409 with the reason, and nothing about it reaches the history.
      const before = await k.settle(o.supervisionId);
      const refused = await k.merchant('ops CONFIRM_REQUIREMENT (nothing submitted)', id, { type: 'CONFIRM_REQUIREMENT' }, { status: 409 });
      if (!/REQUIREMENT_SUBMISSION/.test(String(refused.message))) throw new Error(`unexpected refusal: ${JSON.stringify(refused)}`);
      const after = await k.settle(o.supervisionId);
      if (after.events !== before.events) throw new Error(`a refused action left ${after.events - before.events} event(s) in the history`);
      await k.userEvents('notification REQUIREMENT_SUBMITTED (again)', o, [{ eventId: `${id}-req-2`, eventType: 'REQUIREMENT_SUBMITTED', attachments: ['requirement-v2.docx'] }], 'REQUIREMENT_CONFIRMATION');
      await k.merchant('ops CONFIRM_REQUIREMENT', id, { type: 'CONFIRM_REQUIREMENT' }, { node: 'IMPLEMENTATION' });
      await k.merchant('ops COMPLETE_IMPLEMENTATION', id, { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'acceptance-report-1' }, { node: 'USER_ACCEPTANCE' });
      await k.userEvents('notification ACCEPTANCE_REJECTED', o, [{ eventId: `${id}-rej`, eventType: 'ACCEPTANCE_REJECTED', reason: 'the report misses the training' }], 'IMPLEMENTATION');
      await k.merchant('ops COMPLETE_IMPLEMENTATION (again)', id, { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'acceptance-report-2' }, { node: 'USER_ACCEPTANCE' });
      await k.userEvents('notification ACCEPTED', o, [{ eventId: `${id}-acc`, eventType: 'ACCEPTED' }], 'COMPLETED');
      await until('the supervision to end', async () => ((await k.settle(o.supervisionId)).status === 'COMPLETED' ? true : undefined));
      expectSupervision('the path recorded', await k.supervisionState(o.supervisionId), { requirementRejections: 1, acceptanceRejections: 1, outcome: 'ACCEPTED' });
      return [{ workflowId: o.supervisionId, status: 'COMPLETED' }];
    },
  },
];

/** Supervision paths measured in days, on the time-skipping server. */
const supervisionTimeSkippingRecorders: Recorder<TimeSkippingKit>[] = [
  {
    workflowType: SUPERVISION_WORKFLOW_TYPE,
    scenario: 'hardware-auto-accepted',
    description: 'HARDWARE supervision (child of a yearly order): shipped, signed for, still waiting on day 9, accepted automatically on day 10; the order gets supervisionEnded',
    async record(k) {
      const { orderWorkflowId: orderId, supervision: h } = await k.supervisedOrder(HARDWARE_TERMS, { periodType: 'year', periodNumber: 1 });
      await k.act('RECORD_SHIPMENT', h, { type: 'RECORD_SHIPMENT', source: 'MERCHANT', carrier: 'SF Express', trackingNumber: freshId('SF'), deliveryDocuments: ['delivery-note.pdf'] }, { node: 'USER_ACCEPTANCE' });
      await k.act('SIGN_FOR', h, { type: 'SIGN_FOR', source: 'MARKETPLACE', eventId: freshId('ev-'), consigneePhone: '138****1234', userPhone: '13800001234' });
      await k.sleepDays(9);
      await k.state('day 9', h, { node: 'USER_ACCEPTANCE' });
      await k.sleepDays(2);
      await k.state('day 11', h, { node: 'COMPLETED', outcome: 'AUTO_ACCEPTED' });
      if (k.notesOf(h, 'SUPERVISION_AUTO_ACCEPTED').length !== 2) throw new Error('expected the two auto-acceptance notices');
      await until('the order to record the auto-acceptance', async () =>
        ((await k.client.workflow.getHandle(orderId).query(getOrderQuery)).supervision?.outcome === 'AUTO_ACCEPTED' ? true : undefined),
      );
      return [{ workflowId: h.workflowId, status: 'COMPLETED' }];
    },
  },
  {
    workflowType: SUPERVISION_WORKFLOW_TYPE,
    scenario: 'general-reminders-then-accepted',
    description: 'GENERAL supervision (child of a monthly order) implemented but unaccepted: reminders on day 180 and 210, then accepted; validity from acceptance',
    async record(k) {
      const { supervision: h } = await k.supervisedOrder(GENERAL_TERMS, { periodType: 'month', periodNumber: 1 });
      await k.act('SUBMIT_REQUIREMENT', h, { type: 'SUBMIT_REQUIREMENT', source: 'MARKETPLACE', eventId: freshId('ev-'), attachments: ['requirement.docx'] });
      await k.act('CONFIRM_REQUIREMENT', h, { type: 'CONFIRM_REQUIREMENT', source: 'MERCHANT' });
      await k.act('COMPLETE_IMPLEMENTATION', h, { type: 'COMPLETE_IMPLEMENTATION', source: 'MERCHANT', acceptanceReport: 'acceptance-report-1' }, { node: 'USER_ACCEPTANCE' });
      await k.sleepDays(179);
      await k.state('day 179', h, { remindersSent: 0 });
      await k.sleepDays(2);
      await k.state('day 181', h, { remindersSent: 1 });
      await k.sleepDays(30);
      await k.state('day 211', h, { remindersSent: 2, node: 'USER_ACCEPTANCE' });
      if (k.notesOf(h, 'SUPERVISION_REMINDER').length !== 4) throw new Error('expected two reminders, each to the merchant and the account manager');
      const done = await k.act('ACCEPT', h, { type: 'ACCEPT', source: 'MARKETPLACE', eventId: freshId('ev-') }, { node: 'COMPLETED', outcome: 'ACCEPTED' });
      if (!done.validity) throw new Error('a period order must get its validity at acceptance');
      return [{ workflowId: h.workflowId, status: 'COMPLETED' }];
    },
  },
  {
    workflowType: SUPERVISION_WORKFLOW_TYPE,
    scenario: 'hardware-appeal-frozen-then-resumed',
    description: 'HARDWARE supervision signed for, appeal opened on day 5 freezes it (no auto-acceptance), resumed on day 25: the 10 days restart, accepted automatically',
    async record(k) {
      const { supervision: h } = await k.supervisedOrder(HARDWARE_TERMS);
      await k.act('RECORD_SHIPMENT', h, { type: 'RECORD_SHIPMENT', source: 'MERCHANT', carrier: 'EMS', trackingNumber: freshId('EMS') }, { node: 'USER_ACCEPTANCE' });
      await k.act('SIGN_FOR', h, { type: 'SIGN_FOR', source: 'MARKETPLACE', eventId: freshId('ev-') });
      await k.sleepDays(5);
      await k.act('OPEN_APPEAL', h, { type: 'OPEN_APPEAL', source: 'MARKETPLACE', eventId: freshId('ev-'), openedBy: 'USER', reason: 'device damaged in transit', evidence: ['photo.jpg'] });
      await k.sleepDays(20);
      const frozen = await k.state('day 25, frozen', h, { node: 'USER_ACCEPTANCE' });
      if (!frozen.appeal) throw new Error('day 25: the appeal is not open');
      // No refused action here: the Java test server keeps the empty workflow task of an update its validator
      // rejected, which a real server drops, so refusals are recorded on the dev server (general-rejections-then-accepted).
      await k.act('DECIDE_APPEAL RESUME', h, { type: 'DECIDE_APPEAL', source: 'OPS', decision: 'RESUME', note: 'replacement shipped' });
      await k.sleepDays(9);
      await k.state('9 days after the resume', h, { node: 'USER_ACCEPTANCE' });
      await k.sleepDays(2);
      await k.state('11 days after the resume', h, { node: 'COMPLETED', outcome: 'AUTO_ACCEPTED' });
      return [{ workflowId: h.workflowId, status: 'COMPLETED' }];
    },
  },
  {
    workflowType: SUPERVISION_WORKFLOW_TYPE,
    scenario: 'general-continue-as-new',
    description: 'GENERAL supervision with historyEventLimit 30, requirement submitted, then years of reminders until it has continued as new twice and its last run sent a reminder itself',
    async record(k) {
      const h = await k.supervisionAlone(GENERAL_TERMS, { historyEventLimit: 30 });
      const { runId: firstRunId } = await h.describe();
      await k.act('SUBMIT_REQUIREMENT', h, { type: 'SUBMIT_REQUIREMENT', source: 'MARKETPLACE', eventId: freshId('ev-') }, { node: 'REQUIREMENT_CONFIRMATION' });
      await k.sleepDays(181);
      const runs = new Set([firstRunId]);
      let lastRunId = firstRunId;
      // Like the order's continue-as-new recorder: stop once a run that is not the first two has itself sent a
      // reminder on the carried state (a reminder that only triggers a continue-as-new leaves an empty run).
      for (let i = 0; ; i++) {
        if (i > 60) throw new Error(`still ${runs.size} run(s) after ${i} reminder intervals`);
        const before = (await k.state('reminders so far', h, {})).remindersSent;
        await k.sleepDays(30);
        const s = await k.state('a reminder per interval', h, { node: 'REQUIREMENT_CONFIRMATION' });
        if (s.remindersSent !== before + 1) throw new Error(`expected reminder ${before + 1}, state says ${s.remindersSent}`);
        lastRunId = (await k.settle(h.workflowId)).runId;
        const freshRun = !runs.has(lastRunId);
        runs.add(lastRunId);
        if (runs.size >= 3 && !freshRun) break;
      }
      return [
        { workflowId: h.workflowId, runId: firstRunId, part: 'first-run', status: 'CONTINUED_AS_NEW' },
        { workflowId: h.workflowId, runId: lastRunId, part: 'last-run', status: 'RUNNING' },
      ];
    },
  },
];

/** Every recorder, in recording order, with the kind of kit it runs on. Other workflow types append theirs here. */
const RECORDERS: readonly AnyRecorder[] = [
  ...[...orderRecorders, ...reconciliationRecorders, ...supervisionServiceRecorders].map((r) => ({ ...r, kit: 'service' as const })),
  ...supervisionTimeSkippingRecorders.map((r) => ({ ...r, kit: 'time-skipping' as const })),
];

/** `--tag` values: `<label>` tags every fixture, `<workflow-type>:<label>` that type's only (wins over the former). */
function parseTags(values: readonly string[], knownTypes: ReadonlySet<string>): (workflowType: string) => string | undefined {
  const scoped = new Map<string, string>();
  let everywhere: string | undefined;
  for (const value of values) {
    const [type, label] = value.includes(':') ? (value.split(':', 2) as [string, string]) : [undefined, value];
    if (!/^[a-z0-9][a-z0-9-]*$/.test(label)) throw new Error(`--tag ${value}: the label must be kebab-case, e.g. after-<patch-id>`);
    if (type === undefined) {
      if (everywhere !== undefined) throw new Error('--tag: more than one tag for every type');
      everywhere = label;
    } else {
      if (!knownTypes.has(type)) throw new Error(`--tag ${value}: no recorder exports ${type} (known: ${[...knownTypes].join(', ')})`);
      if (scoped.has(type)) throw new Error(`--tag: more than one tag for ${type}`);
      scoped.set(type, label);
    }
  }
  return (workflowType) => scoped.get(workflowType) ?? everywhere;
}

/** Runs one recorder, waits for its runs, and writes them; a run that is not as the recorder says stops it. */
async function recordAndExport<K extends RecordingKit>(kit: K, r: Recorder<K>, tagOf: (workflowType: string) => string | undefined): Promise<ExportedHistory[]> {
  const written: ExportedHistory[] = [];
  const runs = await r.record(kit);
  for (const run of runs) {
    const settled = await kit.settle(run.workflowId, run.runId);
    if (settled.status !== run.status) throw new Error(`${r.scenario}: ${run.workflowId} is ${settled.status}, expected ${run.status}`);
    const workflowType = run.workflowType ?? r.workflowType;
    const name = [r.scenario, run.part, tagOf(workflowType)].filter(Boolean).join('.');
    const fetched = await fetchFixture(kit.client, { workflowId: run.workflowId, runId: settled.runId, name });
    if (fetched.workflowType !== workflowType) throw new Error(`${r.scenario}: recorded a ${fetched.workflowType}, expected ${workflowType}`);
    if (written.some((w) => w.path === fetched.path)) throw new Error(`${r.scenario}: two runs would be written to ${repoRelative(fetched.path)}; give them parts`);
    refuseToReplaceOlderShape(fetched);
    const out = writeFixture(fetched);
    written.push(out);
    console.log(`wrote ${repoRelative(out.path)}  ${out.events} events  ${settled.status}${settled.status === 'RUNNING' ? ' (idle)' : ''}`);
  }
  return written;
}

/** The service recorders, on one harness against the dev server. */
async function recordOnService(recorders: readonly Recorder<ServiceKit>[], tagOf: (workflowType: string) => string | undefined): Promise<ExportedHistory[]> {
  const h = await startServiceHarness({
    infra: {
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://koogallery:koogallery@127.0.0.1:5432/koogallery_orders_test',
      temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      temporalNamespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    },
    // Only these products are supervised: the other recorders' products (prod-replay, ...) record as before.
    env: { SUPERVISED_PRODUCTS: `${HARDWARE_PRODUCT}=HARDWARE,${GENERAL_PRODUCT}=GENERAL` },
  });
  const kit = new ServiceKit(h);
  const written: ExportedHistory[] = [];
  try {
    for (const r of recorders) written.push(...(await recordAndExport(kit, r, tagOf)));
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
  return written;
}

/** The time-skipping recorders, on one Java test server (torn down with everything on it). */
async function recordTimeSkipping(recorders: readonly Recorder<TimeSkippingKit>[], tagOf: (workflowType: string) => string | undefined): Promise<ExportedHistory[]> {
  const kit = await TimeSkippingKit.start();
  const written: ExportedHistory[] = [];
  try {
    for (const r of recorders) written.push(...(await recordAndExport(kit, r, tagOf)));
  } finally {
    await kit.close();
  }
  return written;
}

async function main(argv: string[]): Promise<void> {
  const usage = 'usage: npx tsx tools/history-recorder/record-histories.ts [--only <scenario>[,<scenario>...]] [--tag [<workflow-type>:]<label>]... [--list]';
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string' }, tag: { type: 'string', multiple: true }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  if (values.list) {
    for (const r of RECORDERS) console.log(`${r.workflowType}/${r.scenario} [${r.kit}]: ${r.description}`);
    return;
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((s) => !RECORDERS.some((r) => r.scenario === s)) ?? [];
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (see --list)`);
  const tagOf = parseTags(values.tag ?? [], new Set([...RECORDERS.map((r) => r.workflowType), SUPERVISION_WORKFLOW_TYPE]));
  const selected = RECORDERS.filter((r) => !only || only.includes(r.scenario));
  const onService = selected.flatMap((r) => (r.kit === 'service' ? [r] : []));
  const timeSkipping = selected.flatMap((r) => (r.kit === 'time-skipping' ? [r] : []));

  // Worker state changes at INFO would drown the list of files written.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const written: ExportedHistory[] = [];
  // Only the servers the selection needs: the dev server (and PostgreSQL) for service recorders, Java for the rest.
  if (onService.length > 0) written.push(...(await recordOnService(onService, tagOf)));
  if (timeSkipping.length > 0) written.push(...(await recordTimeSkipping(timeSkipping, tagOf)));
  const events = written.reduce((n, w) => n + w.events, 0);
  const tags = values.tag?.length ? ` tagged ${values.tag.join(', ')}` : '';
  console.log(`${written.length} fixture(s), ${events} events, from ${selected.length} scenario(s)${tags}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
