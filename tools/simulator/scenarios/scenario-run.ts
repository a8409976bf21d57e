// The bookkeeping and checks every scenario runs with, and the helpers the scenario families share. Every answer
// must be HTTP 200 with a valid Body-Sign and the expected resultCode; anything else throws an Error naming the
// scenario, the step and what came back.
import { randomBytes } from 'node:crypto';
import { formatCompactUtc, parseCompactUtc } from '../../../src/koogallery/index.js';
import { addPeriod, type CreateOrderInput, type SimOrderInfo } from '../order-book.js';
import { ProductionCallError, type ProductionAnswer, type ProductionClient } from '../production-client.js';
import type { Scenario, ScenarioContext, ScenarioOpsApi, ScenarioOrderSource, ScenarioReport, ScenarioStep } from './context.js';

export const OK = '000000';
export const PROCESSING = '000004';
export const NOT_FOUND = '000003';

/** An ops API answer. */
export interface OpsAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
  rawBody: string;
  latencyMs: number;
}

export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The node an ops answer reports: the state's (GET, applied action) or the refusal's (409). */
export function nodeOf(body: Record<string, unknown> | undefined): string | undefined {
  const node = isRecord(body?.state) ? body.state.node : body?.node;
  return typeof node === 'string' ? node : undefined;
}

/** A fresh buyer per run so "already purchased" / "no repeat trial" rules never link runs together. */
export function newCustomer(): { customerId: string; customerName: string } {
  const customerId = randomBytes(16).toString('hex');
  return { customerId, customerName: `sim_${customerId.slice(0, 8)}` };
}

/** Shifts a compact UTC time by whole periods (negative numbers go back). */
export function shift(compact: string, periodType: 'year' | 'month' | 'day', periodNumber: number): string {
  const from = parseCompactUtc(compact);
  if (!from) throw new Error(`not a yyyyMMddHHmmss time: ${compact}`);
  return formatCompactUtc(addPeriod(from, periodType, periodNumber));
}

export const fromNow = (periodType: 'year' | 'month' | 'day', periodNumber: number): string =>
  formatCompactUtc(addPeriod(new Date(), periodType, periodNumber));

/** Bookkeeping and checks for one scenario run. */
export class ScenarioRun {
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
        err.answers.forEach((a, i) => this.expect(i === 0 ? 'V2 newInstance' : 'V2 queryInstance (poll)', a, [OK, PROCESSING]));
        throw this.fail('V2 newInstance', err.message);
      }
      throw this.fail('V2 newInstance', `request failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const [first, ...polls] = outcome.answers;
    if (first) this.expect('V2 newInstance', first, [OK, PROCESSING]);
    // A poll finds the instance still provisioning (000004) until it ends at the first 000000 with info; the
    // instance an answer 000004 named is never unknown (000003) to the polls after it.
    for (const poll of polls) this.expect('V2 queryInstance (poll)', poll, [OK, PROCESSING]);
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

/** A scenario, its name and its line in `npm run sim -- list`. */
export interface NamedScenario {
  readonly name: string;
  readonly description: string;
  readonly run: Scenario;
}

/** Wraps a scenario body with its bookkeeping. */
export function scenario(name: string, description: string, body: (run: ScenarioRun) => Promise<void>): NamedScenario {
  return {
    name,
    description,
    run: async (ctx) => {
      const run = new ScenarioRun(name, ctx);
      ctx.log(`scenario ${name} against ${ctx.client.baseUrl}`);
      await body(run);
      return run.report();
    },
  };
}
