import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SupervisionActivities } from './activities.js';
import { supervisionEndedSignal } from '../orders/contract.js';
import { CustomerIdKey, InstanceIdKey, OrderIdKey, OrderLineIdKey, ProductIdKey, SupervisionNodeKey, TestOrderKey } from '../kernel/search-attributes.js';
import {
  SUPERVISION_REJECTION_TYPE,
  closeSupervisionSignal,
  getSupervisionQuery,
  supervisionActionUpdate,
  type NotificationRequest,
  type SupervisionAction,
  type SupervisionActionResult,
  type SupervisionInput,
  type SupervisionState,
} from './contract.js';
import {
  applyAction,
  autoAcceptDueAt,
  autoAcceptNotifications,
  close,
  complete,
  describeSupervision,
  initialSupervisionState,
  isDuplicate,
  isEnded,
  nextReminderDueAt,
  refusalOf,
  reminderNotifications,
  reminderSent,
  shapeProblem,
} from './state.js';
import { OperationLock } from '../kernel/operation-lock.js';

// Service supervision of one supervised order line (spec §9), as a durable workflow of its own, started by the
// order workflow after provisioning. It waits — for months or years — for the merchant, the user, or an appeal
// decision. No timer ever closes it: since 2024-03-05 the marketplace no longer closes supervised orders at 365
// days. Timers only send reminders (after 180 days, then at an interval) and auto-accept signed-for hardware.

// Both activities are short PostgreSQL writes: local activities keep them out of the task queue round trip.
const local = proxyLocalActivities<SupervisionActivities>({
  startToCloseTimeout: '10 s',
  // The write must happen; PostgreSQL outages are waited out.
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '30 s' },
});

function refuse(reason: string): never {
  throw ApplicationFailure.create({ type: SUPERVISION_REJECTION_TYPE, message: reason, nonRetryable: true });
}

/** The supervision workflow. */
export async function supervisionWorkflow(input: SupervisionInput): Promise<SupervisionState> {
  const { workflowId } = workflowInfo();
  const nowIso = () => new Date().toISOString();
  let state: SupervisionState = input.carried ?? initialSupervisionState(input, nowIso());
  let closeRequested = false;
  const serial = new OperationLock();
  const terms = input.terms;

  let indexedNode: string | undefined;
  async function commit(next: SupervisionState, event: string, actor?: string): Promise<void> {
    state = { ...next, seq: next.seq + 1 };
    // Only a node change is worth a command: a reminder, sign-for or appeal leaves the node where it is.
    if (state.node !== indexedNode) {
      upsertSearchAttributes([{ key: SupervisionNodeKey, value: state.node }]);
      indexedNode = state.node;
    }
    setCurrentDetails(describeSupervision(state, input.key.orderId));
    await local.recordSupervision({
      workflowId,
      orderWorkflowId: input.orderWorkflowId,
      instanceId: input.instanceId,
      key: input.key,
      testOrder: input.testOrder,
      ...(input.customerId ? { customerId: input.customerId } : {}),
      ...(input.productId ? { productId: input.productId } : {}),
      event,
      // Only an operator's action carries an actor; without one the record is what older runs wrote (replay-safe).
      ...(actor !== undefined ? { actor } : {}),
      state,
    });
  }

  async function notify(requests: NotificationRequest[]): Promise<void> {
    if (requests.length > 0) await local.enqueueNotifications(requests);
  }

  setHandler(getSupervisionQuery, () => state);

  setHandler(
    supervisionActionUpdate,
    (action) =>
      serial.run(async (): Promise<SupervisionActionResult> => {
        if (isDuplicate(state, action)) return { applied: false, state };
        // Checked again here: an action admitted by the validator may have queued behind one that moved the node.
        const why = refusalOf(state, action);
        if (why) refuse(why);
        await commit(applyAction(state, action, nowIso(), input.period), action.type, action.actor);
        return { applied: true, state };
      }),
    {
      // Refused actions never reach history: the node is unchanged and the caller gets the reason (409).
      validator: (action: SupervisionAction) => {
        const shape = shapeProblem(action);
        if (shape) refuse(shape);
        const why = refusalOf(state, action);
        if (why) refuse(why);
      },
    },
  );

  setHandler(closeSupervisionSignal, () => {
    closeRequested = true;
  });

  const historyTooLong = () => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || (input.historyEventLimit !== undefined && info.historyLength >= input.historyEventLimit);
  };

  // Every run (continued ones too) states who it is, so ops find it by order, instance or customer in the UI.
  upsertSearchAttributes([
    { key: OrderIdKey, value: input.key.orderId },
    ...(input.key.kind === 'v2-line' ? [{ key: OrderLineIdKey, value: input.key.orderLineId }] : []),
    { key: InstanceIdKey, value: input.instanceId },
    ...(input.customerId ? [{ key: CustomerIdKey, value: input.customerId }] : []),
    ...(input.productId ? [{ key: ProductIdKey, value: input.productId }] : []),
    { key: TestOrderKey, value: input.testOrder },
    { key: SupervisionNodeKey, value: state.node },
  ]);
  indexedNode = state.node;
  if (state.seq === 0) await commit(state, 'SUPERVISION_STARTED');
  else setCurrentDetails(describeSupervision(state, input.key.orderId));

  while (!isEnded(state)) {
    const seen = state.seq;
    const dues = [nextReminderDueAt(state, terms), autoAcceptDueAt(state, terms)].filter((t): t is number => t !== undefined);
    const wakeAt = dues.length > 0 ? Math.min(...dues) : undefined;
    const woken = () => state.seq !== seen || closeRequested || historyTooLong();
    if (wakeAt === undefined) await condition(woken);
    else if (wakeAt > Date.now()) await condition(woken, wakeAt - Date.now());

    if (closeRequested) {
      await serial.run(async () => {
        if (!isEnded(state)) await commit(close(state, 'RELEASED', nowIso()), 'RELEASED');
      });
      break;
    }
    await serial.run(async () => {
      if (isEnded(state)) return;
      const now = Date.now();
      const autoAt = autoAcceptDueAt(state, terms);
      if (autoAt !== undefined && autoAt <= now) {
        // Accepted as of the deadline itself, not whenever the timer fired: that instant starts a period's validity.
        await commit(complete(state, 'AUTO_ACCEPTED', new Date(autoAt).toISOString(), input.period), 'AUTO_ACCEPTED');
        await notify(autoAcceptNotifications(workflowId, input, state));
        return;
      }
      const reminderAt = nextReminderDueAt(state, terms);
      if (reminderAt !== undefined && reminderAt <= now) {
        await notify(reminderNotifications(workflowId, input, state, now));
        await commit(reminderSent(state, nowIso()), 'REMINDER_SENT');
      }
    });
    if (!isEnded(state) && historyTooLong()) {
      await condition(allHandlersFinished);
      // A release that arrived while handlers finished is handled by this run (the next loop turn), not lost.
      if (!closeRequested) await continueAsNew<typeof supervisionWorkflow>({ ...input, carried: state });
    }
  }

  // Let queued actions finish (each is refused now), then tell the order how its supervision ended. A close by the
  // order's release was not told before this patch ("it knows, and has closed"), but a settled order stays open
  // after its release until its lines are settled, and only this signal writes off the purchase line an unaccepted
  // supervision leaves: without it that order waited forever. A signal is a command, hence patched().
  await condition(allHandlersFinished);
  if (state.outcome === 'RELEASED' && !patched('signal-order-when-its-release-closes-supervision')) return state;
  try {
    await getExternalWorkflowHandle(input.orderWorkflowId).signal(supervisionEndedSignal, {
      supervisionWorkflowId: workflowId,
      node: state.node,
      outcome: state.outcome ?? 'RELEASED',
      ...(state.acceptedAt ? { acceptedAt: state.acceptedAt } : {}),
      ...(state.validity ? { validity: state.validity } : {}),
    });
  } catch {
    // The order has already closed (released): there is nobody left to tell; the read model has the outcome.
  }
  return state;
}
