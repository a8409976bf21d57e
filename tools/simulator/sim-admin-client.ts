import type { AddSupervisionEventsInput, CreateOrderInput, SimOrderInfo } from './order-book.js';
import type { RecordedCall } from './open-api-server.js';
import type { CreateLicenseCodeInput, SimLicenseCode } from './license-codes.js';

// Drives a separately running simulator (`npm run sim -- serve`) through its loopback-only admin API.

/** Client for the simulator's `/_sim/...` admin API. */
export interface SimAdminClient {
  /** POST /_sim/orders */
  createOrder(input: CreateOrderInput): Promise<SimOrderInfo>;
  /** POST /_sim/orders/:orderId/supervision-events: appends events (served by Query Order); returns the order. */
  addSupervisionEvents(orderId: string, input: AddSupervisionEventsInput): Promise<SimOrderInfo>;
  /** POST /_sim/license-codes: sells a license code for an order (License 授权码 2.0). */
  createLicenseCode(input: CreateLicenseCodeInput): Promise<SimLicenseCode>;
  /** GET /_sim/calls */
  calls(): Promise<RecordedCall[]>;
  /** POST /_sim/faults */
  setFaults(faults: { failNext?: { n: number; status?: number }; delayMs?: number }): Promise<void>;
  /** POST /_sim/reset: clears faults and recorded calls. */
  reset(): Promise<void>;
}

/** Creates an admin client for the simulator at `simUrl` (e.g. http://127.0.0.1:7090). */
export function createSimAdminClient(simUrl: string, fetchImpl: typeof fetch = fetch): SimAdminClient {
  const base = simUrl.replace(/\/+$/, '');
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetchImpl(base + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator admin ${method} ${path} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
  return {
    createOrder: (input) => call<SimOrderInfo>('POST', '/_sim/orders', input),
    addSupervisionEvents: (orderId, input) => call<SimOrderInfo>('POST', `/_sim/orders/${encodeURIComponent(orderId)}/supervision-events`, input),
    createLicenseCode: (input) => call<SimLicenseCode>('POST', '/_sim/license-codes', input),
    calls: () => call<RecordedCall[]>('GET', '/_sim/calls'),
    setFaults: async (faults) => {
      await call('POST', '/_sim/faults', faults);
    },
    reset: async () => {
      await call('POST', '/_sim/reset');
    },
  };
}
