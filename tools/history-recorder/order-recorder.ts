// The order workflow's recorders: every path happens in seconds, through the real service (ServiceKit).
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowUpdateStage } from '@temporalio/client';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId, purchaseUpdate, type OrderKey, type OrderWorkflowInput } from '../../src/orders/contract.js';
import { InstanceIdKey, InterfaceVersionKey, OrderIdKey, OrderPhaseKey, TestOrderKey } from '../../src/kernel/search-attributes.js';
import { SUPERVISION_WORKFLOW_TYPE, supervisionWorkflowId } from '../../src/supervision/contract.js';
import type { Recorder, RecorderCatalogue } from './catalogue.js';
import { freshId, inDays, sleep, until } from './recorder.js';
import type { ServiceKit } from './service-kit.js';
import { expectSupervision, GENERAL_PRODUCT, HARDWARE_PRODUCT } from './supervised-products.js';

/** The order workflow's lifecycle paths (one fixture each, named by scenario). */
const service: Recorder<ServiceKit>[] = [
  {
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
    scenario: 'v2-trial-to-formal',
    description: 'V2 TRIAL order → newInstance (claims the trial) → refreshInstance TRIAL_TO_FORMAL',
    async record(k) {
      const { workflowId, instanceId } = await k.buyV2({ orderType: 'TRIAL', periodType: 'day', periodNumber: 7, orderAmount: '0' });
      await k.v2('V2 refreshInstance TRIAL_TO_FORMAL', { activity: 'refreshInstance', scene: 'TRIAL_TO_FORMAL', orderId: freshId('CST2F'), orderLineId: 'L1', instanceId, expireTime: inDays(365) });
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
    scenario: 'v1-trial-to-formal',
    description: 'V1 newInstance with trialFlag=1 → refreshInstance trialToFormal=1',
    async record(k) {
      const { instanceId, workflowId } = await k.buyV1(k.v1Params({ trialFlag: '1', periodType: '', periodNumber: '', expireTime: inDays(7) }));
      await k.v1('V1 refreshInstance trialToFormal', 'refreshInstance', { instanceId, orderId: freshId('CSV1T2F'), expireTime: inDays(30), trialToFormal: '1', periodType: 'month', periodNumber: '1', orderAmount: '100.000' });
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
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
    scenario: 'v1-upgrade',
    description: 'V1 monthly newInstance → upgrade to another SKU (spec inline)',
    async record(k) {
      const { instanceId, workflowId } = await k.buyV1(k.v1Params({ periodType: 'month', expireTime: inDays(30) }));
      await k.v1('V1 upgrade', 'upgrade', { instanceId, orderId: freshId('CSV1UPG'), productId: 'prod-replay-v1', skuCode: 'sku-pro', amount: '10' });
      return [{ workflowId, status: 'RUNNING' }];
    },
  },
  {
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
  {
    scenario: 'v2-settled-supervised-released',
    description:
      'V2 purchase with an amount (a settlement line, PENDING while supervised) of a GENERAL-supervised product → releaseInstance before acceptance: the supervision closes RELEASED, the purchase line is written off and the order completes; exports both',
    async record(k) {
      const o = await k.buySupervisedV2(GENERAL_PRODUCT, 'REQUIREMENT_SUBMISSION', { periodType: 'month', orderAmount: '3600.000' });
      await k.v2('V2 releaseInstance', { activity: 'releaseInstance', instanceId: o.instanceId });
      const closed = await k.settle(o.supervisionId);
      if (closed.status !== 'COMPLETED') throw new Error(`supervision ${o.supervisionId} is ${closed.status} after the release`);
      expectSupervision('supervision closed by the release', await k.supervisionState(o.supervisionId), { node: 'CLOSED', outcome: 'RELEASED' });
      await k.settle(o.workflowId);
      // The path this fixture is for: the order recorded a settlement line for its purchase before the release.
      const lines = await k.settlementLinesOf(o.instanceId);
      if (lines.length !== 1 || !lines[0]!.lineKey.endsWith(':PURCHASE')) throw new Error(`expected one purchase settlement line, got ${JSON.stringify(lines)}`);
      // Since patches signal-order-when-its-release-closes-supervision and write-off-unaccepted-purchase-line-in-store:
      // the child tells the released order, which writes the line off (in the store too) and completes. Before them
      // (the fixture …after-settlement-lines.json) the line stayed PENDING and the order waited, RUNNING, forever.
      if (lines[0]!.state !== 'WRITTEN_OFF') throw new Error(`expected the purchase line WRITTEN_OFF, got ${lines[0]!.state}`);
      return [
        { workflowId: o.workflowId, status: 'COMPLETED' },
        { workflowId: o.supervisionId, workflowType: SUPERVISION_WORKFLOW_TYPE, status: 'COMPLETED' },
      ];
    },
  },
  {
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
];

export const orderCatalogue: RecorderCatalogue = { workflowType: ORDER_WORKFLOW_TYPE, service };
