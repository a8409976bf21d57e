// What a scenario is given and what it reports (the simulator's public scenario API, see ../scenarios.ts).
import type { AddSupervisionEventsInput, CreateOrderInput, SimOrderInfo } from '../order-book.js';
import type { ProductionClient } from '../production-client.js';

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
