import type { Logger } from 'pino';
import { NOTIFICATION_DELIVERY_FAILED_TYPE, NOTIFICATION_REJECTED_TYPE, notificationWorkflowId, type Notification } from './contract.js';
import { CHANNEL_NAME_PATTERN, LOG_CHANNEL_NAME } from './routing.js';

// Channels send one notification each, inside the deliverNotification activity. A channel resolves when the
// notification went out and throws when it did not; it may be called again for a notification it already
// delivered (an attempt that timed out after sending is retried: delivery is at least once), so it should pass
// `dedupeKey` on to whatever can deduplicate (the webhook sends it as Idempotency-Key).

/** Which attempt a send is (Temporal's activity attempt). */
export interface Delivery {
  /** 1 on the first attempt. */
  readonly attempt: number;
}

/** Delivers notifications on one channel (SMS, e-mail, in-site message, log...). */
export interface NotificationChannel {
  /** The name routing uses (`log`, `sms`, `email`, `in-site`...). */
  readonly name: string;
  /** Resolves once delivered; throws to have the attempt retried (or a NotificationDeliveryError with permanent). */
  send(notification: Notification, delivery: Delivery): Promise<void>;
}

/** Error codes a channel's failure carries (strings, because instanceof does not survive every boundary). */
export type NotificationDeliveryErrorCode = typeof NOTIFICATION_DELIVERY_FAILED_TYPE | typeof NOTIFICATION_REJECTED_TYPE;

/** A failed delivery. `permanent` (code NOTIFICATION_REJECTED): retrying cannot help, the notification is dead now. */
export class NotificationDeliveryError extends Error {
  readonly code: NotificationDeliveryErrorCode;
  constructor(
    message: string,
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NotificationDeliveryError';
    this.code = permanent ? NOTIFICATION_REJECTED_TYPE : NOTIFICATION_DELIVERY_FAILED_TYPE;
  }
}

/** True when `err` says retrying cannot help (a NotificationDeliveryError, or anything carrying `permanent: true`). */
export function isPermanentDeliveryError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
}

/**
 * The default channel: one info line per notification, with what ops need to find it (workflow id, kind,
 * recipient, order, subject). Body and data are left out: they may carry the customer's details, and the
 * workflow's input in Temporal keeps them.
 */
export function createLogChannel(logger: Logger, name: string = LOG_CHANNEL_NAME): NotificationChannel {
  const log = logger.child({ component: 'notifications', channel: name });
  return {
    name,
    async send(n, { attempt }) {
      log.info(
        {
          notificationId: notificationWorkflowId(n.dedupeKey),
          dedupeKey: n.dedupeKey,
          kind: n.kind,
          recipient: n.recipient,
          orderId: n.orderId,
          instanceId: n.instanceId,
          subject: n.subject,
          attempt,
        },
        'notification',
      );
    },
  };
}

/** Options of createWebhookChannel. */
export interface WebhookChannelOptions {
  /** The channel's name in routing (e.g. `sms`). */
  readonly name: string;
  /** http(s) URL of the merchant's gateway; no credentials, which belong in `headers`. */
  readonly url: string;
  /** Per call, headers and body included. Default 5 s; keep it well under DELIVERY_START_TO_CLOSE_MS. */
  readonly timeoutMs?: number;
  /** Extra headers, e.g. `Authorization`. Never logged nor put in errors. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly fetch?: typeof fetch;
}

/** The JSON body the webhook channel POSTs. */
export type WebhookPayload = Pick<Notification, 'dedupeKey' | 'kind' | 'recipient' | 'channel' | 'orderId' | 'subject' | 'body' | 'data'> & {
  /** The notification's workflow id (`notification-<dedupeKey>`), for ops and the gateway's own logs. */
  readonly id: string;
  readonly instanceId: string | null;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** When the notification was enqueued. */
  readonly createdAt: string;
};

const MAX_REASON_CHARS = 200;
// The gateway refused this notification itself (malformed, too large, unprocessable): sending it again cannot help.
// Anything else (401/403/404 are configuration faults an operator can fix, 408/429/5xx are transient) is retried.
const PERMANENT_STATUSES = new Set([400, 413, 422]);

function reasonOf(text: string): string {
  try {
    const json = JSON.parse(text) as unknown;
    if (json !== null && typeof json === 'object') {
      const o = json as Record<string, unknown>;
      const reason = o['message'] ?? o['error'] ?? o['reason'];
      if (typeof reason === 'string' && reason !== '') return ` (${reason.length > MAX_REASON_CHARS ? reason.slice(0, MAX_REASON_CHARS) + '…' : reason})`;
    }
  } catch {
    // not JSON: an error page says nothing we want in the failure message
  }
  return '';
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  // undici reports the socket error (ECONNREFUSED, ECONNRESET...) as the cause of a generic "fetch failed".
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

function checkWebhookUrl(raw: string, name: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RangeError(`webhook channel ${name}: url is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`webhook channel ${name}: url must be http(s)`);
  // fetch refuses URLs with credentials and would echo the URL, password included, in its error.
  if (url.username !== '' || url.password !== '') throw new RangeError(`webhook channel ${name}: url must not contain credentials; use headers`);
  return url.toString();
}

/**
 * A channel that POSTs each notification as JSON (WebhookPayload) to the merchant's SMS / e-mail / in-site gateway,
 * with `Idempotency-Key: <dedupeKey>` so the gateway can drop a repeated delivery. 2xx is delivered; 400, 413 and
 * 422 are permanent failures; any other answer, a network error or a timeout is retried.
 */
export function createWebhookChannel(options: WebhookChannelOptions): NotificationChannel {
  const { name, timeoutMs = 5000, headers = {}, fetch: fetchImpl = fetch } = options;
  if (!CHANNEL_NAME_PATTERN.test(name)) throw new RangeError(`webhook channel name ${JSON.stringify(name)} is invalid (lower-case letters, digits, '-', '_')`);
  if (!(timeoutMs > 0)) throw new RangeError(`webhook channel ${name}: timeoutMs must be > 0`);
  const url = checkWebhookUrl(options.url, name);
  return {
    name,
    async send(n, { attempt }) {
      const payload: WebhookPayload = {
        id: notificationWorkflowId(n.dedupeKey),
        dedupeKey: n.dedupeKey,
        kind: n.kind,
        recipient: n.recipient,
        channel: n.channel,
        orderId: n.orderId,
        instanceId: n.instanceId ?? null,
        subject: n.subject,
        body: n.body,
        data: n.data,
        attempt,
        createdAt: n.enqueuedAt,
      };
      let response: Response;
      let text: string;
      try {
        response = await fetchImpl(url, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': n.dedupeKey },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(timeoutMs),
        });
        // Read the body under the same timeout: it frees the connection and may hold the gateway's reason.
        text = await response.text();
      } catch (err) {
        throw new NotificationDeliveryError(`${name} webhook: ${describeFetchError(err, timeoutMs)}`, false, { cause: err });
      }
      if (response.ok) return;
      const permanent = PERMANENT_STATUSES.has(response.status);
      throw new NotificationDeliveryError(`${name} webhook: HTTP ${response.status}${reasonOf(text)}`, permanent);
    },
  };
}

/** The channels a worker delivers on, by name. */
export interface ChannelRegistry {
  get(name: string): NotificationChannel | undefined;
  /** Registered names, sorted. */
  names(): readonly string[];
}

/** Builds a registry; throws RangeError on an invalid or duplicate name (two channels cannot share routing). */
export function createChannelRegistry(channels: readonly NotificationChannel[]): ChannelRegistry {
  const byName = new Map<string, NotificationChannel>();
  for (const c of channels) {
    if (!CHANNEL_NAME_PATTERN.test(c.name)) throw new RangeError(`channel name ${JSON.stringify(c.name)} is invalid (lower-case letters, digits, '-', '_')`);
    if (byName.has(c.name)) throw new RangeError(`channel ${c.name} is registered twice`);
    byName.set(c.name, c);
  }
  const names = Object.freeze([...byName.keys()].sort());
  return { get: (name) => byName.get(name), names: () => names };
}
