import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowContinuedAsNewError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type WorkflowHandle,
  type WorkflowUpdateHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderActivities } from '../../../src/orders/activities.js';
import {
  getOrderQuery,
  ORDER_REJECTION_TYPE,
  ORDER_WORKFLOW_TYPE,
  OrderFailureType,
  orderWorkflowId,
  purchaseUpdate,
  refreshUpdate,
  releaseUpdate,
  setStatusUpdate,
  upgradeUpdate,
  type OperationResult,
  type OrderDetails,
  type OrderWorkflowInput,
  type ProvisionedAccess,
  type RefreshRequest,
  type StatusRequest,
} from '../../../src/orders/contract.js';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../../../src/kernel/search-attributes.js';
import { classifyTemporalFailure, isWorkflowGone, updateRefusal } from '../../../src/platform/temporal/failures.js';
import type { SupervisionTerms } from '../../../src/supervision/contract.js';
import type { orderWorkflow } from '../../../src/orders/workflow.js';
import { createClockSkipper, type ClockSkipper } from '../../../tools/testing/clock-skipper.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { anOrderDetails, aV1OrderInput, aV2OrderInput } from '../../support/factories.js';

// The real order workflow (the prebuilt bundle production runs) on the shared dev server, with its activities
// replaced by an in-memory mock that records every call. One worker and task queue per test; unique ids throughout.

type OrderHandle = WorkflowHandle<typeof orderWorkflow>;
type Calls = { [K in keyof OrderActivities]: Array<Parameters<OrderActivities[K]>[0]> };

const FUTURE = '2099-01-01T00:00:00.000Z';
const PAST = '2001-01-01T00:00:00.000Z';

const V1_DETAILS = anOrderDetails({ customerId: 'cust-v1', expireTime: FUTURE });

const V2_DETAILS = anOrderDetails({ customerId: 'cust-v2', productId: 'OFFI-YEAR', skuCode: 'sku-pro', periodType: 'year', expireTime: FUTURE, spec: { linearValue: 10 } });

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mutable knobs of the mock; tests flip them between operations. */
interface MockControl {
  details: OrderDetails;
  orderNotFound: boolean;
  trialGranted: boolean;
  provisioningRejected: boolean;
  /** When set, provisionTenant fails for good with this failure type (a refused contact, over-long access). */
  provisioningFailureType?: string;
  /** What the catalogue says about a V1 product (lookUpSupervisionTerms). */
  supervisionTerms?: SupervisionTerms;
  /** While set, provisionTenant waits for it (a slow provisioner). */
  provisionGate?: Promise<void>;
  /** While set, freezeTenant waits for it. */
  freezeGate?: Promise<void>;
}

/** In-memory activities implementing the real OrderActivities type, recording every call in order. */
function mockActivities(initial: Partial<MockControl> = {}) {
  const control: MockControl = { details: V2_DETAILS, orderNotFound: false, trialGranted: true, provisioningRejected: false, ...initial };
  const calls: Calls = {
    fetchOrderDetails: [],
    lookUpSupervisionTerms: [],
    claimTrialBenefit: [],
    releaseTrialBenefit: [],
    provisionTenant: [],
    changeTenantSpec: [],
    freezeTenant: [],
    resumeTenant: [],
    removeTenant: [],
    recordTransition: [],
  };
  const order: Array<keyof OrderActivities> = [];
  const note = <K extends keyof OrderActivities>(name: K, input: Parameters<OrderActivities[K]>[0]) => {
    (calls[name] as unknown[]).push(input);
    order.push(name);
  };
  const activities: OrderActivities = {
    async fetchOrderDetails(input) {
      note('fetchOrderDetails', input);
      if (control.orderNotFound) {
        throw ApplicationFailure.create({ type: OrderFailureType.OrderNotFound, message: `order ${input.orderId} not found`, nonRetryable: true });
      }
      return { details: control.details, orderType: control.details.trial ? 'TRIAL' : 'NEW' };
    },
    async lookUpSupervisionTerms(input) {
      note('lookUpSupervisionTerms', input);
      return control.supervisionTerms ? { terms: control.supervisionTerms } : {};
    },
    async claimTrialBenefit(input) {
      note('claimTrialBenefit', input);
      return control.trialGranted ? { granted: true, holderInstanceId: input.instanceId } : { granted: false, holderInstanceId: 'earlier-trial-instance' };
    },
    async releaseTrialBenefit(input) {
      note('releaseTrialBenefit', input);
    },
    async provisionTenant(input): Promise<ProvisionedAccess> {
      note('provisionTenant', input);
      await control.provisionGate;
      if (control.provisioningRejected) {
        throw ApplicationFailure.create({ type: OrderFailureType.ProvisioningRejected, message: 'no capacity for this spec', nonRetryable: true });
      }
      if (control.provisioningFailureType) {
        throw ApplicationFailure.create({ type: control.provisioningFailureType, message: `refused: ${control.provisioningFailureType}`, nonRetryable: true });
      }
      return { frontEndUrl: `https://${input.instanceId}.tenants.test`, credentialsSealed: 'sealed-credentials' };
    },
    async changeTenantSpec(input) {
      note('changeTenantSpec', input);
    },
    async freezeTenant(input) {
      note('freezeTenant', input);
      await control.freezeGate;
    },
    async resumeTenant(input) {
      note('resumeTenant', input);
    },
    async removeTenant(input) {
      note('removeTenant', input);
    },
    async recordTransition(input) {
      note('recordTransition', input);
    },
  };
  /** [event, seq] of every recorded transition, in call order. */
  const transitions = () => calls.recordTransition.map((t) => [t.event, t.seq] as const);
  return { activities, calls, control, order, transitions };
}

type Mock = ReturnType<typeof mockActivities>;

function v1Input(overrides: Partial<OrderWorkflowInput> = {}): OrderWorkflowInput {
  return aV1OrderInput(uniqueId('CSV1'), { instanceId: uniqueId('biz'), details: V1_DETAILS, ...overrides });
}

function v2Input(overrides: Partial<OrderWorkflowInput> = {}): OrderWorkflowInput {
  return aV2OrderInput(uniqueId('CSV2'), { instanceId: uniqueId('biz'), ...overrides });
}

const renewal = (orderId: string, overrides: Partial<RefreshRequest> = {}): RefreshRequest => ({ orderId, scene: 'RENEWAL', expireTime: FUTURE, testOrder: false, ...overrides });
const freezeReq: StatusRequest = { action: 'FREEZE', reason: 'MARKETPLACE', testOrder: false };
const unfreezeReq: StatusRequest = { action: 'UNFREEZE', reason: 'MARKETPLACE', testOrder: false };

/** Watches a promise: `done` turns true when it settles (a rejection is handled here, and still seen by awaiters). */
function watch<T>(promise: Promise<T>): { promise: Promise<T>; done: boolean } {
  const w = { promise, done: false };
  promise.then(
    () => (w.done = true),
    () => (w.done = true),
  );
  return w;
}

/** Polls the query until the phase is reached. */
async function waitForPhase(handle: OrderHandle, phase: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await handle.query(getOrderQuery);
    if (state.phase === phase) return;
    if (Date.now() > deadline) throw new Error(`phase ${state.phase}, expected ${phase}`);
    await sleep(50);
  }
}

/** The failure a validator or the server attached to a rejected update. */
async function updateFailure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => {
      throw new Error('the update was expected to be rejected');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('order workflow (dev server, mocked activities)', () => {
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let client: Client;
  const started: OrderHandle[] = [];

  beforeAll(async () => {
    const infra = testInfra();
    connection = await Connection.connect({ address: infra.temporalAddress });
    nativeConnection = await NativeConnection.connect({ address: infra.temporalAddress });
    client = new Client({ connection, namespace: infra.temporalNamespace });
  });

  afterAll(async () => {
    // Leave no order of ours running on the shared server.
    await Promise.all(
      started.map(async (h) => {
        const d = await h.describe().catch(() => undefined);
        if (d?.status.name === 'RUNNING') await h.terminate('test finished').catch(() => undefined);
      }),
    );
    await nativeConnection?.close();
    await connection?.close();
  });

  /** Runs `fn` while a worker with the mock's activities polls a fresh task queue. */
  async function withWorker<T>(mock: Mock, fn: (taskQueue: string) => Promise<T>): Promise<T> {
    const infra = testInfra();
    const taskQueue = uniqueId('tq-order');
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: infra.temporalNamespace,
      taskQueue,
      workflowBundle: { codePath: infra.workflowBundlePath },
      activities: mock.activities,
    });
    return worker.runUntil(() => fn(taskQueue));
  }

  async function startOrder(taskQueue: string, input: OrderWorkflowInput): Promise<OrderHandle> {
    const handle = await client.workflow.start<typeof orderWorkflow>(ORDER_WORKFLOW_TYPE, { workflowId: orderWorkflowId(input.key), taskQueue, args: [input] });
    started.push(handle);
    return handle;
  }

  /** The API's purchase: update-with-start, joining a running order. Resolves once the update is accepted. */
  async function purchase(
    taskQueue: string,
    input: OrderWorkflowInput,
    businessId = uniqueId('biz'),
    workflowIdReusePolicy: 'REJECT_DUPLICATE' | 'ALLOW_DUPLICATE' = 'REJECT_DUPLICATE',
  ): Promise<{ update: WorkflowUpdateHandle<OperationResult>; handle: OrderHandle }> {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof orderWorkflow>(ORDER_WORKFLOW_TYPE, {
      workflowId: orderWorkflowId(input.key),
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy,
    });
    const update = await client.workflow.startUpdateWithStart(purchaseUpdate, {
      args: [{ businessId, testOrder: input.testOrder }],
      waitForStage: WorkflowUpdateStage.ACCEPTED,
      startWorkflowOperation,
    });
    const handle = await startWorkflowOperation.workflowHandle();
    started.push(handle);
    return { update, handle };
  }

  /** An ACTIVE V1 order. */
  async function activeOrder(taskQueue: string, input: OrderWorkflowInput = v1Input()): Promise<OrderHandle> {
    const { update, handle } = await purchase(taskQueue, input);
    expect((await update.result()).code).toBe('000000');
    return handle;
  }

  describe('purchase', () => {
    it('when a V1 purchase arrives with its details, then the order becomes ACTIVE and the purchase answers 000000 with the instanceId', async () => {
      const mock = mockActivities();
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const { update, handle } = await purchase(tq, input, input.instanceId);
        expect(await update.result()).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' });

        const state = await handle.query(getOrderQuery);
        expect(state).toMatchObject({ phase: 'ACTIVE', instanceId: input.instanceId, seq: 2, details: V1_DETAILS, freezeReasons: [], appliedOrderIds: [] });
        expect(state.failureCode).toBeUndefined();

        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PROVISIONED', 2],
        ]);
        const [received, provisioned] = mock.calls.recordTransition;
        expect(received).toMatchObject({ workflowId: orderWorkflowId(input.key), phase: 'PROVISIONING', interfaceVersion: 'V1', instanceId: input.instanceId, testOrder: false });
        expect(received?.access).toBeUndefined();
        // The provisioned access is written once, with the PROVISIONED transition.
        expect(provisioned).toMatchObject({ phase: 'ACTIVE', access: { frontEndUrl: `https://${input.instanceId}.tenants.test`, credentialsSealed: 'sealed-credentials' } });

        expect(mock.calls.fetchOrderDetails).toHaveLength(0); // V1 pushes details inline
        expect(mock.calls.claimTrialBenefit).toHaveLength(0); // not a trial
        expect(mock.calls.provisionTenant).toEqual([{ instanceId: input.instanceId, details: V1_DETAILS, testOrder: false }]);
      });
    });

    it('when 5 purchases of the same order arrive concurrently during provisioning, then the tenant is provisioned once and all 5 answer 000000', async () => {
      const gate = deferred();
      const mock = mockActivities({ provisionGate: gate.promise });
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const purchases = await Promise.all([1, 2, 3, 4, 5].map((i) => purchase(tq, input, `${input.instanceId}-retry-${i}`)));
        // All five are accepted and still waiting while the tenant is being created.
        const results = purchases.map((p) => watch(p.update.result()));
        await sleep(300);
        expect(results.filter((r) => r.done)).toHaveLength(0);
        expect(mock.calls.provisionTenant).toHaveLength(1);
        gate.resolve();
        const answers = await Promise.all(results.map((r) => r.promise));
        expect(answers).toEqual(Array(5).fill({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' }));
        // One run: every purchase joined the order the first one started.
        const runIds = await Promise.all(purchases.map(async (p) => (await p.handle.describe()).runId));
        expect(new Set(runIds).size).toBe(1);
        expect(mock.calls.provisionTenant).toHaveLength(1);
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PROVISIONED', 2],
        ]);
      });
    });

    it('when a V2 purchase arrives, then the workflow pulls the order with Query Order and provisions what it returned', async () => {
      const mock = mockActivities({ details: V2_DETAILS });
      const input = v2Input();
      await withWorker(mock, async (tq) => {
        const { update, handle } = await purchase(tq, input);
        expect(await update.result()).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' });
        expect(mock.calls.fetchOrderDetails).toEqual([{ orderId: input.key.orderId, orderLineId: `${input.key.orderId}-000001` }]);
        expect(mock.calls.provisionTenant).toEqual([{ instanceId: input.instanceId, details: V2_DETAILS, testOrder: false }]);
        expect((await handle.query(getOrderQuery)).details).toEqual(V2_DETAILS);
        expect(mock.order.slice(0, 3)).toEqual(['recordTransition', 'fetchOrderDetails', 'provisionTenant']);
      });
    });

    it('when Query Order says the order does not exist, then the purchase fails with 000005, and a later purchase retries and succeeds', async () => {
      const mock = mockActivities({ details: V2_DETAILS, orderNotFound: true });
      const input = v2Input();
      await withWorker(mock, async (tq) => {
        const first = await purchase(tq, input);
        const failed = await first.update.result();
        expect(failed).toMatchObject({ code: '000005', instanceId: input.instanceId, phase: 'FAILED' });
        expect(mock.calls.fetchOrderDetails).toHaveLength(1); // nonRetryable: no activity retries
        expect(mock.calls.provisionTenant).toHaveLength(0);
        expect(await first.handle.query(getOrderQuery)).toMatchObject({ phase: 'FAILED', failureCode: '000005', seq: 2 });
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PURCHASE_FAILED', 2],
        ]);
        expect(mock.calls.recordTransition[1]).toMatchObject({ phase: 'FAILED', resultCode: '000005' });
        // The order waits for a marketplace retry instead of closing.
        const failedRun = await first.handle.describe();
        expect(failedRun.status.name).toBe('RUNNING');

        mock.control.orderNotFound = false;
        const retry = await purchase(tq, input);
        expect(await retry.update.result()).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' });
        expect((await retry.handle.describe()).runId).toBe(failedRun.runId); // retried in the same run, not a new order
        expect(mock.calls.fetchOrderDetails).toHaveLength(2);
        expect(mock.calls.provisionTenant).toHaveLength(1);
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PURCHASE_FAILED', 2],
          ['PURCHASE_RETRIED', 3],
          ['PROVISIONED', 4],
        ]);
        const state = await retry.handle.query(getOrderQuery);
        expect(state).toMatchObject({ phase: 'ACTIVE', seq: 4, details: V2_DETAILS });
        expect(state.failureCode).toBeUndefined();
        expect(state.failureReason).toBeUndefined();
      });
    });

    it('when purchase, refresh or status requests are malformed, then the validators reject them as ORDER_OPERATION_REJECTED/000005 and nothing is recorded', async () => {
      const mock = mockActivities();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq);
        const before = mock.calls.recordTransition.length;
        for (const send of [
          () => handle.executeUpdate(purchaseUpdate, { args: [{ businessId: '', testOrder: false }] }),
          () => handle.executeUpdate(refreshUpdate, { args: [renewal('CS-BAD', { expireTime: 'not-a-time' })] }),
          () => handle.executeUpdate(setStatusUpdate, { args: [{ action: 'PAUSE' as StatusRequest['action'], reason: 'MARKETPLACE', testOrder: false }] }),
        ]) {
          const sent = send();
          const failure = await updateFailure(sent);
          expect(failure.type).toBe(ORDER_REJECTION_TYPE);
          expect(failure.details).toEqual(['000005']);
          // The same error, as the API's recogniser reads it: a refusal, not a closed workflow.
          const err = await sent.catch((e: unknown) => e);
          expect(classifyTemporalFailure(err, ORDER_REJECTION_TYPE)).toEqual({ kind: 'update-refused', failure });
          expect(isWorkflowGone(err)).toBe(false);
        }
        expect(mock.calls.recordTransition).toHaveLength(before);
        expect((await handle.query(getOrderQuery)).seq).toBe(2);
      });
    });
  });

  describe('who answers "is this product supervised?"', () => {
    const TERMS: SupervisionTerms = { kind: 'GENERAL', reminderAfterDays: 180, reminderIntervalDays: 30, autoAcceptDays: 10 };

    it('when a V1 order arrives with terms stamped by an older API but the catalogue lists its product as not supervised, then the worker\'s answer wins and no supervision starts', async () => {
      const mock = mockActivities();
      const input = v1Input({ details: { ...V1_DETAILS, supervision: TERMS } });
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq, input);
        expect(mock.calls.lookUpSupervisionTerms).toEqual([{ productId: V1_DETAILS.productId, orderType: 'NEW' }]);
        const state = await handle.query(getOrderQuery);
        expect(state.details?.supervision).toBeUndefined();
        expect(state.supervision).toBeUndefined();
        expect(mock.transitions().map(([e]) => e)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED']);
      });
    });

    it('when a V1 trial is bought, then the worker asks the catalogue about a trial purchase before provisioning', async () => {
      const mock = mockActivities();
      const input = v1Input({ details: { ...V1_DETAILS, trial: true, customerId: uniqueId('cust') } });
      await withWorker(mock, async (tq) => {
        await activeOrder(tq, input);
        expect(mock.calls.lookUpSupervisionTerms).toEqual([{ productId: V1_DETAILS.productId, orderType: 'TRIAL' }]);
        expect(mock.order.indexOf('lookUpSupervisionTerms')).toBeLessThan(mock.order.indexOf('provisionTenant'));
      });
    });

    it('when a V2 order is bought, then its terms come with Query Order and the catalogue is not asked again', async () => {
      const mock = mockActivities({ details: { ...V2_DETAILS } });
      await withWorker(mock, async (tq) => {
        const { update } = await purchase(tq, v2Input());
        expect((await update.result()).code).toBe('000000');
        expect(mock.calls.fetchOrderDetails).toHaveLength(1);
        expect(mock.calls.lookUpSupervisionTerms).toHaveLength(0);
      });
    });
  });

  describe('purchases the provisioner refuses for good', () => {
    it.each([
      [OrderFailureType.MobileRejected, '000101'],
      [OrderFailureType.EmailRejected, '000102'],
      [OrderFailureType.AppInfoTooLong, '000005'],
    ])('when provisioning fails with %s, then it is not retried and the purchase answers %s', async (type, code) => {
      const mock = mockActivities({ provisioningFailureType: type });
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const { update, handle } = await purchase(tq, input);
        expect(await update.result()).toMatchObject({ code, instanceId: input.instanceId, phase: 'FAILED', message: `refused: ${type}` });
        expect(mock.calls.provisionTenant).toHaveLength(1);
        expect(await handle.query(getOrderQuery)).toMatchObject({ phase: 'FAILED', failureCode: code });
        expect(mock.calls.recordTransition.at(-1)).toMatchObject({ event: 'PURCHASE_FAILED', resultCode: code });
      });
    });
  });

  describe('trial saga', () => {
    const TRIAL: OrderDetails = { ...V1_DETAILS, trial: true, customerId: 'cust-trial', productId: 'OFFI-TRIAL' };

    it('when provisioning a trial is rejected, then the claimed trial benefit is released (compensation) and the purchase answers 000100', async () => {
      const mock = mockActivities({ provisioningRejected: true });
      const input = v1Input({ details: TRIAL });
      await withWorker(mock, async (tq) => {
        const { update, handle } = await purchase(tq, input);
        expect(await update.result()).toMatchObject({ code: '000100', instanceId: input.instanceId, phase: 'FAILED' });
        const claim = { customerId: 'cust-trial', productId: 'OFFI-TRIAL', instanceId: input.instanceId };
        expect(mock.calls.claimTrialBenefit).toEqual([claim]);
        expect(mock.calls.provisionTenant).toHaveLength(1); // PROVISIONING_REJECTED is not retried
        expect(mock.calls.releaseTrialBenefit).toEqual([claim]);
        expect(mock.calls.removeTenant).toHaveLength(0); // no tenant was created, nothing to undo there
        expect(mock.order.filter((n) => n !== 'recordTransition')).toEqual(['lookUpSupervisionTerms', 'claimTrialBenefit', 'provisionTenant', 'releaseTrialBenefit']);
        expect(await handle.query(getOrderQuery)).toMatchObject({ phase: 'FAILED', failureCode: '000100', seq: 2 });
        expect(mock.calls.recordTransition.at(-1)).toMatchObject({ event: 'PURCHASE_FAILED', phase: 'FAILED', resultCode: '000100', seq: 2 });
      });
    });

    // Regression: the failure reason must come from the activity failure's cause, not its generic message.
    it('when provisioning is rejected, then the failure reason carries the provisioner\'s message, not a generic activity failure', async () => {
      const mock = mockActivities({ provisioningRejected: true });
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const { update, handle } = await purchase(tq, input);
        const failed = await update.result();
        expect(failed.code).toBe('000100');
        expect(failed.message).toContain('no capacity for this spec');
        expect((await handle.query(getOrderQuery)).failureReason).toContain('no capacity for this spec');
        expect(mock.calls.recordTransition.at(-1)?.detail).toEqual({ reason: expect.stringContaining('no capacity for this spec') });
      });
    });

    it('when the customer already holds the trial benefit, then the purchase is REJECTED with 000105, nothing is provisioned and the order closes', async () => {
      const mock = mockActivities({ trialGranted: false });
      const input = v1Input({ details: TRIAL });
      await withWorker(mock, async (tq) => {
        const { update, handle } = await purchase(tq, input);
        const rejected = await update.result();
        expect(rejected).toMatchObject({ code: '000105', instanceId: input.instanceId, phase: 'REJECTED' });
        expect(rejected.message).toContain('earlier-trial-instance');
        const final = await handle.result();
        expect(final).toMatchObject({ phase: 'REJECTED', failureCode: '000105', seq: 2 });
        expect(mock.calls.claimTrialBenefit).toHaveLength(1);
        expect(mock.calls.provisionTenant).toHaveLength(0);
        expect(mock.calls.releaseTrialBenefit).toHaveLength(0);
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PURCHASE_REJECTED', 2],
        ]);
        expect((await handle.describe()).status.name).toBe('COMPLETED');
      });
    });
  });

  describe('operations racing provisioning', () => {
    it('when a renewal arrives while provisioning is slow, then it waits and is applied after provisioning', async () => {
      const gate = deferred();
      const mock = mockActivities({ provisionGate: gate.promise });
      const input = v1Input({ details: { ...V1_DETAILS, expireTime: '2098-01-01T00:00:00.000Z' } });
      await withWorker(mock, async (tq) => {
        const handle = await startOrder(tq, input);
        const upd = await handle.startUpdate(refreshUpdate, { args: [renewal('CS-RENEW-EARLY')], waitForStage: WorkflowUpdateStage.ACCEPTED });
        const result = watch(upd.result());
        await sleep(300);
        expect(result.done).toBe(false);
        expect((await handle.query(getOrderQuery)).phase).toBe('PROVISIONING');
        gate.resolve();
        expect(await result.promise).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' });
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PROVISIONED', 2],
          ['RENEWAL', 3],
        ]);
        const state = await handle.query(getOrderQuery);
        expect(state.details?.expireTime).toBe(FUTURE);
        expect(state.appliedOrderIds).toEqual(['CS-RENEW-EARLY']);
        // The tenant was created with the purchase's spec; the renewal came after.
        expect(mock.calls.provisionTenant[0]?.details.expireTime).toBe('2098-01-01T00:00:00.000Z');
      });
    });

    it('when a release arrives while provisioning is slow, then it waits, removes the created tenant and the order completes RELEASED', async () => {
      const gate = deferred();
      const mock = mockActivities({ provisionGate: gate.promise });
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const handle = await startOrder(tq, input);
        const upd = await handle.startUpdate(releaseUpdate, { args: [{ testOrder: false }], waitForStage: WorkflowUpdateStage.ACCEPTED });
        const result = watch(upd.result());
        await sleep(300);
        expect(result.done).toBe(false);
        expect(mock.calls.removeTenant).toHaveLength(0);
        gate.resolve();
        expect(await result.promise).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'RELEASED' });
        expect(mock.calls.removeTenant).toEqual([{ instanceId: input.instanceId }]);
        expect(mock.order.indexOf('removeTenant')).toBeGreaterThan(mock.order.indexOf('provisionTenant'));
        const final = await handle.result();
        expect(final).toMatchObject({ phase: 'RELEASED', seq: 3, freezeReasons: [] });
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PROVISIONED', 2],
          ['RELEASED', 3],
        ]);
      });
    });

    it('when renewals are queued behind a release, then the released-but-still-open order answers them 000003 (000000 for a test order) and completes after answering', async () => {
      const gate = deferred();
      const mock = mockActivities({ provisionGate: gate.promise });
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const handle = await startOrder(tq, input);
        const release = await handle.startUpdate(releaseUpdate, { args: [{ testOrder: false }], waitForStage: WorkflowUpdateStage.ACCEPTED });
        const real = await handle.startUpdate(refreshUpdate, { args: [renewal('CS-LATE-REAL')], waitForStage: WorkflowUpdateStage.ACCEPTED });
        const test = await handle.startUpdate(refreshUpdate, { args: [renewal('CS-LATE-TEST', { testOrder: true })], waitForStage: WorkflowUpdateStage.ACCEPTED });
        gate.resolve();
        expect(await release.result()).toMatchObject({ code: '000000', phase: 'RELEASED' });
        expect(await real.result()).toEqual({ code: '000003', instanceId: input.instanceId, phase: 'RELEASED', message: 'instance no longer exists' });
        expect(await test.result()).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'RELEASED', message: 'test order: no effect' });
        const final = await handle.result();
        expect(final.phase).toBe('RELEASED');
        expect(final.appliedOrderIds).toEqual([]);
        expect(mock.transitions().map(([e]) => e)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED', 'RELEASED']);
      });
    });

    it('when an operation reaches an order that has completed, then the server refuses it as a closed workflow (the API then answers from the read model)', async () => {
      const mock = mockActivities();
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq, input);
        expect(await handle.executeUpdate(releaseUpdate, { args: [{ testOrder: false }] })).toMatchObject({ code: '000000', phase: 'RELEASED' });
        expect((await handle.result()).phase).toBe('RELEASED');

        // Updates on the closed run: the SDK reports the workflow as not found (gRPC NOT_FOUND), which the one
        // recogniser reads as "no open run", by type, and never as a validator's refusal.
        for (const send of [
          () => handle.executeUpdate(releaseUpdate, { args: [{ testOrder: false }] }),
          () => handle.executeUpdate(refreshUpdate, { args: [renewal('CS-AFTER-CLOSE')] }),
          () => handle.executeUpdate(setStatusUpdate, { args: [freezeReq] }),
        ]) {
          const err = await send().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(WorkflowNotFoundError);
          expect(isWorkflowGone(err)).toBe(true);
          expect(updateRefusal(err, ORDER_REJECTION_TYPE)).toBeUndefined();
          expect(classifyTemporalFailure(err, ORDER_REJECTION_TYPE)).toEqual({ kind: 'workflow-gone' });
        }
        // An order that never existed is reported the same way: the read model tells the two apart.
        const ghost = client.workflow.getHandle(orderWorkflowId({ kind: 'v1-order', orderId: uniqueId('CS-GHOST') }));
        const ghostErr = await ghost.executeUpdate(releaseUpdate, { args: [{ testOrder: false }] }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isWorkflowGone(ghostErr)).toBe(true);
        // A repeated real purchase (REJECT_DUPLICATE, as the API starts real orders) is refused before any update runs.
        await expect(purchase(tq, input, uniqueId('biz'), 'REJECT_DUPLICATE')).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
        expect(mock.calls.removeTenant).toHaveLength(1);
        expect(mock.calls.provisionTenant).toHaveLength(1);
      });
    });
  });

  describe('test orders (dial tests)', () => {
    // Regression: a released test order bought again is a new run that must continue the instance's seq.
    it('when a released test order is bought again, then the new run continues the instance\'s seq so the read model takes its transitions', async () => {
      const mock = mockActivities();
      const input = v1Input({ testOrder: true });
      await withWorker(mock, async (tq) => {
        const first = await activeOrder(tq, input);
        expect(await first.executeUpdate(releaseUpdate, { args: [{ testOrder: true }] })).toMatchObject({ code: '000000', phase: 'RELEASED' });
        await first.result();
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PROVISIONED', 2],
          ['RELEASED', 3],
        ]);
        // What the API does for a test order: allow a duplicate run, under the instanceId first given, continuing its seq.
        const again = await purchase(tq, { ...input, seqBase: 3 }, uniqueId('biz-dial'), 'ALLOW_DUPLICATE');
        expect(await again.update.result()).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' });
        expect(mock.calls.provisionTenant).toHaveLength(2);
        const secondRun = mock.calls.recordTransition.slice(3);
        expect(secondRun.map((t) => [t.event, t.instanceId])).toEqual([
          ['PURCHASE_RECEIVED', input.instanceId],
          ['PROVISIONED', input.instanceId],
        ]);
        for (const t of secondRun) expect(t.seq).toBeGreaterThan(3);
      });
    });
  });

  describe('idempotency', () => {
    it('when the same renewal orderId is sent twice, then it is applied once and the repeat answers "already applied"', async () => {
      const mock = mockActivities();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq);
        const req = renewal('CS-RENEW-DUP', { expireTime: '2097-03-01T00:00:00.000Z' });
        const first = await handle.executeUpdate(refreshUpdate, { args: [req], updateId: 'refresh-CS-RENEW-DUP' });
        expect(first).toEqual({ code: '000000', instanceId: expect.any(String), phase: 'ACTIVE' });
        expect(first.message).toBeUndefined();
        // A new update (new id) with the same orderId: the workflow's own dedupe.
        const repeat = await handle.executeUpdate(refreshUpdate, { args: [{ ...req, expireTime: '2097-09-01T00:00:00.000Z' }] });
        expect(repeat).toMatchObject({ code: '000000', phase: 'ACTIVE', message: 'already applied' });
        // The same update id (what the API sends for a repeated orderId): the server returns the first outcome.
        const sameId = await handle.executeUpdate(refreshUpdate, { args: [req], updateId: 'refresh-CS-RENEW-DUP' });
        expect(sameId).toEqual(first);

        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PROVISIONED', 2],
          ['RENEWAL', 3],
        ]);
        const state = await handle.query(getOrderQuery);
        expect(state.seq).toBe(3);
        expect(state.appliedOrderIds).toEqual(['CS-RENEW-DUP']);
        expect(state.details?.expireTime).toBe('2097-03-01T00:00:00.000Z');
      });
    });

    it('when the same upgrade orderId is sent twice, then the spec is changed once and the repeat answers "already applied"', async () => {
      const mock = mockActivities();
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq, input);
        const req = { orderId: 'CS-UPGRADE-1', skuCode: 'sku-pro', spec: { amount: 20 }, testOrder: false };
        expect(await handle.executeUpdate(upgradeUpdate, { args: [req] })).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' });
        expect(await handle.executeUpdate(upgradeUpdate, { args: [{ ...req, spec: { amount: 99 } }] })).toMatchObject({ code: '000000', message: 'already applied' });
        expect(mock.calls.changeTenantSpec).toEqual([{ instanceId: input.instanceId, details: { ...V1_DETAILS, skuCode: 'sku-pro', spec: { amount: 20 } }, testOrder: false }]);
        expect(mock.transitions().map(([e, s]) => `${e}:${s}`)).toEqual(['PURCHASE_RECEIVED:1', 'PROVISIONED:2', 'UPGRADED:3']);
        const state = await handle.query(getOrderQuery);
        expect(state.appliedOrderIds).toEqual(['CS-UPGRADE-1']);
        expect(state.details).toMatchObject({ skuCode: 'sku-pro', spec: { amount: 20 } });
      });
    });

    it('when a V2 instance is upgraded, then the new spec is pulled with Query Order for the change order', async () => {
      const mock = mockActivities({ details: V2_DETAILS });
      const input = v2Input();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq, input);
        mock.control.details = { ...V2_DETAILS, skuCode: 'sku-enterprise', spec: { linearValue: 50 } };
        expect(await handle.executeUpdate(upgradeUpdate, { args: [{ orderId: 'CS-CHANGE-1', orderLineId: 'CS-CHANGE-1-000001', testOrder: false }] })).toMatchObject({ code: '000000', phase: 'ACTIVE' });
        expect(mock.calls.fetchOrderDetails.at(-1)).toEqual({ orderId: 'CS-CHANGE-1', orderLineId: 'CS-CHANGE-1-000001' });
        expect(mock.calls.changeTenantSpec).toHaveLength(1);
        expect(mock.calls.changeTenantSpec[0]?.details).toMatchObject({ skuCode: 'sku-enterprise', spec: { linearValue: 50 }, customerId: 'cust-v2' });
      });
    });
    it('when a V2 renewal comes with a spec change, then the change order is pulled, the tenant changed and the expiry moved', async () => {
      const mock = mockActivities({ details: V2_DETAILS });
      const input = v2Input();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq, input);
        const newExpiry = '2099-06-01T00:00:00.000Z';
        mock.control.details = { ...V2_DETAILS, skuCode: 'sku-enterprise', spec: { linearValue: 80 }, expireTime: newExpiry };
        const req = renewal('CS-RC-1', { scene: 'RENEWAL_CHANGE', orderLineId: 'CS-RC-1-000001', expireTime: newExpiry });
        expect(await handle.executeUpdate(refreshUpdate, { args: [req] })).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' });
        expect(mock.calls.fetchOrderDetails.at(-1)).toEqual({ orderId: 'CS-RC-1', orderLineId: 'CS-RC-1-000001' });
        expect(mock.calls.changeTenantSpec).toEqual([
          { instanceId: input.instanceId, details: { ...V2_DETAILS, skuCode: 'sku-enterprise', spec: { linearValue: 80 }, expireTime: newExpiry }, testOrder: false },
        ]);
        expect(mock.transitions().at(-1)).toEqual(['RENEWAL_CHANGE', 3]);
        expect(await handle.query(getOrderQuery)).toMatchObject({ appliedOrderIds: ['CS-RC-1'], details: { skuCode: 'sku-enterprise', expireTime: newExpiry } });
      });
    });
  });

  describe('freeze and resume', () => {
    it('when an order is frozen, frozen again and unfrozen, then the tenant is frozen once and resumed once', async () => {
      const mock = mockActivities();
      const input = v1Input();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq, input);
        expect(await handle.executeUpdate(setStatusUpdate, { args: [freezeReq] })).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'FROZEN' });
        expect(await handle.executeUpdate(setStatusUpdate, { args: [freezeReq] })).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'FROZEN' });
        expect(mock.calls.freezeTenant).toEqual([{ instanceId: input.instanceId }]);
        expect((await handle.query(getOrderQuery)).freezeReasons).toEqual(['MARKETPLACE']);

        expect(await handle.executeUpdate(setStatusUpdate, { args: [unfreezeReq] })).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'ACTIVE' });
        expect(mock.calls.resumeTenant).toEqual([{ instanceId: input.instanceId }]);
        expect(mock.calls.freezeTenant).toHaveLength(1);
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PROVISIONED', 2],
          ['FREEZE', 3],
          ['UNFREEZE', 4],
        ]);
        expect(await handle.query(getOrderQuery)).toMatchObject({ phase: 'ACTIVE', freezeReasons: [], seq: 4 });
      });
    });

    it('when an expired instance is frozen, then a renewal into the future resumes it; an arrears freeze survives a renewal', async () => {
      const mock = mockActivities();
      await withWorker(mock, async (tq) => {
        const expired = await activeOrder(tq, v1Input({ details: { ...V1_DETAILS, expireTime: PAST } }));
        await expired.executeUpdate(setStatusUpdate, { args: [freezeReq] });
        expect((await expired.query(getOrderQuery)).freezeReasons).toEqual(['EXPIRED']);
        expect(await expired.executeUpdate(refreshUpdate, { args: [renewal('CS-RENEW-EXP')] })).toMatchObject({ code: '000000', phase: 'ACTIVE' });
        expect(mock.calls.resumeTenant).toHaveLength(1);

        const arrears = await activeOrder(tq, v1Input());
        await arrears.executeUpdate(setStatusUpdate, { args: [freezeReq] });
        expect(await arrears.executeUpdate(refreshUpdate, { args: [renewal('CS-RENEW-ARR')] })).toMatchObject({ code: '000000', phase: 'FROZEN' });
        expect(await arrears.query(getOrderQuery)).toMatchObject({ phase: 'FROZEN', freezeReasons: ['MARKETPLACE'] });
        expect(mock.calls.resumeTenant).toHaveLength(1);
        expect(mock.calls.freezeTenant).toHaveLength(2);
      });
    });
  });

  describe('continue-as-new', () => {
    it('when renewals push history past historyEventLimit, then the order continues as new carrying its state, and a renewal repeated across the boundary is still deduplicated', async () => {
      const mock = mockActivities();
      const input = v1Input({ historyEventLimit: 40 });
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq, input);
        const firstRunId = (await handle.describe()).runId;
        const applied: string[] = [];
        let runId = firstRunId;
        for (let i = 1; i <= 12 && runId === firstRunId; i++) {
          const orderId = `CS-CAN-${i}`;
          expect(await handle.executeUpdate(refreshUpdate, { args: [renewal(orderId)] })).toMatchObject({ code: '000000' });
          applied.push(orderId);
          runId = (await handle.describe()).runId;
        }
        expect(runId).not.toBe(firstRunId);

        // The first run ended by continuing as new.
        const firstRun = client.workflow.getHandle<typeof orderWorkflow>(handle.workflowId, firstRunId, { followRuns: false });
        const ended = await firstRun.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(ended).toBeInstanceOf(WorkflowContinuedAsNewError);
        expect((ended as WorkflowContinuedAsNewError).newExecutionRunId).toBe(runId);

        const carried = await handle.query(getOrderQuery);
        expect(carried).toMatchObject({ instanceId: input.instanceId, phase: 'ACTIVE', seq: 2 + applied.length, appliedOrderIds: applied, details: V1_DETAILS });

        // A renewal applied in the first run, repeated in the second: deduplicated from the carried state.
        expect(await handle.executeUpdate(refreshUpdate, { args: [renewal(applied[0]!)] })).toMatchObject({ code: '000000', message: 'already applied' });
        // A new renewal in the second run: seq keeps counting.
        expect(await handle.executeUpdate(refreshUpdate, { args: [renewal('CS-CAN-NEXT')] })).toMatchObject({ code: '000000', phase: 'ACTIVE' });
        const after = await handle.query(getOrderQuery);
        expect(after.seq).toBe(carried.seq + 1);
        expect(after.appliedOrderIds).toEqual([...applied, 'CS-CAN-NEXT']);
        expect(mock.transitions().map(([, seq]) => seq)).toEqual(Array.from({ length: after.seq }, (_, i) => i + 1));
        expect(mock.calls.provisionTenant).toHaveLength(1); // continuing as new never provisions again
      });
    });
  });

  describe('concurrency', () => {
    // Regression: the operation lock must admit one handler at a time (a flag+condition let all waiters in).
    it('when 10 different renewals arrive concurrently, then each is applied exactly once and seq grows by exactly 10', async () => {
      const mock = mockActivities();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq);
        const orderIds = Array.from({ length: 10 }, (_, i) => `CS-CONC-${i}`);
        const answers = await Promise.all(orderIds.map((id) => handle.executeUpdate(refreshUpdate, { args: [renewal(id)] })));
        for (const a of answers) expect(a).toMatchObject({ code: '000000', phase: 'ACTIVE' });
        expect(answers.filter((a) => a.message === 'already applied')).toHaveLength(0);
        const state = await handle.query(getOrderQuery);
        expect([...state.appliedOrderIds].sort()).toEqual([...orderIds].sort());
        expect(state.seq).toBe(2 + 10);
        const renewals = mock.calls.recordTransition.filter((t) => t.event === 'RENEWAL');
        expect(renewals.map((t) => t.seq).sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      });
    });

    // Same bug, made deterministic: a freeze holds the lock (its freezeTenant activity is slow) while two renewals
    // queue behind it; when the freeze finishes, both renewals are released together and one overwrites the other.
    it('when two renewals queue behind a slow freeze, then both are applied once the freeze has finished', async () => {
      const gate = deferred();
      const mock = mockActivities();
      await withWorker(mock, async (tq) => {
        const handle = await activeOrder(tq);
        mock.control.freezeGate = gate.promise;
        const frozen = await handle.startUpdate(setStatusUpdate, { args: [freezeReq], waitForStage: WorkflowUpdateStage.ACCEPTED });
        const a = await handle.startUpdate(refreshUpdate, { args: [renewal('CS-QUEUED-A')], waitForStage: WorkflowUpdateStage.ACCEPTED });
        const b = await handle.startUpdate(refreshUpdate, { args: [renewal('CS-QUEUED-B')], waitForStage: WorkflowUpdateStage.ACCEPTED });
        gate.resolve();
        expect(await frozen.result()).toMatchObject({ code: '000000', phase: 'FROZEN' });
        await a.result();
        await b.result();
        const state = await handle.query(getOrderQuery);
        expect([...state.appliedOrderIds].sort()).toEqual(['CS-QUEUED-A', 'CS-QUEUED-B']);
        expect(state.seq).toBe(5);
        expect(mock.transitions()).toEqual([
          ['PURCHASE_RECEIVED', 1],
          ['PROVISIONED', 2],
          ['FREEZE', 3],
          ['RENEWAL', 4],
          ['RENEWAL', 5],
        ]);
      });
    });
  });
});

describe('order workflow (time-skipping test server, mocked activities)', () => {
  let env: TestWorkflowEnvironment;
  let clock: ClockSkipper | undefined;

  beforeAll(async () => {
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: testInfra().timeSkippingServerPath } },
    });
    // The workflow upserts our search attributes; the test server knows none of them until told (it implements
    // AddSearchAttributes but not ListSearchAttributes, so the dev-server helper cannot be reused).
    const { IndexedValueType } = proto.temporal.api.enums.v1; // CommonJS: named exports are not visible to ESM
    const indexed: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
      KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
      INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
      KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    };
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, indexed[k.type]!])),
    });
    clock = await createClockSkipper(env);
  });
  afterAll(async () => {
    await clock?.close().catch(() => undefined);
    await env?.teardown();
  });

  async function withTimeSkippingWorker<T>(mock: Mock, fn: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('tq-order-ts');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: testInfra().workflowBundlePath },
      activities: mock.activities,
    });
    return worker.runUntil(() => fn(taskQueue));
  }

  const DAY = 86_400_000;

  it('when a purchase fails and is neither retried nor released, then the order closes after its 30-day retention', async () => {
    const mock = mockActivities({ provisioningRejected: true });
    const input = v1Input();
    await withTimeSkippingWorker(mock, async (tq) => {
      const handle = await env.client.workflow.start<typeof orderWorkflow>(ORDER_WORKFLOW_TYPE, { workflowId: orderWorkflowId(input.key), taskQueue: tq, args: [input] });
      await waitForPhase(handle, 'FAILED');
      await clock!.skip(29 * DAY);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      const final = await handle.result();
      expect(final).toMatchObject({ phase: 'FAILED', failureCode: '000100', seq: 2 });
      // Measured on the server's own clock: from start to close is the 30-day retention (plus the seconds of provisioning).
      const closed = await handle.describe();
      expect(closed.status.name).toBe('COMPLETED');
      const lifetime = closed.closeTime!.getTime() - closed.startTime.getTime();
      expect(lifetime).toBeGreaterThanOrEqual(30 * DAY);
      expect(lifetime).toBeLessThan(30 * DAY + 60_000);
      expect(mock.calls.provisionTenant).toHaveLength(1);
    });
  });

  it('when an ACTIVE order is left alone for 400 days, then no timer closes it and it still answers a release', async () => {
    const mock = mockActivities();
    const input = v1Input();
    await withTimeSkippingWorker(mock, async (tq) => {
      const handle = await env.client.workflow.start<typeof orderWorkflow>(ORDER_WORKFLOW_TYPE, { workflowId: orderWorkflowId(input.key), taskQueue: tq, args: [input] });
      await waitForPhase(handle, 'ACTIVE');
      const t0 = await env.currentTimeMs();
      await clock!.skip(400 * DAY);
      expect((await env.currentTimeMs()) - t0).toBeGreaterThanOrEqual(400 * DAY);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      expect(await handle.query(getOrderQuery)).toMatchObject({ phase: 'ACTIVE', seq: 2 });

      expect(await handle.executeUpdate(releaseUpdate, { args: [{ testOrder: false }] })).toEqual({ code: '000000', instanceId: input.instanceId, phase: 'RELEASED' });
      expect((await handle.result()).phase).toBe('RELEASED');
      expect(mock.calls.removeTenant).toEqual([{ instanceId: input.instanceId }]);
    });
  });
});
