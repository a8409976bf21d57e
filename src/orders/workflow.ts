import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OrderActivities } from './activities.js';
import {
  getOrderQuery,
  NON_RETRYABLE_FAILURE_TYPES,
  ORDER_REJECTION_TYPE,
  OrderFailureType,
  purchaseFailureCode,
  purchaseUpdate,
  refreshUpdate,
  releaseUpdate,
  setStatusUpdate,
  supervisionEndedSignal,
  upgradeUpdate,
  type OperationResult,
  type OrderDetails,
  type OrderState,
  type OrderWorkflowInput,
  type ProvisionedAccess,
  type PurchaseRequest,
  type RefreshRequest,
  type StatusRequest,
  type UpgradeRequest,
  type WorkflowResultCode,
} from './contract.js';
import {
  ChargingModeKey,
  CustomerIdKey,
  InstanceIdKey,
  InterfaceVersionKey,
  OrderIdKey,
  OrderLineIdKey,
  OrderPhaseKey,
  ProductIdKey,
  TestOrderKey,
} from '../kernel/search-attributes.js';
import { closeSupervisionSignal, SUPERVISION_WORKFLOW_TYPE, supervisionWorkflowId, type SupervisionInput } from '../supervision/contract.js';
import { OrderSettlement, settlementLinesAdvancedSignal } from '../settlement/contract.js';
import {
  answer,
  applyRefresh,
  applyStatus,
  describeOrder,
  goneAnswer,
  initialOrderState,
  isGone,
  purchaseAnswer,
  rememberOrder,
  type TenantEffect,
} from './state.js';
import { OperationLock } from '../kernel/operation-lock.js';

// One order line, from purchase to release, as one durable workflow. Every marketplace operation arrives as an
// update (with a validator) so the API can answer the marketplace definitely; operations run one at a time.

const RETRY = {
  initialInterval: '200 ms',
  backoffCoefficient: 2,
  maximumInterval: '30 s',
  // Transient failures (marketplace or provisioner down) are retried until they pass: the order must not be lost.
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
} as const;

const remote = proxyActivities<OrderActivities>({ startToCloseTimeout: '15 s', retry: RETRY });
const local = proxyLocalActivities<OrderActivities>({ startToCloseTimeout: '5 s', retry: RETRY });

/** How long a failed purchase waits for a marketplace retry or a release before the order closes. */
const FAILED_ORDER_RETENTION = '30 days';

function reject(code: WorkflowResultCode, message: string): never {
  throw ApplicationFailure.create({ type: ORDER_REJECTION_TYPE, message, details: [code], nonRetryable: true });
}

function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** What went wrong, in the failing activity's own words ("Activity task failed" says nothing). */
function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof Error && cause.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * What an order line sells, behind the lifecycle: the SaaS tenant for `orderWorkflow`, or another context's product
 * (the licenses context's license instance). Every method runs inside the lifecycle's operation lock.
 */
export interface OrderFulfilment {
  /** Creates it at purchase (after Query Order and the trial claim); access is recorded with PROVISIONED. */
  create(state: OrderState, details: OrderDetails): Promise<ProvisionedAccess | undefined>;
  /** Applies a new spec: an upgrade, or a renewal with change; `orderId` is that change order. */
  changeSpec(state: OrderState, details: OrderDetails, orderId: string): Promise<void>;
  /** Freezes or resumes it after a status change or renewal. */
  applyEffect(state: OrderState, effect: TenantEffect): Promise<void>;
  /** Removes it: at release, and to undo a purchase that failed after create. */
  remove(state: OrderState): Promise<void>;
}

/** What a workflow built on the order lifecycle sees of it (to add its own handlers). */
export interface OrderLifecycle {
  /** The order's current state. */
  state(): OrderState;
  /** Runs `fn` under the order's operation lock, after every operation that arrived before it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Shows the order (and the extension's describe()) in the Temporal UI's current details again. */
  showDetails(): void;
}

/** How a workflow type builds on the order lifecycle: its fulfilment and, optionally, more handlers and state. */
export interface OrderLifecycleExtension {
  readonly fulfilment: OrderFulfilment;
  /** Registers further handlers; called once, before the first operation runs. */
  install?(lifecycle: OrderLifecycle): void;
  /** Input fields a continued run needs besides the order's (the extension's own carried state). */
  carry?(): Record<string, unknown>;
  /** A suffix for the Temporal UI's current details. */
  describe?(): string;
  /** True when the extension needs a fresh run (e.g. many updates), checked with the history length. */
  wantsContinueAsNew?(): boolean;
}

/** The SaaS fulfilment: the merchant's tenant, through the provisioner activities. */
const tenantFulfilment: OrderFulfilment = {
  create: (state, details) => remote.provisionTenant({ instanceId: state.instanceId, details, testOrder: state.testOrder }),
  changeSpec: (state, details) => remote.changeTenantSpec({ instanceId: state.instanceId, details, testOrder: state.testOrder }),
  async applyEffect(state, effect) {
    if (effect === 'freeze') await remote.freezeTenant({ instanceId: state.instanceId });
    if (effect === 'resume') await remote.resumeTenant({ instanceId: state.instanceId });
  },
  remove: (state) => remote.removeTenant({ instanceId: state.instanceId }),
};

// What a workflow built on the lifecycle needs of the order's rules (the order's state.ts is private to the context).
export { isGone } from './state.js';

/** The order workflow. */
export async function orderWorkflow(input: OrderWorkflowInput): Promise<OrderState> {
  return runOrderLifecycle(input, { fulfilment: tenantFulfilment });
}

/**
 * One order line from purchase to release: the body of `orderWorkflow`, and the building block of other contexts'
 * order-like workflows, which bring their own fulfilment (and handlers) and inherit purchase, Query Order, trials,
 * supervision, renewals, status, upgrade, release, the read model and continue-as-new.
 */
export async function runOrderLifecycle(input: OrderWorkflowInput, extension: OrderLifecycleExtension): Promise<OrderState> {
  const { fulfilment } = extension;
  const describe = (s: OrderState) => describeOrder(s) + (extension.describe?.() ?? '');
  let state: OrderState = input.carried ?? initialOrderState(input);
  let access: ProvisionedAccess | undefined;
  let retryPurchase = false;
  // A continued run has recorded its purchase already; a first run (seq at its base) has not.
  let purchaseRecorded = state.seq > (input.seqBase ?? 0);
  const lock = new OperationLock();
  const { workflowId } = workflowInfo();
  // Patch `settlement-lines` (issue #15): an order started with `settlement` records its billable events as
  // settlement lines and stays open after release until every line is paid or written off. Orders started without
  // the flag issue no new command (and write no marker). See docs/workflow-versioning.md.
  const settlement = input.settlement && patched('settlement-lines') ? new OrderSettlement({ orderWorkflowId: workflowId, instanceId: state.instanceId, productId: state.details?.productId ?? input.details?.productId, testOrder: state.testOrder, supervised: Boolean(state.details?.supervision ?? input.details?.supervision) }, state.settlement) : undefined;
  if (settlement) setHandler(settlementLinesAdvancedSignal, (p) => settlement.handleLinesAdvanced(p));

  async function transition(next: OrderState, event: string, detail?: Record<string, unknown>): Promise<void> {
    state = { ...next, seq: next.seq + 1 };
    const key = state.key;
    upsertSearchAttributes([
      { key: OrderPhaseKey, value: state.phase },
      { key: InstanceIdKey, value: state.instanceId },
      { key: OrderIdKey, value: key.orderId },
      ...(key.kind === 'v2-line' ? [{ key: OrderLineIdKey, value: key.orderLineId }] : []),
      ...(state.details?.customerId ? [{ key: CustomerIdKey, value: state.details.customerId }] : []),
      ...(state.details?.productId ? [{ key: ProductIdKey, value: state.details.productId }] : []),
      ...(state.details?.chargingMode ? [{ key: ChargingModeKey, value: state.details.chargingMode }] : []),
      { key: TestOrderKey, value: state.testOrder },
      { key: InterfaceVersionKey, value: state.interfaceVersion },
    ]);
    setCurrentDetails(describe(state));
    await local.recordTransition({
      workflowId,
      instanceId: state.instanceId,
      interfaceVersion: state.interfaceVersion,
      key: state.key,
      phase: state.phase,
      event,
      seq: state.seq,
      testOrder: state.testOrder,
      ...(state.details ? { details: state.details } : {}),
      ...(state.failureCode ? { resultCode: state.failureCode } : {}),
      ...(access ? { access } : {}),
      ...(detail ? { detail } : {}),
    });
    access = undefined; // written once; later transitions keep what the read model has
  }

  async function fail(code: WorkflowResultCode, reason: string, phase: 'FAILED' | 'REJECTED'): Promise<void> {
    await transition({ ...state, phase, failureCode: code, failureReason: reason }, phase === 'REJECTED' ? 'PURCHASE_REJECTED' : 'PURCHASE_FAILED', { reason });
  }

  /** Purchase: pull the order (V2), claim a trial, create the tenant; a later failure undoes earlier steps (saga). */
  async function provision(): Promise<void> {
    const compensations: Array<() => Promise<void>> = [];
    // The read model learns of the order at once, so an async purchase (000004) can be polled and operated on.
    if (!purchaseRecorded) {
      purchaseRecorded = true;
      await transition(state, 'PURCHASE_RECEIVED');
    }
    try {
      let details: OrderDetails | undefined = state.details;
      if (!details) {
        if (state.key.kind !== 'v2-line') throw ApplicationFailure.create({ type: OrderFailureType.InvalidOrder, message: 'V1 order without details' });
        details = (await remote.fetchOrderDetails({ orderId: state.key.orderId, orderLineId: state.key.orderLineId })).details;
        state = { ...state, details };
        // Patch `upsert-details-after-query-order`: make a V2 order findable by customer, product and charging mode
        // as soon as Query Order answers, not only once provisioning has settled (which can take hours while the
        // provisioner is down) — the order ops look for is the stuck one. A new command, hence patched(): runs that
        // passed this point without it replay without it. See docs/workflow-versioning.md.
        if (patched('upsert-details-after-query-order')) {
          const found = [
            ...(details.customerId ? [{ key: CustomerIdKey, value: details.customerId }] : []),
            ...(details.productId ? [{ key: ProductIdKey, value: details.productId }] : []),
            ...(details.chargingMode ? [{ key: ChargingModeKey, value: details.chargingMode }] : []),
          ];
          if (found.length > 0) upsertSearchAttributes(found);
        }
      } else if (state.key.kind !== 'v2-line' && patched('look-up-v1-supervision-in-worker')) {
        // Patch `look-up-v1-supervision-in-worker`: whether a product is supervised is answered by the worker, from
        // the merchant's catalogue, for every order (V2: in fetchOrderDetails). The V1 API used to stamp the terms
        // on the pushed details; runs started that way replay without this local activity and keep what they were
        // started with. See docs/workflow-versioning.md.
        const { terms } = await local.lookUpSupervisionTerms({ ...(details.productId ? { productId: details.productId } : {}), orderType: details.trial ? 'TRIAL' : 'NEW' });
        const { supervision: _asPushed, ...rest } = details;
        details = terms ? { ...rest, supervision: terms } : rest;
        state = { ...state, details };
      }
      if (details.trial && details.customerId && details.productId) {
        const claim = await remote.claimTrialBenefit({ customerId: details.customerId, productId: details.productId, instanceId: state.instanceId });
        if (!claim.granted) {
          await fail('000105', `customer already holds the trial benefit (instance ${claim.holderInstanceId})`, 'REJECTED');
          return;
        }
        compensations.push(() => remote.releaseTrialBenefit({ customerId: details.customerId!, productId: details.productId!, instanceId: state.instanceId }));
      }
      access = await fulfilment.create(state, details);
      compensations.push(() => fulfilment.remove(state));
      await transition({ ...state, phase: 'ACTIVE', failureCode: undefined, failureReason: undefined }, 'PROVISIONED');
      await settlement?.withProduct(details).recordBillableEvent({ kind: 'PURCHASE', orderId: state.key.orderId, amount: details.orderAmount, at: new Date().toISOString() });
    } catch (err) {
      // Unwind in reverse; keep going past a failed compensation; the order records the original failure.
      for (const undo of compensations.reverse()) {
        try {
          await undo();
        } catch {
          /* recorded by the activity's own failure in history; the original error decides the outcome */
        }
      }
      access = undefined;
      await fail(purchaseFailureCode(failureType(err)), failureMessage(err), 'FAILED');
    }
  }

  /**
   * Starts the order's supervision (§9) once, after provisioning. Test orders are not supervised: dial tests replay
   * them twice a day and nobody delivers or accepts anything for them. Renewals never get here (§9: renewal orders
   * do not go through supervision); they are refresh updates on this workflow.
   */
  async function startSupervision(): Promise<void> {
    const terms = state.details?.supervision;
    if (!terms || state.testOrder || state.supervision || (state.phase !== 'ACTIVE' && state.phase !== 'FROZEN')) return;
    const id = supervisionWorkflowId(workflowId);
    const d = state.details!;
    const supervisionInput: SupervisionInput = {
      orderWorkflowId: workflowId,
      instanceId: state.instanceId,
      key: state.key,
      terms,
      testOrder: state.testOrder,
      ...(d.customerId ? { customerId: d.customerId } : {}),
      ...(d.productId ? { productId: d.productId } : {}),
      ...(d.chargingMode === 'PERIOD' && d.periodType && d.periodNumber !== undefined ? { period: { periodType: d.periodType, periodNumber: d.periodNumber } } : {}),
    };
    try {
      // Abandoned, not terminated, when this run closes: the order continues as new while supervision waits on.
      await startChild(SUPERVISION_WORKFLOW_TYPE, {
        workflowId: id,
        args: [supervisionInput],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `${terms.kind === 'HARDWARE' ? 'Hardware' : 'Service'} supervision of order ${state.key.orderId}${state.key.kind === 'v2-line' ? ` line ${state.key.orderLineId}` : ''}`,
        staticDetails: `instance \`${state.instanceId}\` · order workflow \`${workflowId}\``,
      });
    } catch (err) {
      // Matched by name: workflow code may import only @temporalio/workflow, which does not export the class.
      if ((err as Error | undefined)?.name !== 'WorkflowExecutionAlreadyStartedError') throw err;
    }
    await transition({ ...state, supervision: { workflowId: id } }, 'SUPERVISION_STARTED', { supervisionWorkflowId: id, kind: terms.kind });
  }

  setHandler(getOrderQuery, () => (settlement ? { ...state, settlement: settlement.state } : state));

  setHandler(supervisionEndedSignal, (ended) =>
    lock.run(async () => {
      if (!state.supervision || state.supervision.outcome || ended.supervisionWorkflowId !== state.supervision.workflowId) return;
      // A period order's validity starts at acceptance (or the recorded actual start): its expiry follows.
      const details = ended.validity && state.details ? { ...state.details, expireTime: ended.validity.end } : state.details;
      const supervision = {
        ...state.supervision,
        node: ended.node,
        outcome: ended.outcome,
        ...(ended.acceptedAt ? { acceptedAt: ended.acceptedAt } : {}),
        ...(ended.validity ? { validity: ended.validity } : {}),
      };
      await settlement?.onSupervisionEnded(ended, state.key.orderId, state.details?.orderAmount);
      await transition({ ...state, ...(details ? { details } : {}), supervision }, `SUPERVISION_${ended.outcome}`, {
        ...(ended.acceptedAt ? { acceptedAt: ended.acceptedAt } : {}),
        ...(ended.validity ? { validityStart: ended.validity.start, validityEnd: ended.validity.end } : {}),
      });
    }),
  );

  setHandler(
    purchaseUpdate,
    async (): Promise<OperationResult> => {
      // A marketplace retry of a failed purchase is a request to try again.
      if (state.phase === 'FAILED') retryPurchase = true;
      await condition(() => state.phase !== 'PROVISIONING' && !retryPurchase);
      return purchaseAnswer(state);
    },
    {
      // Validators type their argument (the SDK does not infer it) and still check it: a caller can send anything.
      validator: (req: PurchaseRequest) => {
        if (!req || typeof req.businessId !== 'string' || req.businessId.length === 0) reject('000005', 'purchase without businessId');
      },
    },
  );

  setHandler(
    refreshUpdate,
    (req) =>
      lock.run(async () => {
        // A renewal that overtakes its purchase waits for the purchase to settle.
        await condition(() => state.phase !== 'PROVISIONING');
        if (isGone(state.phase)) return goneAnswer(state, req.testOrder);
        if (state.appliedOrderIds.includes(req.orderId)) return answer(state, '000000', 'already applied');
        const { state: next, effect } = applyRefresh(state, req, Date.now());
        let details = next.details;
        if (req.scene === 'RENEWAL_CHANGE' && state.key.kind === 'v2-line') {
          const changed = await remote.fetchOrderDetails({ orderId: req.orderId, ...(req.orderLineId ? { orderLineId: req.orderLineId } : {}) });
          details = { ...details!, ...pickSpec(changed.details) };
          await fulfilment.changeSpec(state, details, req.orderId);
        }
        await fulfilment.applyEffect(state, effect);
        const renewedFrom = state.details?.expireTime;
        await transition({ ...next, details }, req.scene, { orderId: req.orderId, expireTime: req.expireTime, orderAmount: req.orderAmount });
        await settlement?.onRefresh(req, renewedFrom);
        return answer(state, '000000');
      }),
    {
      validator: (req: RefreshRequest) => {
        if (!req || typeof req.orderId !== 'string' || Number.isNaN(Date.parse(req.expireTime))) reject('000005', 'refresh without orderId or expireTime');
      },
    },
  );

  setHandler(
    setStatusUpdate,
    (req) =>
      lock.run(async () => {
        await condition(() => state.phase !== 'PROVISIONING');
        if (isGone(state.phase)) return goneAnswer(state, req.testOrder);
        const { state: next, effect } = applyStatus(state, req, Date.now());
        await fulfilment.applyEffect(state, effect);
        if (next.phase !== state.phase || next.freezeReasons.length !== state.freezeReasons.length) {
          await transition(next, req.action, { reason: req.reason });
        }
        return answer(state, '000000');
      }),
    {
      validator: (req: StatusRequest) => {
        if (!req || (req.action !== 'FREEZE' && req.action !== 'UNFREEZE')) reject('000005', 'unknown status action');
      },
    },
  );

  setHandler(
    upgradeUpdate,
    (req) =>
      lock.run(async () => {
        await condition(() => state.phase !== 'PROVISIONING');
        if (isGone(state.phase)) return goneAnswer(state, req.testOrder);
        if (state.appliedOrderIds.includes(req.orderId)) return answer(state, '000000', 'already applied');
        let details: OrderDetails = state.details ?? { trial: false, spec: {} };
        let upgradeAmount: string | undefined;
        if (state.interfaceVersion === 'V2') {
          const changed = await remote.fetchOrderDetails({ orderId: req.orderId, ...(req.orderLineId ? { orderLineId: req.orderLineId } : {}) });
          details = { ...details, ...pickSpec(changed.details) };
          upgradeAmount = changed.details.orderAmount;
        } else {
          details = {
            ...details,
            ...(req.skuCode ? { skuCode: req.skuCode } : {}),
            ...(req.productId ? { productId: req.productId } : {}),
            spec: { ...details.spec, ...(req.spec ?? {}) },
          };
        }
        await fulfilment.changeSpec(state, details, req.orderId);
        await transition(rememberOrder({ ...state, details }, req.orderId), 'UPGRADED', { orderId: req.orderId, skuCode: details.skuCode });
        await settlement?.recordBillableEvent({ kind: 'UPGRADE', orderId: req.orderId, amount: upgradeAmount, at: new Date().toISOString() });
        return answer(state, '000000');
      }),
    {
      validator: (req: UpgradeRequest) => {
        if (!req || typeof req.orderId !== 'string' || req.orderId.length === 0) reject('000005', 'upgrade without orderId');
      },
    },
  );

  setHandler(releaseUpdate, (req) =>
    lock.run(async () => {
      // A release that overtakes its purchase waits for it: the tenant being created must not be orphaned.
      await condition(() => state.phase !== 'PROVISIONING');
      if (state.phase === 'RELEASED') return answer(state, '000000', 'already released');
      if (state.phase === 'ACTIVE' || state.phase === 'FROZEN') {
        // A trial's benefit stays claimed after release: §11 allows one trial per customer and product, ever.
        await fulfilment.remove(state);
      }
      if (state.supervision && !state.supervision.outcome) {
        try {
          await getExternalWorkflowHandle(state.supervision.workflowId).signal(closeSupervisionSignal, { reason: 'RELEASED', ...(req.orderId ? { orderId: req.orderId } : {}) });
        } catch {
          // Already ended on its own: its end signal is on the way or arrived; nothing to close.
        }
      }
      await transition({ ...state, phase: 'RELEASED', freezeReasons: [] }, 'RELEASED', { orderId: req.orderId });
      return answer(state, '000000');
    }),
  );

  const historyTooLong = () => {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      (input.historyEventLimit !== undefined && info.historyLength >= input.historyEventLimit) ||
      extension.wantsContinueAsNew?.() === true
    );
  };

  extension.install?.({ state: () => state, exclusive: (fn) => lock.run(fn), showDetails: () => setCurrentDetails(describe(state)) });

  if (state.seq === 0) setCurrentDetails(describe(state));

  // Main loop: provision (again, when a failed purchase is retried), then wait for the end of the order.
  for (;;) {
    if (state.phase === 'PROVISIONING') await provision();
    if (state.details?.supervision && !state.supervision) await lock.run(startSupervision);
    if (state.phase === 'FAILED') {
      const retried = await condition(() => retryPurchase || state.phase === 'RELEASED', FAILED_ORDER_RETENTION);
      if (retried && retryPurchase && state.phase === 'FAILED') {
        retryPurchase = false;
        await transition({ ...state, phase: 'PROVISIONING' }, 'PURCHASE_RETRIED');
        continue;
      }
      retryPurchase = false;
      if (!retried) break;
    }
    if (state.phase === 'REJECTED') break;
    await condition(() => state.phase === 'RELEASED' || state.phase === 'PROVISIONING' || historyTooLong());
    if (state.phase === 'RELEASED') break;
    if (state.phase !== 'PROVISIONING' && historyTooLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof orderWorkflow>({ ...input, details: state.details, carried: { ...state, ...(settlement ? { settlement: settlement.state } : {}) }, ...extension.carry?.() });
    }
  }
  // Released: the order stays open until its last settlement line is paid or written off.
  while (settlement && !(await settlement.untilSettled(historyTooLong))) {
    await condition(allHandlersFinished);
    await continueAsNew<typeof orderWorkflow>({ ...input, details: state.details, carried: { ...state, settlement: settlement.state }, ...extension.carry?.() });
  }
  // Let in-flight updates (e.g. duplicate purchases waiting for their answer) finish before the run closes.
  await condition(allHandlersFinished);
  return settlement ? { ...state, settlement: settlement.state } : state;
}

/** The spec-bearing fields of a change order. */
function pickSpec(d: OrderDetails): Partial<OrderDetails> {
  return {
    ...(d.productId ? { productId: d.productId } : {}),
    ...(d.skuCode ? { skuCode: d.skuCode } : {}),
    ...(d.expireTime ? { expireTime: d.expireTime } : {}),
    spec: d.spec,
  };
}
