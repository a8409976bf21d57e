import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { QUERY_ORDER_PATH, verifyApigSignature } from '../../src/marketplace-api/index.js';
import { USAGE_DATA_PATH } from '../../src/marketplace-api/usage-data-client.js';
import { OrderBook, OrderBookError, type AddSupervisionEventsInput, type CreateOrderInput } from './order-book.js';
import { LicenseCodeBook, type CreateLicenseCodeInput } from './license-codes.js';
import { UsageLedger } from './usage-data.js';

// KooGallery's open API as the simulator plays it: Query Order (spec §4.1), checked with the APIG signature,
// plus fault injection and a loopback-only admin API (`/_sim/...`) for driving a separately running simulator.
// Supervision events added through the admin API are served in `orderInfo.serviceSupervision` (our assumed shape).

// UNCONFIRMED: the real success/not-found codes are undocumented. 'MKT.0000' mirrors the other mkp-openapi
// answers (§8); 'MKT.0404' and 'MKT.0100' are our picks. Our client accepts either success code.
/** Result codes the simulated Query Order answers with. */
export const SIM_QUERY_ORDER_CODES = {
  Success: 'MKT.0000',
  OrderNotFound: 'MKT.0404',
  InvalidParameter: 'MKT.0100',
} as const;

/** One recorded call to the simulated open API (admin calls are not recorded). */
export interface RecordedCall {
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** The AK that signed it, when the signature was valid. */
  ak?: string;
  /** Whether the APIG signature verified; undefined when a fault answered before the check. */
  authorized?: boolean;
  /** Why the signature was rejected. */
  authFailure?: string;
  /** Set when an injected fault produced the answer. */
  fault?: string;
  status: number;
  resultCode?: string;
}

/** Fault injection for the open API; affects every non-admin call. */
export class SimFaults {
  /** Delay before every answer while > 0 (also applies to failures). */
  delayMs = 0;
  #failures: number[] = [];

  /** The next `n` calls answer HTTP `status` (default 500) without touching the order book. */
  failNext(n: number, status = 500): void {
    for (let i = 0; i < n; i++) this.#failures.push(status);
  }

  /** Clears delay and pending failures. */
  reset(): void {
    this.delayMs = 0;
    this.#failures = [];
  }

  /** How many injected failures are still pending. */
  get pendingFailures(): number {
    return this.#failures.length;
  }

  /** Takes the next injected failure status, if any (internal). */
  takeFailure(): number | undefined {
    return this.#failures.shift();
  }
}

/** Options of createOpenApiServer. */
export interface OpenApiServerOptions {
  /** The AK/SK our service signs with (HUAWEI_CLOUD_AK / HUAWEI_CLOUD_SK). */
  ak: string;
  sk: string;
  orderBook?: OrderBook;
  /** The license codes served by license/activate and license/heartbeat (License 授权码 2.0). */
  licenseCodes?: LicenseCodeBook;
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** Allowed X-Sdk-Date skew; APIG allows 15 minutes. */
  clockSkewMs?: number;
  /** The merchant's docking key (KOOGALLERY_ACCESS_KEY): the usage-data API checks its `signature` header with it. */
  usageKey?: string;
}

/** A running (or ready to run) simulated open API. */
export interface OpenApiServer {
  /** Starts listening; port 0 picks a free port. The URL uses 127.0.0.1 when bound to a wildcard address. */
  listen(port?: number, host?: string): Promise<{ url: string }>;
  close(): Promise<void>;
  readonly faults: SimFaults;
  /** Every non-admin call, oldest first; tests may clear it with `calls.length = 0`. */
  readonly calls: RecordedCall[];
  readonly orderBook: OrderBook;
  readonly licenseCodes: LicenseCodeBook;
  /** The usage-data API's billing (each metering_sn once) and its faults. */
  readonly usage: UsageLedger;
}

// A usage push carries up to 1,000 records (about 250 bytes each).
const MAX_BODY_BYTES = 1024 * 1024;
/** `POST /_sim/orders/:orderId/supervision-events` */
const SUPERVISION_EVENTS_ROUTE = /^\/_sim\/orders\/([^/]+)\/supervision-events\/?$/;
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge('body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': bytes.length });
  res.end(bytes);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates the simulated KooGallery open API (Query Order + admin API). */
export function createOpenApiServer(options: OpenApiServerOptions): OpenApiServer {
  const orderBook = options.orderBook ?? new OrderBook();
  const licenseCodes = options.licenseCodes ?? new LicenseCodeBook();
  const faults = new SimFaults();
  const usage = new UsageLedger(options.usageKey ?? '');
  const calls: RecordedCall[] = [];
  const log = options.logger;
  const lookupSecret = (ak: string): string | undefined => (ak === options.ak ? options.sk : undefined);

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    // Bound to the listening socket, this is the cheapest "loopback only" that still works when the
    // simulator itself listens on 0.0.0.0 for a container network.
    if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
      sendJson(res, 403, { error: 'the simulator admin API is only available from loopback' });
      return;
    }
    const route = `${req.method ?? ''} ${url.pathname.replace(/\/+$/, '')}`;
    const parseBody = (): unknown => (body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as unknown));
    try {
      if (route === 'POST /_sim/orders') {
        const order = orderBook.createOrder(parseBody() as CreateOrderInput);
        log?.info({ orderId: order.orderId, orderType: order.orderType }, 'simulator: order created');
        sendJson(res, 201, order);
      } else if (req.method === 'POST' && SUPERVISION_EVENTS_ROUTE.test(url.pathname)) {
        // Body: {node?, events: [...]}, or one event, or a list of events.
        const orderId = decodeURIComponent(SUPERVISION_EVENTS_ROUTE.exec(url.pathname)![1]!);
        const raw = parseBody();
        const input = (Array.isArray(raw) ? { events: raw } : raw !== null && typeof raw === 'object' && 'eventType' in raw ? { events: [raw] } : raw) as AddSupervisionEventsInput;
        const order = orderBook.addSupervisionEvents(orderId, input);
        if (!order) {
          sendJson(res, 404, { error: 'no such order' });
          return;
        }
        log?.info({ orderId, events: order.serviceSupervision?.events.length }, 'simulator: supervision events added');
        sendJson(res, 201, order);
      } else if (route === 'POST /_sim/license-codes') {
        sendJson(res, 201, licenseCodes.create(parseBody() as CreateLicenseCodeInput));
      } else if (route === 'GET /_sim/orders') {
        sendJson(res, 200, orderBook.list());
      } else if (req.method === 'GET' && url.pathname.startsWith('/_sim/orders/')) {
        const order = orderBook.get(decodeURIComponent(url.pathname.slice('/_sim/orders/'.length)));
        if (order) sendJson(res, 200, order);
        else sendJson(res, 404, { error: 'no such order' });
      } else if (route === 'GET /_sim/calls') {
        sendJson(res, 200, calls);
      } else if (route === 'DELETE /_sim/calls') {
        calls.length = 0;
        sendJson(res, 200, { ok: true });
      } else if (route === 'POST /_sim/faults') {
        const f = parseBody() as { failNext?: { n?: unknown; status?: unknown }; delayMs?: unknown };
        if (f.failNext !== undefined) {
          const n = Number(f.failNext.n ?? 1);
          const status = Number(f.failNext.status ?? 500);
          if (!Number.isInteger(n) || n < 0 || n > 1000 || !Number.isInteger(status) || status < 100 || status > 599) {
            sendJson(res, 400, { error: 'failNext needs an integer n (0..1000) and an HTTP status' });
            return;
          }
          faults.failNext(n, status);
        }
        if (f.delayMs !== undefined) {
          const delay = Number(f.delayMs);
          if (!Number.isFinite(delay) || delay < 0 || delay > 600_000) {
            sendJson(res, 400, { error: 'delayMs must be a number of milliseconds (0..600000)' });
            return;
          }
          faults.delayMs = delay;
        }
        sendJson(res, 200, { delayMs: faults.delayMs, pendingFailures: faults.pendingFailures });
      } else if (route === 'GET /_sim/usage') {
        sendJson(res, 200, { billed: [...usage.billed.values()], totals: Object.fromEntries(usage.totals()), duplicates: usage.duplicates, calls: usage.calls });
      } else if (route === 'POST /_sim/usage/faults') {
        const f = parseBody() as { refuseNextRecords?: unknown; code?: unknown; loseNextAnswers?: unknown };
        const n = Number(f.refuseNextRecords ?? 0);
        const lose = Number(f.loseNextAnswers ?? 0);
        if (!Number.isInteger(n) || n < 0 || n > 100_000 || !Number.isInteger(lose) || lose < 0 || lose > 1000) {
          sendJson(res, 400, { error: 'refuseNextRecords and loseNextAnswers must be small non-negative integers' });
          return;
        }
        if (n > 0) usage.refuseNextRecords(n, typeof f.code === 'string' ? f.code : undefined);
        if (lose > 0) usage.loseNextAnswers(lose);
        sendJson(res, 200, { ok: true });
      } else if (route === 'POST /_sim/reset') {
        usage.reset();
        faults.reset();
        calls.length = 0;
        sendJson(res, 200, { ok: true });
      } else {
        sendJson(res, 404, { error: 'unknown admin route' });
      }
    } catch (err) {
      if (err instanceof OrderBookError || err instanceof SyntaxError || (err as Error).name === 'ZodError') sendJson(res, 400, { error: (err as Error).message });
      else throw err;
    }
  }

  async function handleOpenApi(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const call: RecordedCall = {
      at: new Date().toISOString(),
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
    };
    calls.push(call);
    const answer = (status: number, payload: Record<string, unknown>): void => {
      call.status = status;
      const code = payload['resultCode'] ?? payload['error_code'];
      if (typeof code === 'string') call.resultCode = code;
      sendJson(res, status, payload);
    };

    if (faults.delayMs > 0) await sleep(faults.delayMs);
    const failure = faults.takeFailure();
    if (failure !== undefined) {
      call.fault = `failNext(${failure})`;
      answer(failure, { error_code: 'SIM.FAULT', error_msg: `injected failure (HTTP ${failure})` });
      return;
    }

    // The usage-data API has its own signature (spec §2.5), not APIG's.
    if (url.pathname.replace(/\/+$/, '') === USAGE_DATA_PATH && req.method === 'POST') {
      const out = usage.handle(req.headers, body);
      log?.debug({ status: out.status, code: out.body['error_code'] }, 'simulator: usage data');
      answer(out.status, out.body);
      return;
    }

    const verdict = verifyApigSignature({
      method: req.method ?? '',
      url: req.url ?? '/',
      headers: req.headers,
      body,
      lookupSecret,
      nowMs: Date.now(),
      toleranceMs: options.clockSkewMs ?? 15 * 60_000,
    });
    call.authorized = verdict.ok;
    if (!verdict.ok) {
      call.authFailure = verdict.reason;
      log?.warn({ path: url.pathname, reason: verdict.reason }, 'simulator: APIG signature rejected');
      answer(401, { error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information' });
      return;
    }
    call.ak = verdict.ak;

    const licenseCall = licenseCodes.answer(req.method ?? '', url.pathname.replace(/\/+$/, ''), body);
    if (licenseCall) {
      answer(licenseCall.status, licenseCall.payload);
      return;
    }

    if (url.pathname.replace(/\/+$/, '') !== QUERY_ORDER_PATH) {
      answer(404, { error_code: 'APIGW.0101', error_msg: 'The API does not exist or has not been published in the environment' });
      return;
    }
    if (req.method !== 'GET') {
      answer(405, { error_code: 'APIGW.0101', error_msg: 'Method not allowed' });
      return;
    }
    const orderId = url.searchParams.get('orderId') ?? '';
    const orderLineId = url.searchParams.get('orderLineId') || undefined;
    if (orderId === '') {
      answer(400, { resultCode: SIM_QUERY_ORDER_CODES.InvalidParameter, resultMsg: 'orderId is required' });
      return;
    }
    const order = orderBook.getWithLine(orderId, orderLineId);
    if (!order) {
      answer(200, {
        resultCode: SIM_QUERY_ORDER_CODES.OrderNotFound,
        resultMsg: orderBook.get(orderId) ? 'order line not found' : 'order not found',
      });
      return;
    }
    log?.debug({ orderId, orderLineId }, 'simulator: Query Order served');
    answer(200, { resultCode: SIM_QUERY_ORDER_CODES.Success, resultMsg: 'success', orderInfo: order });
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://simulator.invalid');
      let body: Buffer;
      try {
        body = await readBody(req);
      } catch (err) {
        sendJson(res, err instanceof BodyTooLarge ? 413 : 400, { error: 'could not read the request body' });
        return;
      }
      if (url.pathname === '/_sim' || url.pathname.startsWith('/_sim/')) await handleAdmin(req, res, url, body);
      else await handleOpenApi(req, res, url, body);
    })().catch((err: unknown) => {
      log?.warn({ err }, 'simulator: request failed');
      sendJson(res, 500, { error: 'simulator internal error' });
    });
  });

  return {
    faults,
    calls,
    orderBook,
    licenseCodes,
    usage,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
          const hostPart = reachable.includes(':') ? `[${reachable}]` : reachable;
          resolve({ url: `http://${hostPart}:${address.port}` });
        });
      });
    },
    close() {
      return new Promise((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets (fetch keeps them open) would otherwise hold close() for seconds.
        server.closeAllConnections();
      });
    },
  };
}
