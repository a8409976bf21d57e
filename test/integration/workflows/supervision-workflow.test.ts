import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderActivities } from '../../../src/orders/activities.js';
import type { SupervisionActivities } from '../../../src/supervision/activities.js';
import { getOrderQuery, releaseUpdate, type OrderDetails, type OrderWorkflowInput, type TransitionRecord } from '../../../src/orders/contract.js';
import {
  SUPERVISION_REJECTION_TYPE,
  getSupervisionQuery,
  supervisionActionUpdate,
  supervisionWorkflowId,
  type NotificationRequest,
  type SupervisionAction,
  type SupervisionInput,
  type SupervisionRecord,
  type SupervisionState,
  type SupervisionTerms,
} from '../../../src/supervision/contract.js';
import { addMissingSearchAttributes } from '../../../scripts/infra/dev-server.js';
import { createClockSkipper, type ClockSkipper } from '../../../tools/testing/clock-skipper.js';
import { testInfra, uniqueId } from '../../setup/infra.js';
import { aSupervisionInput, aSupervisionTerms } from '../../support/factories.js';

// The supervision workflow on the Java time-skipping test server: years of waiting in seconds. Activities are
// in-memory recorders; the workflow code is the bundle production runs.

const DAY = 86_400_000;
const GENERAL = aSupervisionTerms('GENERAL');
const HARDWARE = aSupervisionTerms('HARDWARE');

type Handle = WorkflowHandle<(input: SupervisionInput) => Promise<SupervisionState>>;

let env: TestWorkflowEnvironment;
let clock: ClockSkipper | undefined;
const records: SupervisionRecord[] = [];
const notifications: NotificationRequest[] = [];
const orderTransitions: TransitionRecord[] = [];

const supervisionActivities: SupervisionActivities = {
  async recordSupervision(r) {
    records.push(r);
  },
  async enqueueNotifications(requests) {
    notifications.push(...requests);
    return requests.length;
  },
};

/** Just enough of the order activities for an order to provision and record its transitions. */
const orderActivities: Partial<OrderActivities> = {
  // The merchant's catalogue as the worker reads it (V1 orders ask it before provisioning).
  async lookUpSupervisionTerms({ productId }) {
    const terms = productId === 'prod-hw' ? HARDWARE : productId === 'p' ? GENERAL : undefined;
    return terms ? { terms } : {};
  },
  async provisionTenant(input) {
    return { frontEndUrl: `https://${input.instanceId}.test`, credentialsSealed: 'sealed' };
  },
  async removeTenant() {},
  async recordTransition(r) {
    orderTransitions.push(r);
  },
};

let worker: Worker;
let taskQueue: string;
let running: Promise<void>;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testInfra().timeSkippingServerPath } },
  });
  // The Java test server knows no custom search attributes until told; the workflows upsert ours.
  await addMissingSearchAttributes(env.connection, env.namespace ?? 'default');
  clock = await createClockSkipper(env);
  taskQueue = uniqueId('tq-supervision');
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: testInfra().workflowBundlePath },
    activities: { ...orderActivities, ...supervisionActivities },
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  // A worker whose run failed is stopped already (shutdown() would throw): the test server must still be torn down.
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await clock?.close().catch(() => undefined);
  await env?.teardown();
});

async function start(terms: SupervisionTerms, extra: Partial<SupervisionInput> = {}): Promise<Handle> {
  const orderId = uniqueId('SV');
  const input = aSupervisionInput({ kind: 'v2-line', orderId, orderLineId: `${orderId}-1` }, { terms, customerId: 'cust-1', productId: 'prod-1', ...extra });
  return env.client.workflow.start('supervisionWorkflow', {
    taskQueue,
    workflowId: supervisionWorkflowId(input.orderWorkflowId),
    args: [input],
  }) as Promise<Handle>;
}

/** Polls `probe` in real time (a loaded machine may take seconds to start a child) until it yields a value. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const act = (h: Handle, action: SupervisionAction) => h.executeUpdate(supervisionActionUpdate, { args: [action] });
const stateOf = (h: Handle) => h.query(getSupervisionQuery);
const notesFor = (h: Handle) => notifications.filter((n) => n.dedupeKey.startsWith(`${h.workflowId}:`));

async function shipAndSignFor(h: Handle, phones: { consigneePhone?: string; userPhone?: string } = {}): Promise<SupervisionState> {
  await act(h, { type: 'RECORD_SHIPMENT', source: 'MERCHANT', carrier: 'SF Express', trackingNumber: uniqueId('SF'), deliveryDocuments: ['delivery-note.pdf'] });
  const r = await act(h, { type: 'SIGN_FOR', source: 'MARKETPLACE', ...phones });
  return r.state;
}

describe('supervision workflow (time-skipping)', () => {
  it('when an order stays unaccepted for 400 days, then it is still open and accepting, and its 180-day reminders were sent', async () => {
    const h = await start(GENERAL);
    await act(h, { type: 'SUBMIT_REQUIREMENT', source: 'MARKETPLACE', attachments: ['requirement.docx'] });
    await act(h, { type: 'CONFIRM_REQUIREMENT', source: 'MERCHANT' });
    await act(h, { type: 'COMPLETE_IMPLEMENTATION', source: 'MERCHANT', acceptanceReport: 'acceptance-report-001' });
    await clock!.skip(179 * DAY);
    expect(notesFor(h)).toHaveLength(0);
    await clock!.skip(221 * DAY); // day 400
    const s = await stateOf(h);
    expect(s).toMatchObject({ node: 'USER_ACCEPTANCE', status: 'PROCESSING' });
    // Day 180, then every 30 days: 180, 210, ..., 390 → 8 reminders, each to the merchant and the account manager.
    expect(s.remindersSent).toBe(8);
    const reminders = notesFor(h).filter((n) => n.kind === 'SUPERVISION_REMINDER');
    expect(reminders.filter((n) => n.recipient === 'MERCHANT')).toHaveLength(8);
    expect(reminders.filter((n) => n.recipient === 'ACCOUNT_MANAGER')).toHaveLength(8);
    expect(reminders[0]!.subject).toMatch(/unaccepted for 180 days/);
    const { status } = await h.describe();
    expect(status.name).toBe('RUNNING');
    const accepted = await act(h, { type: 'ACCEPT', source: 'MARKETPLACE' });
    expect(accepted.state).toMatchObject({ node: 'COMPLETED', outcome: 'ACCEPTED' });
    await expect(h.result()).resolves.toMatchObject({ node: 'COMPLETED' });
  });

  it('when a hardware order is signed for, then it is accepted automatically on day 10, not before', async () => {
    const h = await start(HARDWARE);
    const signed = await shipAndSignFor(h, { consigneePhone: '138****1234', userPhone: '13800001234' });
    expect(signed.signFor?.phoneMismatch).toBe(false);
    await clock!.skip(9 * DAY);
    expect((await stateOf(h)).node).toBe('USER_ACCEPTANCE');
    await clock!.skip(2 * DAY);
    const s = await stateOf(h);
    expect(s).toMatchObject({ node: 'COMPLETED', status: 'COMPLETED', outcome: 'AUTO_ACCEPTED' });
    expect(Date.parse(s.acceptedAt!) - Date.parse(signed.signFor!.at)).toBe(10 * DAY);
    expect(notesFor(h).filter((n) => n.kind === 'SUPERVISION_AUTO_ACCEPTED').map((n) => n.recipient)).toEqual(['MERCHANT', 'CUSTOMER']);
    expect(records.filter((r) => r.workflowId === h.workflowId).at(-1)?.state.node).toBe('COMPLETED');
  });

  it("when the consignee's phone differs from the user's, then it is never accepted automatically", async () => {
    const h = await start(HARDWARE);
    const signed = await shipAndSignFor(h, { consigneePhone: '13999998888', userPhone: '13800001234' });
    expect(signed.signFor?.phoneMismatch).toBe(true);
    await clock!.skip(60 * DAY);
    expect(await stateOf(h)).toMatchObject({ node: 'USER_ACCEPTANCE', status: 'PROCESSING' });
    expect(notesFor(h).some((n) => n.kind === 'SUPERVISION_AUTO_ACCEPTED')).toBe(false);
    // The user can still accept.
    expect((await act(h, { type: 'ACCEPT', source: 'MARKETPLACE' })).state.outcome).toBe('ACCEPTED');
  });

  it('when an appeal is opened, then the flow freezes (no action, no auto-acceptance) until a decision resumes it', async () => {
    const h = await start(HARDWARE);
    await shipAndSignFor(h);
    await clock!.skip(5 * DAY);
    await act(h, { type: 'OPEN_APPEAL', source: 'MARKETPLACE', openedBy: 'USER', reason: 'device damaged in transit', evidence: ['photo.jpg'] });
    await clock!.skip(20 * DAY);
    expect(await stateOf(h)).toMatchObject({ node: 'USER_ACCEPTANCE', appeal: { openedBy: 'USER' } });
    const refused = await act(h, { type: 'ACCEPT', source: 'MARKETPLACE' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((refused as WorkflowUpdateFailedError).cause as ApplicationFailure).message).toMatch(/frozen by an appeal/);
    const resumed = await act(h, { type: 'DECIDE_APPEAL', source: 'OPS', decision: 'RESUME' });
    expect(resumed.state.appeal).toBeUndefined();
    // The clock restarts at the decision: still waiting 9 days later, accepted automatically after 10.
    await clock!.skip(9 * DAY);
    expect((await stateOf(h)).node).toBe('USER_ACCEPTANCE');
    await clock!.skip(2 * DAY);
    expect(await stateOf(h)).toMatchObject({ node: 'COMPLETED', outcome: 'AUTO_ACCEPTED' });
  });

  it('when a period order is accepted, then its validity starts at acceptance, or at the recorded actual start time', async () => {
    const period = { periodType: 'month', periodNumber: 1 };
    const accept = async (actualServiceStartTime?: string) => {
      const h = await start(GENERAL, { period });
      await act(h, { type: 'SUBMIT_REQUIREMENT', source: 'MARKETPLACE' });
      await act(h, { type: 'CONFIRM_REQUIREMENT', source: 'MERCHANT' });
      await act(h, { type: 'COMPLETE_IMPLEMENTATION', source: 'MERCHANT', acceptanceReport: 'r', ...(actualServiceStartTime ? { actualServiceStartTime } : {}) });
      return (await act(h, { type: 'ACCEPT', source: 'MARKETPLACE', at: '2026-02-01T00:00:00.000Z' })).state;
    };
    expect((await accept()).validity).toEqual({ start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z', startedFrom: 'ACCEPTANCE' });
    expect((await accept('2026-01-01T00:00:00.000Z')).validity).toEqual({ start: '2026-01-01T00:00:00.000Z', end: '2026-02-01T00:00:00.000Z', startedFrom: 'ACTUAL_START_TIME' });
  });

  it('when a merchant action does not fit the node, then it is refused with the reason and the node is unchanged', async () => {
    const h = await start(GENERAL);
    const before = await stateOf(h);
    const err = await act(h, { type: 'COMPLETE_IMPLEMENTATION', source: 'MERCHANT', acceptanceReport: 'too early' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe(SUPERVISION_REJECTION_TYPE);
    expect(cause.message).toMatch(/at node REQUIREMENT_SUBMISSION/);
    const after = await stateOf(h);
    expect(after.node).toBe('REQUIREMENT_SUBMISSION');
    expect(after.seq).toBe(before.seq);
    // Rejected by the validator: nothing about it reached the history.
    const history = await h.fetchHistory();
    expect(history.events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
  });

  it('when an order waits three years, then it continues as new and every run stays bounded, carrying its reminders', async () => {
    const limit = 60;
    const h = await start(GENERAL, { historyEventLimit: limit });
    const { runId: firstRunId } = await h.describe();
    for (let day = 0; day < 3 * 365; day += 73) await clock!.skip(73 * DAY);
    const s = await stateOf(h);
    // Day 180, then every 30 days to day 1095: 31 reminders, none lost across runs, nothing closed.
    expect(s.remindersSent).toBe(31);
    expect(s.node).toBe('REQUIREMENT_SUBMISSION');
    const first = await env.client.workflow.getHandle(h.workflowId, firstRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    const latest = await h.describe();
    expect(latest.runId).not.toBe(firstRunId);
    expect(latest.historyLength).toBeLessThanOrEqual(limit + 15);
    expect(new Set(notesFor(h).map((n) => n.dedupeKey)).size).toBe(62);
  });

  it('when a supervised order is provisioned, then its supervision starts as a child, and acceptance sets the order expiry', async () => {
    const orderId = uniqueId('SVO');
    const details: OrderDetails = {
      customerId: 'cust-2',
      productId: 'prod-hw',
      chargingMode: 'PERIOD',
      periodType: 'year',
      periodNumber: 1,
      expireTime: '2099-01-01T00:00:00.000Z',
      trial: false,
      spec: {},
    };
    const input: OrderWorkflowInput = { key: { kind: 'v1-order', orderId }, interfaceVersion: 'V1', instanceId: `i-${orderId}`, testOrder: false, details };
    const order = await env.client.workflow.start('orderWorkflow', { taskQueue, workflowId: `order-${orderId}`, args: [input] });
    const child = env.client.workflow.getHandle(supervisionWorkflowId(`order-${orderId}`)) as Handle;
    const started = await eventually('the supervision child', () => stateOf(child));
    expect(started.node).toBe('IMPLEMENTATION');
    await act(child, { type: 'RECORD_SHIPMENT', source: 'MERCHANT', carrier: 'SF', trackingNumber: 'T1' });
    await act(child, { type: 'ACCEPT', source: 'MARKETPLACE', at: '2026-05-01T00:00:00.000Z' });
    const o = await eventually('the order to learn the outcome', async () => {
      const q = await order.query(getOrderQuery);
      return q.supervision?.outcome ? q : undefined;
    });
    expect(o.supervision).toMatchObject({ outcome: 'ACCEPTED', acceptedAt: '2026-05-01T00:00:00.000Z' });
    expect(o.details?.expireTime).toBe('2027-05-01T00:00:00.000Z');
    const last = orderTransitions.filter((t) => t.key.orderId === orderId).at(-1);
    expect(last).toMatchObject({ event: 'SUPERVISION_ACCEPTED', details: { expireTime: '2027-05-01T00:00:00.000Z' } });
    await order.executeUpdate(releaseUpdate, { args: [{ testOrder: false }] });
  });

  it('when a supervised order is released before acceptance, then its supervision closes', async () => {
    const orderId = uniqueId('SVR');
    const details: OrderDetails = { customerId: 'c', productId: 'p', chargingMode: 'ONE_TIME', trial: false, spec: {} };
    const input: OrderWorkflowInput = { key: { kind: 'v1-order', orderId }, interfaceVersion: 'V1', instanceId: `i-${orderId}`, testOrder: false, details };
    const order = await env.client.workflow.start('orderWorkflow', { taskQueue, workflowId: `order-${orderId}`, args: [input] });
    const child = env.client.workflow.getHandle(supervisionWorkflowId(`order-${orderId}`)) as Handle;
    const started = await eventually('the supervision child', () => stateOf(child));
    expect(started.node).toBe('REQUIREMENT_SUBMISSION');
    await order.executeUpdate(releaseUpdate, { args: [{ orderId: `${orderId}-unsub`, testOrder: false }] });
    await expect(child.result()).resolves.toMatchObject({ node: 'CLOSED', outcome: 'RELEASED' });
  });
});
