import { randomBytes } from 'node:crypto';
import { formatCompactUtc, parseCompactUtc } from '../../src/koogallery/index.js';
import {
  addPeriod,
  generateOrderId,
  type AddSupervisionEventsInput,
  type CreateOrderInput,
  type SimOrderInfo,
  type SimSupervisionEventInput,
} from './order-book.js';
import { ProductionCallError, type ProductionAnswer, type ProductionClient } from './production-client.js';

// End-to-end lifecycles against a RUNNING service, played the way KooGallery would (spec §3, §4, §5, §11).
// Every answer must be HTTP 200 with a valid Body-Sign and the expected resultCode; anything else throws an Error
// naming the scenario, the step and what came back. Service-supervision scenarios (spec §9) also play the
// merchant through the ops API (HTTP status and supervision node checked) and the user through supervision events
// in Query Order followed by an order notification.

/** Where scenarios create marketplace orders: an OrderBook, or the admin API of a running simulator. */
export interface ScenarioOrderSource {
  createOrder(input: CreateOrderInput): SimOrderInfo | Promise<SimOrderInfo>;
  /** Appends user-side supervision events served by Query Order (undefined: no such order); supervision scenarios only. */
  addSupervisionEvents?(orderId: string, input: AddSupervisionEventsInput): SimOrderInfo | undefined | Promise<SimOrderInfo | undefined>;
}

/** The service's merchant ops API, where supervision scenarios act as the merchant. */
export interface ScenarioOpsApi {
  /** e.g. http://127.0.0.1:8080/ops */
  baseUrl: string;
  /** The service's OPS_API_TOKEN (sent as a Bearer token). */
  token: string;
}

/** What a scenario needs. */
export interface ScenarioContext {
  client: ProductionClient;
  orderBook: ScenarioOrderSource;
  log: (msg: string) => void;
  /** Needed by the supervision scenarios only; they fail at once, saying so, without it. */
  ops?: ScenarioOpsApi;
  /** The marketplace waits 5 s for an answer (spec §0); slower answers fail the step. */
  maxLatencyMs?: number;
  /** queryInstance polling after a 000004 answer. */
  pollIntervalMs?: number;
  maxPolls?: number;
}

/** One checked call. */
export interface ScenarioStep {
  step: string;
  status: number;
  resultCode?: string;
  /** Ops API calls: the supervision node the answer reports. */
  node?: string;
  latencyMs: number;
}

/** What a successful scenario did. */
export interface ScenarioReport {
  scenario: string;
  steps: ScenarioStep[];
  instanceIds: string[];
  durationMs: number;
}

/** A named lifecycle. */
export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioReport>;

const OK = '000000';
const PROCESSING = '000004';
const NOT_FOUND = '000003';

const PRODUCT_ID = 'OFFI000000000000000001';
const SKU_BASIC = '7f141bf1aec848598323fb3a8ad50721';
const SKU_PRO = 'a13c54d2be8c4e5bb5e0d9f1c6a7b802';

/** Supervised products of the simulator stack: a hardware gateway (HARDWARE flow) and an implementation service (GENERAL flow). */
export const SIM_HARDWARE_PRODUCT_ID = 'OFFI0000000000000000HW';
export const SIM_SERVICE_PRODUCT_ID = 'OFFI0000000000000000SV';
/** The `SUPERVISED_PRODUCTS` a stack needs for the supervision scenarios (`npm start` sets it with the simulator). */
export const SIM_SUPERVISED_PRODUCTS = `${SIM_HARDWARE_PRODUCT_ID}=HARDWARE,${SIM_SERVICE_PRODUCT_ID}=GENERAL`;
const SKU_HARDWARE = 'b5d3f0a2c4e64f1f9a8e7d6c5b4a3921';
const SKU_SERVICE = 'd8e2a6c1f3b94e07a5c2d9e8f1b6a704';

/** How long a supervision may take to start after the purchase (provisioning, then the child workflow). */
const SUPERVISION_START_TIMEOUT_MS = 20_000;

/** An ops API answer. */
interface OpsAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
  rawBody: string;
  latencyMs: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The node an ops answer reports: the state's (GET, applied action) or the refusal's (409). */
function nodeOf(body: Record<string, unknown> | undefined): string | undefined {
  const node = isRecord(body?.state) ? body.state.node : body?.node;
  return typeof node === 'string' ? node : undefined;
}

/** A fresh buyer per run so "already purchased" / "no repeat trial" rules never link runs together. */
function newCustomer(): { customerId: string; customerName: string } {
  const customerId = randomBytes(16).toString('hex');
  return { customerId, customerName: `sim_${customerId.slice(0, 8)}` };
}

/** Shifts a compact UTC time by whole periods (negative numbers go back). */
function shift(compact: string, periodType: 'year' | 'month' | 'day', periodNumber: number): string {
  const from = parseCompactUtc(compact);
  if (!from) throw new Error(`not a yyyyMMddHHmmss time: ${compact}`);
  return formatCompactUtc(addPeriod(from, periodType, periodNumber));
}

const fromNow = (periodType: 'year' | 'month' | 'day', periodNumber: number): string =>
  formatCompactUtc(addPeriod(new Date(), periodType, periodNumber));

/** Bookkeeping and checks for one scenario run. */
class ScenarioRun {
  readonly steps: ScenarioStep[] = [];
  readonly instanceIds: string[] = [];
  readonly #started = Date.now();

  constructor(
    readonly name: string,
    readonly ctx: ScenarioContext,
  ) {}

  get client(): ProductionClient {
    return this.ctx.client;
  }

  fail(step: string, problem: string, answer?: { status: number; rawBody: string }): Error {
    const got = answer ? ` — got HTTP ${answer.status}: ${answer.rawBody.slice(0, 500)}` : '';
    return new Error(`[${this.name}] ${step}: ${problem}${got}`);
  }

  /** Records the answer and checks HTTP 200, Body-Sign, latency and resultCode; returns the body. */
  expect(step: string, answer: ProductionAnswer, codes: readonly string[]): Record<string, unknown> {
    const code: unknown = answer.body?.resultCode;
    this.steps.push({
      step,
      status: answer.status,
      ...(typeof code === 'string' ? { resultCode: code } : {}),
      latencyMs: answer.latencyMs,
    });
    this.ctx.log(`${step}: HTTP ${answer.status} ${typeof code === 'string' ? code : '(no resultCode)'} in ${answer.latencyMs} ms`);
    if (answer.status !== 200) throw this.fail(step, 'expected HTTP 200', answer);
    if (!answer.bodySignValid) {
      const name = answer.bodySignHeaderName ?? (answer.bodySignHeader === undefined ? 'missing' : 'Body-Sign');
      throw this.fail(step, `Body-Sign header invalid (name: ${name}, value: ${String(answer.bodySignHeader)})`, answer);
    }
    if (answer.body === null || typeof answer.body !== 'object') throw this.fail(step, 'answer is not a JSON object', answer);
    if (typeof code !== 'string' || !codes.includes(code)) {
      throw this.fail(step, `expected resultCode ${codes.join(' or ')}`, answer);
    }
    const limit = this.ctx.maxLatencyMs ?? 5000;
    if (answer.latencyMs > limit) throw this.fail(step, `answered after ${answer.latencyMs} ms (the marketplace waits ${limit} ms)`);
    return answer.body as Record<string, unknown>;
  }

  /** Checks decrypted appInfo: frontEndUrl plus userName and password that decrypt with the access key. */
  expectAppInfo(step: string, answer: ProductionAnswer): void {
    if (answer.appInfoError) throw this.fail(step, `appInfo credentials do not decrypt: ${answer.appInfoError}`, answer);
    const appInfo = answer.appInfo;
    if (!appInfo?.frontEndUrl) throw this.fail(step, 'appInfo.frontEndUrl missing', answer);
    if (!appInfo.userName || !appInfo.password) throw this.fail(step, 'appInfo.userName/password missing', answer);
    const encryptType: unknown = answer.body?.encryptType ?? answer.body?.info?.[0]?.encryptType;
    if (encryptType !== '1' && encryptType !== '2') throw this.fail(step, `encryptType must be '1' or '2'`, answer);
    this.ctx.log(`${step}: appInfo ok (frontEndUrl ${appInfo.frontEndUrl}, userName ${appInfo.userName})`);
  }

  async createOrder(input: CreateOrderInput): Promise<{ order: SimOrderInfo; orderLineId: string; expireTime?: string }> {
    const order = await this.ctx.orderBook.createOrder(input);
    const line = order.orderLine[0];
    if (!line) throw new Error(`[${this.name}] order ${order.orderId} has no order line`);
    this.ctx.log(`order ${order.orderId} (${order.orderType}, ${line.chargingMode}${line.expireTime ? `, expires ${line.expireTime}` : ''}) created`);
    return { order, orderLineId: line.orderLineId, ...(line.expireTime !== undefined ? { expireTime: line.expireTime } : {}) };
  }

  /** V2 newInstance (sync or async) for an order, every answer checked; returns the instanceId. */
  async newInstanceV2(order: SimOrderInfo, orderLineId: string): Promise<string> {
    let outcome;
    try {
      // No retries: a scenario must succeed at the first attempt, a retry would hide a failure.
      outcome = await this.client.newInstanceV2WithAsync(order.orderId, orderLineId, {
        retries: 0,
        pollIntervalMs: this.ctx.pollIntervalMs ?? 200,
        maxPolls: this.ctx.maxPolls ?? 50,
      });
    } catch (err) {
      if (err instanceof ProductionCallError) {
        err.answers.forEach((a, i) => this.expect(i === 0 ? 'V2 newInstance' : 'V2 queryInstance (poll)', a, [OK, PROCESSING, NOT_FOUND]));
        throw this.fail('V2 newInstance', err.message);
      }
      throw this.fail('V2 newInstance', `request failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const [first, ...polls] = outcome.answers;
    if (first) this.expect('V2 newInstance', first, [OK, PROCESSING]);
    for (const poll of polls) this.expect('V2 queryInstance (poll)', poll, [OK, NOT_FOUND]);
    this.instanceIds.push(outcome.instanceId);
    this.ctx.log(`instance ${outcome.instanceId} created for order ${order.orderId}`);
    return outcome.instanceId;
  }

  async v2(step: string, body: Record<string, unknown>, codes: readonly string[] = [OK]): Promise<ProductionAnswer> {
    let answer: ProductionAnswer;
    try {
      answer = await this.client.v2(body);
    } catch (err) {
      throw this.fail(step, `request failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.expect(step, answer, codes);
    return answer;
  }

  async queryInstanceReady(instanceId: string): Promise<void> {
    const step = 'V2 queryInstance';
    const answer = await this.v2(step, { activity: 'queryInstance', instanceId });
    const info: unknown = answer.body?.info;
    if (!Array.isArray(info) || !info.some((i: { instanceId?: unknown } | null) => i?.instanceId === instanceId)) {
      throw this.fail(step, `info does not list ${instanceId}`, answer);
    }
    this.expectAppInfo(step, answer);
  }

  /** V1 newInstance with the inline parameters of spec §3.1; checks instanceId and appInfo. */
  async newInstanceV1(params: Record<string, string>): Promise<string> {
    const step = 'V1 newInstance';
    let outcome;
    try {
      outcome = await this.client.newInstanceV1WithRetries(params, { retries: 0 });
    } catch (err) {
      if (err instanceof ProductionCallError) {
        for (const a of err.answers) this.expect(step, a, [OK]);
        throw this.fail(step, err.message);
      }
      throw this.fail(step, `request failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const answer = outcome.answers[outcome.answers.length - 1]!;
    this.expect(step, answer, [OK]);
    this.expectAppInfo(step, answer);
    this.instanceIds.push(outcome.instanceId);
    this.ctx.log(`instance ${outcome.instanceId} created for V1 order ${params['orderId'] ?? ''}`);
    return outcome.instanceId;
  }

  async v1(step: string, activity: string, params: Record<string, string>, codes: readonly string[] = [OK]): Promise<ProductionAnswer> {
    let answer: ProductionAnswer;
    try {
      answer = await this.client.v1(activity, params);
    } catch (err) {
      throw this.fail(step, `request failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.expect(step, answer, codes);
    return answer;
  }

  /** The ops API, or a clear failure when the scenario was run without it. */
  requireOps(): ScenarioOpsApi {
    if (this.ctx.ops) return this.ctx.ops;
    throw new Error(
      `[${this.name}] needs the service's ops API (ScenarioContext.ops: its URL and OPS_API_TOKEN); ` +
        'npm run sim derives it from --url (origin + /ops) and takes the token from --ops-token or OPS_API_TOKEN',
    );
  }

  /** The order source's addSupervisionEvents, or a clear failure when it has none. */
  requireSupervisionEvents(): NonNullable<ScenarioOrderSource['addSupervisionEvents']> {
    const source = this.ctx.orderBook;
    if (source.addSupervisionEvents) return source.addSupervisionEvents.bind(source);
    throw new Error(`[${this.name}] needs an order source that can add supervision events (an OrderBook or the simulator's admin client)`);
  }

  /** One ops API call, unchecked (see expectOps). */
  async opsCall(step: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<OpsAnswer> {
    const ops = this.requireOps();
    const started = Date.now();
    try {
      const res = await fetch(ops.baseUrl.replace(/\/+$/, '') + path, {
        method,
        headers: {
          authorization: `Bearer ${ops.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
      const rawBody = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        json = undefined;
      }
      return { status: res.status, body: isRecord(json) ? json : undefined, rawBody, latencyMs: Date.now() - started };
    } catch (err) {
      throw this.fail(step, `ops API ${method} ${ops.baseUrl}${path} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Records an ops answer and checks its HTTP status and the supervision node it reports; returns the body. */
  expectOps(step: string, answer: OpsAnswer, status: number, node: string): Record<string, unknown> {
    const got = nodeOf(answer.body);
    this.steps.push({ step, status: answer.status, ...(got !== undefined ? { node: got } : {}), latencyMs: answer.latencyMs });
    this.ctx.log(`${step}: HTTP ${answer.status} node ${got ?? '(none)'} in ${answer.latencyMs} ms`);
    if (answer.status === 401) {
      throw this.fail(step, "the ops API refused the token: give the service's OPS_API_TOKEN (npm run sim: --ops-token or OPS_API_TOKEN)", answer);
    }
    if (answer.status !== status) throw this.fail(step, `expected HTTP ${status}`, answer);
    if (!answer.body) throw this.fail(step, 'answer is not a JSON object', answer);
    if (got !== node) throw this.fail(step, `expected supervision node ${node}, got ${got ?? 'none'}`, answer);
    return answer.body;
  }

  /** Checks fields of a JSON object for equality (dates as ISO strings); names every mismatch. */
  expectFields(step: string, what: string, actual: unknown, expected: Record<string, unknown>): Record<string, unknown> {
    if (!isRecord(actual)) throw this.fail(step, `${what} missing`);
    const wrong = Object.entries(expected)
      .filter(([k, v]) => actual[k] !== v)
      .map(([k, v]) => `${what}.${k} is ${JSON.stringify(actual[k])}, expected ${JSON.stringify(v)}`);
    if (wrong.length > 0) throw this.fail(step, wrong.join('; '));
    return actual;
  }

  report(): ScenarioReport {
    return { scenario: this.name, steps: this.steps, instanceIds: this.instanceIds, durationMs: Date.now() - this.#started };
  }
}

/** Wraps a scenario body with its bookkeeping. */
function scenario(name: string, body: (run: ScenarioRun) => Promise<void>): Scenario {
  return async (ctx) => {
    const run = new ScenarioRun(name, ctx);
    ctx.log(`scenario ${name} against ${ctx.client.baseUrl}`);
    await body(run);
    return run.report();
  };
}

/** A yearly PERIOD purchase in the order book plus its V2 newInstance. */
async function purchaseV2(
  run: ScenarioRun,
  buyer: { customerId: string; customerName: string },
  overrides: Partial<CreateOrderInput> = {},
): Promise<{ instanceId: string; expireTime: string }> {
  const { order, orderLineId, expireTime } = await run.createOrder({
    orderType: 'NEW',
    chargingMode: 'PERIOD',
    periodType: 'year',
    periodNumber: 1,
    orderAmount: '1200.000',
    productId: PRODUCT_ID,
    skuCode: SKU_BASIC,
    productName: 'Simulated SaaS Basic',
    ...buyer,
    ...overrides,
  });
  if (!expireTime) throw new Error(`[${run.name}] purchase order ${order.orderId} has no expireTime`);
  const instanceId = await run.newInstanceV2(order, orderLineId);
  return { instanceId, expireTime };
}

/** Renewal order (RENEW) + refreshInstance scene RENEWAL; returns the new expireTime. */
async function renewV2(run: ScenarioRun, buyer: { customerId: string }, instanceId: string, expireTime: string): Promise<string> {
  const newExpireTime = shift(expireTime, 'year', 1);
  const renewal = await run.createOrder({
    orderType: 'RENEW',
    chargingMode: 'PERIOD',
    periodType: 'year',
    periodNumber: 1,
    orderAmount: '1200.000',
    expireTime: newExpireTime,
    productId: PRODUCT_ID,
    skuCode: SKU_BASIC,
    ...buyer,
  });
  await run.v2('V2 refreshInstance RENEWAL', {
    activity: 'refreshInstance',
    scene: 'RENEWAL',
    orderId: renewal.order.orderId,
    orderLineId: renewal.orderLineId,
    instanceId,
    expireTime: newExpireTime,
  });
  return newExpireTime;
}

/** Inline V1 newInstance parameters for a yearly period purchase (spec §3.1). */
function v1PurchaseParams(buyer: { customerId: string; customerName: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...buyer,
    orderId: generateOrderId(),
    productId: PRODUCT_ID,
    skuCode: SKU_BASIC,
    chargingMode: '1',
    periodType: 'year',
    periodNumber: '1',
    expireTime: fromNow('year', 1),
    ...extra,
  };
}

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

/** Every scenario by name. */
export const SCENARIOS: Record<string, Scenario> = {
  'v2-yearly-lifecycle': scenario('v2-yearly-lifecycle', async (run) => {
    const buyer = newCustomer();
    const { instanceId, expireTime } = await purchaseV2(run, buyer);
    await run.queryInstanceReady(instanceId);
    await renewV2(run, buyer, instanceId, expireTime);
    await run.v2('V2 updateInstanceStatus FREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' });
    await run.v2('V2 updateInstanceStatus UNFREEZE', { activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' });
    await run.v2('V2 releaseInstance', { activity: 'releaseInstance', instanceId });
    // Repeated releases must still succeed (spec §4.5).
    await run.v2('V2 releaseInstance (again)', { activity: 'releaseInstance', instanceId });
    await run.v2('V2 queryInstance after release', { activity: 'queryInstance', instanceId }, [NOT_FOUND]);
  }),

  'v2-upgrade': scenario('v2-upgrade', async (run) => {
    const buyer = newCustomer();
    const { instanceId, expireTime } = await purchaseV2(run, buyer, { periodType: 'month', orderAmount: '100.000' });
    const change = await run.createOrder({
      orderType: 'CHANGE',
      chargingMode: 'PERIOD',
      periodType: 'month',
      periodNumber: 1,
      orderAmount: '50.000',
      expireTime,
      productId: PRODUCT_ID,
      skuCode: SKU_PRO,
      productName: 'Simulated SaaS Pro',
      ...buyer,
    });
    await run.v2('V2 upgradeInstance', {
      activity: 'upgradeInstance',
      instanceId,
      orderId: change.order.orderId,
      orderLineId: change.orderLineId,
    });
    await run.queryInstanceReady(instanceId);
  }),

  'v2-trial-to-formal': scenario('v2-trial-to-formal', async (run) => {
    const buyer = newCustomer();
    const { instanceId } = await purchaseV2(run, buyer, {
      orderType: 'TRIAL',
      periodType: 'day',
      periodNumber: 7,
      orderAmount: '0',
    });
    const newExpireTime = fromNow('month', 1);
    const formal = await run.createOrder({
      orderType: 'TRIAL_TO_FORMAL',
      chargingMode: 'PERIOD',
      periodType: 'month',
      periodNumber: 1,
      orderAmount: '100.000',
      expireTime: newExpireTime,
      productId: PRODUCT_ID,
      skuCode: SKU_BASIC,
      ...buyer,
    });
    await run.v2('V2 refreshInstance TRIAL_TO_FORMAL', {
      activity: 'refreshInstance',
      scene: 'TRIAL_TO_FORMAL',
      orderId: formal.order.orderId,
      orderLineId: formal.orderLineId,
      instanceId,
      expireTime: newExpireTime,
    });
  }),

  'v2-renewal-refund': scenario('v2-renewal-refund', async (run) => {
    const buyer = newCustomer();
    const { instanceId, expireTime } = await purchaseV2(run, buyer);
    await renewV2(run, buyer, instanceId, expireTime);
    // 退续费: the renewal is refunded and the expiry goes back to the original one.
    const refund = await run.createOrder({
      orderType: 'UNSUBSCRIBE',
      chargingMode: 'PERIOD',
      periodType: 'year',
      periodNumber: 1,
      orderAmount: '-1200.000',
      expireTime,
      productId: PRODUCT_ID,
      skuCode: SKU_BASIC,
      ...buyer,
    });
    await run.v2('V2 refreshInstance UNSUBSCRIBE_RENEWAL_PERIOD', {
      activity: 'refreshInstance',
      scene: 'UNSUBSCRIBE_RENEWAL_PERIOD',
      orderId: refund.order.orderId,
      orderLineId: refund.orderLineId,
      instanceId,
      expireTime,
    });
  }),

  'v1-yearly-lifecycle': scenario('v1-yearly-lifecycle', async (run) => {
    const params = v1PurchaseParams(newCustomer());
    const instanceId = await run.newInstanceV1(params);
    await run.v1('V1 refreshInstance', 'refreshInstance', {
      orderId: generateOrderId(),
      instanceId,
      expireTime: shift(params['expireTime']!, 'year', 1),
      periodType: 'year',
      periodNumber: '1',
      orderAmount: '1200.000',
    });
    // expireInstance and releaseInstance carry the original purchase order (spec §3.3, §3.4).
    await run.v1('V1 expireInstance', 'expireInstance', { instanceId, orderId: params['orderId']! });
    await run.v1('V1 releaseInstance', 'releaseInstance', { instanceId, orderId: params['orderId']! });
    await run.v1('V1 releaseInstance (again)', 'releaseInstance', { instanceId, orderId: params['orderId']! });
  }),

  'v1-upgrade': scenario('v1-upgrade', async (run) => {
    const params = v1PurchaseParams(newCustomer(), { periodType: 'month', expireTime: fromNow('month', 1) });
    const instanceId = await run.newInstanceV1(params);
    await run.v1('V1 upgrade', 'upgrade', {
      instanceId,
      orderId: generateOrderId(),
      productId: PRODUCT_ID,
      skuCode: SKU_PRO,
      amount: '10',
    });
  }),

  'v1-trial-to-formal': scenario('v1-trial-to-formal', async (run) => {
    const buyer = newCustomer();
    // Trials are period specs with a trial expiry; V1 periodType only knows year/month, so none is sent (spec §11).
    const { periodType: _p, periodNumber: _n, ...trial } = v1PurchaseParams(buyer, { trialFlag: '1', expireTime: fromNow('day', 7) });
    const instanceId = await run.newInstanceV1(trial);
    await run.v1('V1 refreshInstance trialToFormal', 'refreshInstance', {
      orderId: generateOrderId(),
      instanceId,
      expireTime: fromNow('month', 1),
      trialToFormal: '1',
      productId: PRODUCT_ID,
      periodType: 'month',
      periodNumber: '1',
      orderAmount: '100.000',
    });
  }),

  'v1-renewal-refund': scenario('v1-renewal-refund', async (run) => {
    const params = v1PurchaseParams(newCustomer());
    const instanceId = await run.newInstanceV1(params);
    const originalExpireTime = params['expireTime']!;
    await run.v1('V1 refreshInstance (renewal)', 'refreshInstance', {
      orderId: generateOrderId(),
      instanceId,
      expireTime: shift(originalExpireTime, 'year', 1),
      periodType: 'year',
      periodNumber: '1',
      orderAmount: '1200.000',
    });
    // 退续费: negative amount, expiry back to the original one (spec §3.2).
    await run.v1('V1 refreshInstance (renewal refund)', 'refreshInstance', {
      orderId: generateOrderId(),
      instanceId,
      expireTime: originalExpireTime,
      periodType: 'year',
      periodNumber: '1',
      orderAmount: '-1200.000',
    });
  }),

  'v2-hardware-supervision': scenario('v2-hardware-supervision', async (run) => {
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

  'v2-service-supervision': scenario('v2-service-supervision', async (run) => {
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
};

/** One line per scenario for `npm run sim -- list`. */
export const SCENARIO_DESCRIPTIONS: Record<string, string> = {
  'v2-yearly-lifecycle': 'V2 yearly purchase → queryInstance → renewal → freeze/unfreeze → release twice → 000003',
  'v2-upgrade': 'V2 monthly purchase → CHANGE order with another SKU → upgradeInstance',
  'v2-trial-to-formal': 'V2 TRIAL order → newInstance → TRIAL_TO_FORMAL order → refreshInstance',
  'v2-renewal-refund': 'V2 yearly purchase → renewal → UNSUBSCRIBE_RENEWAL_PERIOD back to the original expiry',
  'v1-yearly-lifecycle': 'V1 yearly newInstance → refreshInstance → expireInstance → releaseInstance twice',
  'v1-upgrade': 'V1 monthly newInstance → upgrade to another SKU',
  'v1-trial-to-formal': 'V1 newInstance with trialFlag=1 → refreshInstance trialToFormal=1',
  'v1-renewal-refund': 'V1 yearly newInstance → renewal → renewal refund with a negative orderAmount',
  'v2-hardware-supervision':
    'V2 purchase of supervised hardware → ops RECORD_SHIPMENT → a 2nd shipment refused (409) → SIGNED_FOR, ACCEPTED notifications → COMPLETED (needs ops API)',
  'v2-service-supervision':
    'V2 purchase of a supervised service → requirement → ops reject (409 confirm) → resubmit → ops confirm → ops complete with actual start → acceptance rejected → complete → accepted, validity from actual start (needs ops API)',
};

