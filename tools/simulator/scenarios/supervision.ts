// The service-supervision lifecycles (spec §9): the merchant acts through the service's ops API (HTTP status and
// supervision node checked), the user through supervision events in Query Order followed by an order notification.
import { formatCompactUtc } from '../../../src/koogallery/index.js';
import { addPeriod, type CreateOrderInput, type SimSupervisionEventInput } from '../order-book.js';
import type { ProductionAnswer } from '../production-client.js';
import { SIM_HARDWARE_PRODUCT_ID, SIM_SERVICE_PRODUCT_ID, SIM_SUPERVISED_PRODUCTS, SKU_HARDWARE, SKU_SERVICE } from './products.js';
import { newCustomer, nodeOf, OK, scenario, type NamedScenario, type ScenarioRun } from './scenario-run.js';

/** How long a supervision may take to start after the purchase (provisioning, then the child workflow). */
const SUPERVISION_START_TIMEOUT_MS = 20_000;

/** A supervised order line, as the ops API and the order notification name it. */
interface SupervisedLine {
  orderId: string;
  orderLineId: string;
}

const supervisionPath = (line: SupervisedLine, suffix = ''): string =>
  `/supervision/${encodeURIComponent(line.orderId)}${suffix}?orderLineId=${encodeURIComponent(line.orderLineId)}`;

/**
 * A yearly V2 purchase of a supervised product, then waits (GET /ops/supervision) until its supervision has started
 * at `node`; returns the line and the supervision state.
 */
async function purchaseSupervised(
  run: ScenarioRun,
  product: { productId: string; skuCode: string; productName: string; kind: 'HARDWARE' | 'GENERAL' },
  node: string,
  overrides: Partial<CreateOrderInput> = {},
): Promise<{ line: SupervisedLine; state: Record<string, unknown> }> {
  run.requireOps();
  run.requireSupervisionEvents();
  const { order, orderLineId } = await run.createOrder({
    orderType: 'NEW',
    chargingMode: 'PERIOD',
    periodType: 'year',
    periodNumber: 1,
    orderAmount: '3600.000',
    productId: product.productId,
    skuCode: product.skuCode,
    productName: product.productName,
    ...newCustomer(),
    ...overrides,
  });
  await run.newInstanceV2(order, orderLineId);
  const line = { orderId: order.orderId, orderLineId };
  const step = 'ops GET supervision (started)';
  const deadline = Date.now() + SUPERVISION_START_TIMEOUT_MS;
  for (;;) {
    const answer = await run.opsCall(step, 'GET', supervisionPath(line));
    // 404 (not yet known) and 200 without a state (not yet started) are waited out; anything else is checked now.
    const started = answer.status === 200 && nodeOf(answer.body) !== undefined;
    if (started || (answer.status !== 200 && answer.status !== 404)) {
      const body = run.expectOps(step, answer, 200, node);
      return { line, state: run.expectFields(step, 'state', body.state, { kind: product.kind, status: 'PROCESSING' }) };
    }
    if (Date.now() > deadline) {
      throw run.fail(
        step,
        `no supervision started within ${SUPERVISION_START_TIMEOUT_MS} ms: is ${product.productId}=${product.kind} in the service's ` +
          `SUPERVISED_PRODUCTS? (npm start sets ${SIM_SUPERVISED_PRODUCTS} with the simulator unless SUPERVISED_PRODUCTS is set)`,
        answer,
      );
    }
    await new Promise((r) => setTimeout(r, run.ctx.pollIntervalMs ?? 200));
  }
}

/** A merchant action through the ops API: expects it applied and the supervision at `node`; returns the state. */
async function merchantAction(run: ScenarioRun, line: SupervisedLine, action: Record<string, unknown> & { type: string }, node: string): Promise<Record<string, unknown>> {
  const step = `ops ${action.type}`;
  const body = run.expectOps(step, await run.opsCall(step, 'POST', supervisionPath(line, '/actions'), action), 200, node);
  run.expectFields(step, 'answer', body, { applied: true });
  return run.expectFields(step, 'state', body.state, {});
}

/** A merchant action the current node does not take: expects 409 CONFLICT with the node unchanged. */
async function refusedAction(run: ScenarioRun, line: SupervisedLine, action: Record<string, unknown> & { type: string }, node: string): Promise<void> {
  const step = `ops ${action.type} (refused at ${node})`;
  const body = run.expectOps(step, await run.opsCall(step, 'POST', supervisionPath(line, '/actions'), action), 409, node);
  run.expectFields(step, 'answer', body, { error: 'CONFLICT' });
  run.ctx.log(`${step}: ${String(body.message)}`);
}

/**
 * A user-side event as the marketplace reports it: added to the order (Query Order serves it), then announced with
 * a signed order notification (000000 expected); then the supervision must be at `node`. Returns the state.
 */
async function userEvent(run: ScenarioRun, line: SupervisedLine, event: SimSupervisionEventInput & { eventId: string }, node: string): Promise<Record<string, unknown>> {
  const step = `order notification ${event.eventType}`;
  const added = await run.requireSupervisionEvents()(line.orderId, { events: [{ ...event, orderLineId: line.orderLineId }] });
  if (!added) throw run.fail(step, `the order source does not know order ${line.orderId}`);
  let answer: ProductionAnswer;
  try {
    answer = await run.client.orderNotification({ orderId: line.orderId, orderLineId: line.orderLineId });
  } catch (err) {
    throw run.fail(step, `request failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  run.expect(step, answer, [OK]);
  // The notification answers 000000 even when an action is refused (a retry would not help): the node tells.
  const check = `ops GET supervision after ${event.eventType}`;
  const body = run.expectOps(check, await run.opsCall(check, 'GET', supervisionPath(line)), 200, node);
  return run.expectFields(check, 'state', body.state, {});
}

/** The period validity a yearly order gets when it starts at `start` (ISO). */
function yearlyValidity(start: string, startedFrom: 'ACTUAL_START_TIME' | 'ACCEPTANCE'): Record<string, unknown> {
  return { start, end: addPeriod(new Date(start), 'year', 1).toISOString(), startedFrom };
}

/** The current time to the second, as an ISO string and as a Query Order event time. */
function wholeSecond(offsetMs = 0): { iso: string; compact: string } {
  const d = new Date(Math.floor((Date.now() + offsetMs) / 1000) * 1000);
  return { iso: d.toISOString(), compact: formatCompactUtc(d) };
}

/** The supervision scenarios, in `npm run sim -- list` order (they need the ops API). */
export const SUPERVISION_SCENARIOS: readonly NamedScenario[] = [
  scenario('v2-hardware-supervision', 'V2 purchase of supervised hardware → ops RECORD_SHIPMENT → a 2nd shipment refused (409) → SIGNED_FOR, ACCEPTED notifications → COMPLETED (needs ops API)', async (run) => {
    const phone = '13800001234';
    const { line } = await purchaseSupervised(
      run,
      { productId: SIM_HARDWARE_PRODUCT_ID, skuCode: SKU_HARDWARE, productName: 'Simulated Edge Gateway', kind: 'HARDWARE' },
      'IMPLEMENTATION',
      { mobilePhone: phone },
    );
    const shipped = await merchantAction(
      run,
      line,
      { type: 'RECORD_SHIPMENT', carrier: 'SF Express', trackingNumber: `SF${line.orderId.slice(2)}`, remark: 'simulated', deliveryDocuments: ['delivery-note.pdf'] },
      'USER_ACCEPTANCE',
    );
    run.expectFields('ops RECORD_SHIPMENT', 'state.shipment', shipped.shipment, { carrier: 'SF Express', trackingNumber: `SF${line.orderId.slice(2)}` });
    // Shipped once: a second shipment is refused while the order waits for the user.
    await refusedAction(run, line, { type: 'RECORD_SHIPMENT', carrier: 'EMS', trackingNumber: 'E0' }, 'USER_ACCEPTANCE');
    const signed = await userEvent(run, line, { eventId: `${line.orderId}-signed-for`, eventType: 'SIGNED_FOR', consigneePhone: phone }, 'USER_ACCEPTANCE');
    // Matching phones: the 10-day automatic acceptance would apply.
    run.expectFields('order notification SIGNED_FOR', 'state.signFor', signed.signFor, { phoneMismatch: false });
    const acceptedAt = wholeSecond();
    const done = await userEvent(run, line, { eventId: `${line.orderId}-accepted`, eventType: 'ACCEPTED', eventTime: acceptedAt.compact }, 'COMPLETED');
    run.expectFields('order notification ACCEPTED', 'state', done, { status: 'COMPLETED', outcome: 'ACCEPTED', acceptedAt: acceptedAt.iso });
    run.expectFields('order notification ACCEPTED', 'state.validity', done.validity, yearlyValidity(acceptedAt.iso, 'ACCEPTANCE'));
  }),

  scenario('v2-service-supervision', 'V2 purchase of a supervised service → requirement → ops reject (409 confirm) → resubmit → ops confirm → ops complete with actual start → acceptance rejected → complete → accepted, validity from actual start (needs ops API)', async (run) => {
    const { line } = await purchaseSupervised(
      run,
      { productId: SIM_SERVICE_PRODUCT_ID, skuCode: SKU_SERVICE, productName: 'Simulated Implementation Service', kind: 'GENERAL' },
      'REQUIREMENT_SUBMISSION',
    );
    await userEvent(run, line, { eventId: `${line.orderId}-requirement-1`, eventType: 'REQUIREMENT_SUBMITTED', note: 'first draft', attachments: ['requirement-v1.docx'] }, 'REQUIREMENT_CONFIRMATION');
    await merchantAction(run, line, { type: 'REJECT_REQUIREMENT', reason: 'the interface list is missing' }, 'REQUIREMENT_SUBMISSION');
    await refusedAction(run, line, { type: 'CONFIRM_REQUIREMENT' }, 'REQUIREMENT_SUBMISSION');
    const resubmitted = await userEvent(
      run,
      line,
      { eventId: `${line.orderId}-requirement-2`, eventType: 'REQUIREMENT_SUBMITTED', note: 'with the interface list', attachments: ['requirement-v2.docx'] },
      'REQUIREMENT_CONFIRMATION',
    );
    run.expectFields('order notification REQUIREMENT_SUBMITTED', 'state', resubmitted, { requirementRejections: 1 });
    await merchantAction(run, line, { type: 'CONFIRM_REQUIREMENT' }, 'IMPLEMENTATION');
    // Purchase, implementation and acceptance take seconds here: an actual start a day back keeps the two validity
    // rules (from the actual start time, from acceptance) visibly apart.
    const actualStart = wholeSecond(-86_400_000).iso;
    const implemented = { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'acceptance-report-v1.pdf', actualServiceStartTime: actualStart };
    await merchantAction(run, line, implemented, 'USER_ACCEPTANCE');
    const rejected = await userEvent(run, line, { eventId: `${line.orderId}-acceptance-rejected`, eventType: 'ACCEPTANCE_REJECTED', reason: 'training not done' }, 'IMPLEMENTATION');
    run.expectFields('order notification ACCEPTANCE_REJECTED', 'state', rejected, { acceptanceRejections: 1, lastRejectionReason: 'training not done' });
    const again = await merchantAction(run, line, { ...implemented, acceptanceReport: 'acceptance-report-v2.pdf' }, 'USER_ACCEPTANCE');
    run.expectFields('ops COMPLETE_IMPLEMENTATION', 'state.implementation', again.implementation, { acceptanceReport: 'acceptance-report-v2.pdf', actualServiceStartTime: actualStart });
    const acceptedAt = wholeSecond();
    const done = await userEvent(run, line, { eventId: `${line.orderId}-accepted`, eventType: 'ACCEPTED', eventTime: acceptedAt.compact }, 'COMPLETED');
    run.expectFields('order notification ACCEPTED', 'state', done, { status: 'COMPLETED', outcome: 'ACCEPTED', acceptedAt: acceptedAt.iso });
    run.expectFields('order notification ACCEPTED', 'state.validity', done.validity, yearlyValidity(actualStart, 'ACTUAL_START_TIME'));
  }),
];
