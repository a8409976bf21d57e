// The kit of the time-skipping recorders: Temporal's Java time-skipping test server, one worker on the real
// workflow bundle, and in-memory activities. For paths measured in days (hardware auto-acceptance 10 days after the
// sign-for, 180-day reminders, an appeal that freezes the clock, continue-as-new after years of reminders), which
// cannot be recorded in real time. Time moves only in the kit's own `sleepDays`. TEMPORAL_TEST_SERVER names the
// server (scripts/infra/test-server.ts resolves it otherwise).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { OrderActivities } from '../../src/orders/activities.js';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, type OrderDetails, type OrderKey, type OrderWorkflowInput } from '../../src/orders/contract.js';
import type { SupervisionActivities } from '../../src/supervision/activities.js';
import {
  getSupervisionQuery,
  SUPERVISION_WORKFLOW_TYPE,
  supervisionActionUpdate,
  supervisionWorkflowId,
  type NotificationRequest,
  type ServicePeriod,
  type SupervisionAction,
  type SupervisionInput,
  type SupervisionState,
  type SupervisionTerms,
} from '../../src/supervision/contract.js';
import { addMissingSearchAttributes } from '../../scripts/infra/dev-server.js';
import { repoRoot } from '../../scripts/infra/paths.js';
import { ensureTimeSkippingServer } from '../../scripts/infra/test-server.js';
import { createClockSkipper, type ClockSkipper } from '../testing/clock-skipper.js';
import { quietBundlerLogger } from '../testing/quiet-logger.js';
import { DAY_MS, freshId, sleep, until, type RecordingKit, type Settled } from './recorder.js';
import { expectSupervision, GENERAL_PRODUCT, HARDWARE_PRODUCT, type SupervisionHandle } from './supervised-products.js';

const WORKFLOWS_ENTRY = join(repoRoot, 'src', 'workflows.ts');

/**
 * What time-skipping recorders drive supervision with: the Java time-skipping test server, one worker on the real
 * workflow bundle, and in-memory activities (the supervision's record and notifications, and just enough of the
 * order's for a V1 order to provision and start its supervision as a child, as in production).
 */
export class TimeSkippingKit implements RecordingKit {
  /** Every notification the supervisions asked for, to check a recorded path did what it claims. */
  readonly notifications: NotificationRequest[] = [];
  /** The merchant's catalogue as the in-memory worker reads it: the terms each supervised product is sold with. */
  readonly catalogue = new Map<string, SupervisionTerms>();
  private worker?: Worker;
  private running?: Promise<void>;
  /** Moves the server's clock without env.sleep's retry hazard (tools/testing/clock-skipper.ts). */
  private clock?: ClockSkipper;

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
      kit.clock = await createClockSkipper(env);
      const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_ENTRY, logger: quietBundlerLogger });
      const supervision: SupervisionActivities = {
        recordSupervision: async () => undefined,
        enqueueNotifications: async (requests) => {
          kit.notifications.push(...requests);
          return requests.length;
        },
      };
      const order: Partial<OrderActivities> = {
        provisionTenant: async (i) => ({ frontEndUrl: `https://${i.instanceId}.tenants.test`, credentialsSealed: 'sealed' }),
        removeTenant: async () => undefined,
        recordTransition: async () => undefined,
        lookUpSupervisionTerms: async (i) => {
          const terms = i.productId === undefined ? undefined : kit.catalogue.get(i.productId);
          return terms ? { terms } : {};
        },
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
    await this.clock?.close().catch(() => undefined);
    await this.env.teardown();
  }

  /** Lets `days` pass on the server's clock; every timer due meanwhile fires and its workflow task completes. */
  async sleepDays(days: number): Promise<void> {
    await this.clock!.skip(days * DAY_MS);
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
