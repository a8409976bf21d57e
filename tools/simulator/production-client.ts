import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  BODY_SIGN_HEADER,
  computeV1AuthToken,
  computeV2Signature,
  decryptField,
  formatCompactUtc,
  verifyBodySignHeader,
  type EncryptType,
} from '../../src/koogallery/index.js';

// Plays the marketplace's side of the production interface (spec §2, §3, §4): signs V1 GETs and V2 POSTs the way
// KooGallery does, checks the Body-Sign of every answer over the exact bytes received, and decrypts appInfo.
//
// The default transport is node:http(s), not fetch: fetch lower-cases header names, and the marketplace rejects
// `Body-sign` (spec §2.3), so only raw headers can tell whether the exact name `Body-Sign` was sent.
// With a custom `fetchImpl` the name's case cannot be checked and any casing is accepted.

/** What the service answered, with the marketplace-side checks applied. */
export interface ProductionAnswer {
  status: number;
  /** Parsed JSON, or null when the body is not JSON. */
  body: any;
  rawBody: string;
  /** Body-Sign present under its exact name and valid over the exact bytes received. */
  bodySignValid: boolean;
  bodySignHeader?: string;
  /** The header name as sent (e.g. 'body-sign' when mis-cased); absent when unknown (fetch) or missing. */
  bodySignHeaderName?: string;
  latencyMs: number;
  /** appInfo from `body.appInfo` or `body.info[0].appInfo`, userName/password decrypted. */
  appInfo?: { userName?: string; password?: string; frontEndUrl?: string; adminUrl?: string };
  /** Why userName/password could not be decrypted, if they could not. */
  appInfoError?: string;
}

/** Input of ProductionClient.raw: sent exactly as given, unsigned. */
export interface RawRequest {
  method: string;
  /** Parameters (encoded with encodeURIComponent) or a ready-made query string without '?'. */
  query?: Record<string, string> | string;
  headers?: Record<string, string>;
  body?: string | Buffer | Record<string, unknown>;
}

/** Overrides for one V2 call (replay and clock-skew tests). */
export interface V2CallOptions {
  nonce?: string;
  timestamp?: string;
  headerMode?: 'query' | 'headers';
  /** Send this signature instead of the computed one. */
  signature?: string;
}

/** Path of our order-notification endpoint on the service (spec §4.8; mounted by the app). */
export const ORDER_NOTIFICATION_PATH = '/koogallery/order-notification';

/** What an order notification names (spec §4.8: "the marketplace POSTs the orderId"; the rest is UNCONFIRMED). */
export interface OrderNotificationInput {
  orderId: string;
  orderLineId?: string;
  /** Further body fields, sent as given (tests of the endpoint's tolerance). */
  extra?: Record<string, unknown>;
}

/** Options of newInstanceV2WithAsync. */
export interface NewInstanceV2Options {
  testFlag?: '0' | '1';
  pollIntervalMs?: number;
  maxPolls?: number;
  retries?: number;
  retryDelayMs?: number;
}

/** Options of newInstanceV1WithRetries. */
export interface RetryOptions {
  retries?: number;
  retryDelayMs?: number;
}

/** Result of the marketplace-style newInstance helpers. */
export interface NewInstanceOutcome {
  instanceId: string;
  /** Every answer received, in order (newInstance attempts, then queryInstance polls). */
  answers: ProductionAnswer[];
}

/** A marketplace-style helper gave up; carries every answer received. */
export class ProductionCallError extends Error {
  readonly answers: ProductionAnswer[];
  constructor(message: string, answers: ProductionAnswer[]) {
    super(message);
    this.name = 'ProductionCallError';
    this.answers = answers;
  }
}

/** Options of createProductionClient. */
export interface ProductionClientOptions {
  /** The production interface URL, e.g. http://127.0.0.1:8080/koogallery/saas */
  baseUrl: string;
  accessKey: string;
  /** Use fetch (or a stub) instead of node:http; header-name case is then not checked. */
  fetchImpl?: typeof fetch;
  now?: () => number;
  /** Where V2 credentials go: URL params (default) or x-sign/x-timestamp/x-nonce headers. */
  headerMode?: 'query' | 'headers';
  /** Per request; the marketplace itself gives up after 5 s, this only bounds a hung service. */
  timeoutMs?: number;
  /** Where order notifications go; default ORDER_NOTIFICATION_PATH on baseUrl's origin. */
  notificationUrl?: string;
}

/** A marketplace stand-in that calls the production interface. */
export interface ProductionClient {
  readonly baseUrl: string;
  /** V1 GET: adds activity, timeStamp (unless given in params) and authToken. */
  v1(activity: string, params: Record<string, string>): Promise<ProductionAnswer>;
  /** V2 POST: body serialised once, signed with a fresh 32-hex nonce and a ms timestamp. */
  v2(body: Record<string, unknown>, options?: V2CallOptions): Promise<ProductionAnswer>;
  /** Sends an unsigned request as given (hostile-input tests). */
  raw(request: RawRequest): Promise<ProductionAnswer>;
  /**
   * The order notification (spec §4.8): a V2-signed POST of `{orderId, orderLineId?}` to the notification URL; the
   * answer's Body-Sign is checked like every V2 answer (`bodySignValid`).
   */
  orderNotification(input: OrderNotificationInput, options?: V2CallOptions): Promise<ProductionAnswer>;
  /** The same marketplace (key, transport, options) calling another production URL on the same origin. */
  at(path: string): ProductionClient;
  /** V2 newInstance as the marketplace does it: retry with a new businessId on failure, poll queryInstance on 000004. */
  newInstanceV2WithAsync(orderId: string, orderLineId: string, options?: NewInstanceV2Options): Promise<NewInstanceOutcome>;
  /** V1 newInstance with marketplace-style retries (fresh businessId each attempt). */
  newInstanceV1WithRetries(params: Record<string, string>, options?: RetryOptions): Promise<NewInstanceOutcome>;
}

/** V1 `timeStamp`: UTC yyyyMMddHHmmssSSS. */
export function formatV1TimeStamp(ms: number): string {
  return formatCompactUtc(new Date(ms)) + String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
}

/** Query string with every name and value encoded by encodeURIComponent (as the marketplace does, spec §2.1). */
export function encodeQuery(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

interface WireResponse {
  status: number;
  body: Buffer;
  /** Header name → value; names as received when `exactNames`, otherwise lower-case. */
  headers: Array<[string, string]>;
  exactNames: boolean;
}

interface WireRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
}

function sendWithNodeHttp(req: WireRequest): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers['Content-Length'] = req.body.length;
    const r = send(req.url, { method: req.method, headers, timeout: req.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const pairs: Array<[string, string]> = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: pairs, exactNames: true });
      });
    });
    r.on('timeout', () => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

async function sendWithFetch(fetchImpl: typeof fetch, req: WireRequest): Promise<WireResponse> {
  const res = await fetchImpl(req.url, {
    method: req.method,
    headers: req.headers,
    ...(req.body !== undefined ? { body: req.body } : {}),
    signal: AbortSignal.timeout(req.timeoutMs),
  });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body, headers: [...res.headers.entries()], exactNames: false };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const summarise = (a: ProductionAnswer): string =>
  `HTTP ${a.status}, resultCode ${String(a.body?.resultCode ?? '(none)')}, Body-Sign ${a.bodySignValid ? 'valid' : 'INVALID'}` +
  (a.body === null ? `, body ${JSON.stringify(a.rawBody.slice(0, 200))}` : '');

/** Creates the marketplace stand-in client. */
export function createProductionClient(options: ProductionClientOptions): ProductionClient {
  const { baseUrl, accessKey, fetchImpl, now = () => Date.now(), timeoutMs = 15_000 } = options;
  const defaultHeaderMode = options.headerMode ?? 'query';

  const urlWith = (query: string): URL => {
    const url = new URL(baseUrl);
    if (query !== '') url.search = url.search ? `${url.search}&${query}` : `?${query}`;
    return url;
  };

  /** Reads appInfo from a newInstance (V1) or queryInstance (V2) answer and decrypts the credentials. */
  function readAppInfo(body: unknown): Pick<ProductionAnswer, 'appInfo' | 'appInfoError'> {
    if (body === null || typeof body !== 'object') return {};
    const b = body as Record<string, unknown>;
    const firstInfo = Array.isArray(b['info']) ? (b['info'][0] as Record<string, unknown> | undefined) : undefined;
    const source = (b['appInfo'] ?? firstInfo?.['appInfo']) as Record<string, unknown> | undefined;
    if (source === null || typeof source !== 'object') return {};
    // encryptType placement is UNCONFIRMED for queryInstance (spec §4.2): top level first, then the info item.
    const encryptType = String(b['encryptType'] ?? firstInfo?.['encryptType'] ?? '1') as EncryptType;
    const appInfo: NonNullable<ProductionAnswer['appInfo']> = {};
    if (typeof source['frontEndUrl'] === 'string') appInfo.frontEndUrl = source['frontEndUrl'];
    if (typeof source['adminUrl'] === 'string') appInfo.adminUrl = source['adminUrl'];
    const errors: string[] = [];
    for (const field of ['userName', 'password'] as const) {
      const value = source[field];
      if (value === undefined) continue;
      try {
        appInfo[field] = decryptField(accessKey, String(value), encryptType);
      } catch (err) {
        errors.push(`${field}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return { appInfo, ...(errors.length > 0 ? { appInfoError: errors.join('; ') } : {}) };
  }

  async function exchange(req: Omit<WireRequest, 'timeoutMs'>): Promise<ProductionAnswer> {
    const started = performance.now();
    const wire = fetchImpl
      ? await sendWithFetch(fetchImpl, { ...req, timeoutMs })
      : await sendWithNodeHttp({ ...req, timeoutMs });
    const latencyMs = Math.round(performance.now() - started);
    const rawBody = wire.body.toString('utf8');
    let body: unknown = null;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = null;
    }
    const exact = wire.headers.find(([name]) => name === BODY_SIGN_HEADER);
    const anyCase = exact ?? wire.headers.find(([name]) => name.toLowerCase() === BODY_SIGN_HEADER.toLowerCase());
    const nameOk = exact !== undefined || (!wire.exactNames && anyCase !== undefined);
    const answer: ProductionAnswer = {
      status: wire.status,
      body,
      rawBody,
      // Verified over the bytes received, never over a re-serialisation of `body`.
      bodySignValid: nameOk && verifyBodySignHeader(accessKey, anyCase?.[1], wire.body),
      latencyMs,
      ...readAppInfo(body),
    };
    if (anyCase) {
      answer.bodySignHeader = anyCase[1];
      if (wire.exactNames) answer.bodySignHeaderName = anyCase[0];
    }
    return answer;
  }

  const notificationUrl = new URL(options.notificationUrl ?? new URL(ORDER_NOTIFICATION_PATH, baseUrl).toString());

  /** A V2 POST to `target` as the marketplace signs it: body serialised once, fresh 32-hex nonce, ms timestamp. */
  function signedPost(target: URL, body: Record<string, unknown>, callOptions: V2CallOptions): Promise<ProductionAnswer> {
    const bytes = Buffer.from(JSON.stringify(body), 'utf8');
    const nonce = callOptions.nonce ?? randomBytes(16).toString('hex');
    const timestamp = callOptions.timestamp ?? String(now());
    const signature = callOptions.signature ?? computeV2Signature(accessKey, { nonce, timestamp, body: bytes });
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const url = new URL(target);
    if ((callOptions.headerMode ?? defaultHeaderMode) === 'headers') {
      Object.assign(headers, { 'x-sign': signature, 'x-timestamp': timestamp, 'x-nonce': nonce });
    } else {
      const query = encodeQuery({ signature, timestamp, nonce });
      url.search = url.search ? `${url.search}&${query}` : `?${query}`;
    }
    return exchange({ method: 'POST', url, headers, body: bytes });
  }

  const client: ProductionClient = {
    baseUrl,

    at(path) {
      return createProductionClient({ ...options, baseUrl: new URL(path, baseUrl).toString() });
    },

    v1(activity, params) {
      const signed: Record<string, string> = { activity, timeStamp: formatV1TimeStamp(now()), ...params };
      delete signed['authToken'];
      signed['authToken'] = computeV1AuthToken(accessKey, signed);
      return exchange({ method: 'GET', url: urlWith(encodeQuery(signed)), headers: { Accept: 'application/json' } });
    },

    v2(body, callOptions = {}) {
      return signedPost(new URL(baseUrl), body, callOptions);
    },

    orderNotification(input, callOptions = {}) {
      const body = { ...input.extra, orderId: input.orderId, ...(input.orderLineId !== undefined ? { orderLineId: input.orderLineId } : {}) };
      return signedPost(notificationUrl, body, callOptions);
    },

    raw(request) {
      const query = typeof request.query === 'string' ? request.query : encodeQuery(request.query ?? {});
      const body =
        request.body === undefined
          ? undefined
          : Buffer.isBuffer(request.body)
            ? request.body
            : Buffer.from(typeof request.body === 'string' ? request.body : JSON.stringify(request.body), 'utf8');
      return exchange({
        method: request.method.toUpperCase(),
        url: urlWith(query),
        headers: request.headers ?? {},
        ...(body !== undefined ? { body } : {}),
      });
    },

    async newInstanceV2WithAsync(orderId, orderLineId, opts = {}) {
      const { testFlag, pollIntervalMs = 200, maxPolls = 50, retries = 3, retryDelayMs = 200 } = opts;
      const flag = testFlag !== undefined ? { testFlag } : {};
      const answers: ProductionAnswer[] = [];
      const failures: string[] = [];
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await sleep(retryDelayMs);
        let answer: ProductionAnswer;
        try {
          // The marketplace sends a new businessId (and nonce) on every attempt (spec §4.1).
          answer = await client.v2({ activity: 'newInstance', orderId, orderLineId, businessId: randomUUID(), ...flag });
        } catch (err) {
          failures.push(`attempt ${attempt + 1}: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        answers.push(answer);
        const code: unknown = answer.body?.resultCode;
        const instanceId: unknown = answer.body?.instanceId;
        // An answer with a bad Body-Sign counts as failed, as in the marketplace's debugger.
        const usable = answer.status === 200 && answer.bodySignValid && typeof instanceId === 'string' && instanceId !== '';
        if (usable && code === '000000') return { instanceId, answers };
        if (usable && code === '000004') {
          for (let poll = 0; poll < maxPolls; poll++) {
            await sleep(pollIntervalMs);
            let polled: ProductionAnswer;
            try {
              polled = await client.v2({ activity: 'queryInstance', instanceId, ...flag });
            } catch {
              continue;
            }
            answers.push(polled);
            const info: unknown = polled.body?.info;
            const ready =
              polled.status === 200 &&
              polled.bodySignValid &&
              polled.body?.resultCode === '000000' &&
              Array.isArray(info) &&
              info.some((i: { instanceId?: unknown } | null) => i?.instanceId === instanceId);
            if (ready) return { instanceId, answers };
          }
          throw new ProductionCallError(
            `newInstance ${orderId}: answered 000004 but queryInstance did not return ${instanceId} within ${maxPolls} polls`,
            answers,
          );
        }
        failures.push(`attempt ${attempt + 1}: ${summarise(answer)}`);
      }
      throw new ProductionCallError(`newInstance ${orderId} failed after ${retries + 1} attempts: ${failures.join(' | ')}`, answers);
    },

    async newInstanceV1WithRetries(params, opts = {}) {
      const { retries = 3, retryDelayMs = 200 } = opts;
      const answers: ProductionAnswer[] = [];
      const failures: string[] = [];
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await sleep(retryDelayMs);
        // The marketplace retries any V1 newInstance failure for hours (spec §5), each time with a new businessId.
        const businessId = attempt === 0 && params['businessId'] ? params['businessId'] : randomUUID();
        let answer: ProductionAnswer;
        try {
          answer = await client.v1('newInstance', { ...params, businessId });
        } catch (err) {
          failures.push(`attempt ${attempt + 1}: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        answers.push(answer);
        const instanceId: unknown = answer.body?.instanceId;
        if (
          answer.status === 200 &&
          answer.bodySignValid &&
          answer.body?.resultCode === '000000' &&
          typeof instanceId === 'string' &&
          instanceId !== ''
        ) {
          return { instanceId, answers };
        }
        failures.push(`attempt ${attempt + 1}: ${summarise(answer)}`);
      }
      throw new ProductionCallError(
        `V1 newInstance ${params['orderId'] ?? ''} failed after ${retries + 1} attempts: ${failures.join(' | ')}`,
        answers,
      );
    },
  };
  return client;
}
