// The notification context's contract: what a workflow may ask to send, the one workflow that sends a message on
// one channel, its ids, payloads, failure types and retry policy. Imports nothing: workflow code, the activities,
// configuration and the API all read it (a leaf, so config can depend on notifications without a cycle).

/** Who a notification is for. */
export type NotificationRecipient = 'MERCHANT' | 'ACCOUNT_MANAGER' | 'CUSTOMER';

/** A notification a workflow asks to send, on every channel its recipient is routed to. */
export interface NotificationRequest {
  /** Idempotency key: the same key is sent once per channel, however often the enqueuing activity runs. */
  readonly dedupeKey: string;
  /** e.g. `SUPERVISION_REMINDER`, `SUPERVISION_AUTO_ACCEPTED`. */
  readonly kind: string;
  readonly recipient: NotificationRecipient;
  readonly orderId: string;
  readonly instanceId?: string;
  readonly subject: string;
  readonly body: string;
  readonly data?: Readonly<Record<string, string | number | boolean>>;
}

/** One request on one channel: what a notificationWorkflow delivers and a channel sends. */
export interface Notification {
  /** `<requestKey>#<channel>`: unique per message and channel; channels pass it on (webhook: `Idempotency-Key`). */
  readonly dedupeKey: string;
  /** The request's own dedupeKey, shared by its notifications on other channels. */
  readonly requestKey: string;
  readonly kind: string;
  readonly recipient: NotificationRecipient;
  readonly channel: string;
  readonly orderId: string;
  readonly instanceId?: string;
  readonly subject: string;
  readonly body: string;
  readonly data: Readonly<Record<string, string | number | boolean>>;
  /** When it was enqueued (ISO 8601). */
  readonly enqueuedAt: string;
}

/**
 * How a failed delivery is retried, as Temporal's activity retry policy. Carried in the workflow input, so a run
 * keeps the policy it was started with whatever a later deployment's default says.
 */
export interface NotificationRetryPolicy {
  /** Attempts in all, the first included; after the last one the notification is a dead letter. */
  readonly maximumAttempts: number;
  /** Delay after the first failed attempt. */
  readonly initialIntervalMs: number;
  /** Each further delay is the previous one times this. */
  readonly backoffCoefficient: number;
  /** The delay never grows past this. */
  readonly maximumIntervalMs: number;
}

/**
 * 10 attempts, 30 s doubling to at most 1 h: about 3 hours of retries before a notification is dead, long enough
 * to ride out a gateway's maintenance window, short enough that ops see a dead reminder the same day. (The
 * PostgreSQL outbox this replaces had the same policy.)
 */
export const DEFAULT_NOTIFICATION_RETRY: NotificationRetryPolicy = Object.freeze({
  maximumAttempts: 10,
  initialIntervalMs: 30_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 3_600_000,
});

/** Input of notificationWorkflow. */
export interface NotificationInput {
  readonly notification: Notification;
  readonly retry: NotificationRetryPolicy;
}

/** What a channel reports for a delivery that went out. */
export interface DeliveryReceipt {
  /** The attempt that delivered it (1: first try). */
  readonly attempt: number;
  readonly deliveredAt: string;
}

/** Result of notificationWorkflow: delivered. (Not delivered: the run fails with NOTIFICATION_DEAD_LETTER_TYPE.) */
export interface NotificationResult extends DeliveryReceipt {
  readonly dedupeKey: string;
  readonly channel: string;
}

/** The workflow type (a wire contract: never rename it while runs are open). */
export const NOTIFICATION_WORKFLOW_TYPE = 'notificationWorkflow';

/** The delivery activity's name. */
export const DELIVER_NOTIFICATION_ACTIVITY = 'deliverNotification';

/** The channel tried and failed; retried by the policy. */
export const NOTIFICATION_DELIVERY_FAILED_TYPE = 'NOTIFICATION_DELIVERY_FAILED';
/** The gateway refused this notification itself (e.g. HTTP 422): retrying cannot help; not retried. */
export const NOTIFICATION_REJECTED_TYPE = 'NOTIFICATION_REJECTED';
/** No channel of that name is registered on the worker; retried, so a deployment that adds it delivers. */
export const NOTIFICATION_CHANNEL_UNKNOWN_TYPE = 'NOTIFICATION_CHANNEL_UNKNOWN';
/** The workflow's failure when the notification was not delivered: a dead letter (cause: the last attempt's failure). */
export const NOTIFICATION_DEAD_LETTER_TYPE = 'NOTIFICATION_DEAD_LETTER';

/** Failure types the retry policy never retries. */
export const NON_RETRYABLE_NOTIFICATION_TYPES: readonly string[] = [NOTIFICATION_REJECTED_TYPE];

/** One send may take this long before Temporal counts the attempt as failed (the webhook gives up after 5 s). */
export const DELIVERY_START_TO_CLOSE_MS = 30_000;

/** The dedupe key of a request on a channel. Always suffixed, so changing routing never re-sends on a channel. */
export function notificationDedupeKey(requestKey: string, channel: string): string {
  return `${requestKey}#${channel}`;
}

/**
 * The workflow id of a notification: `notification-<requestKey>#<channel>`. `#` cannot occur in a channel name,
 * so two (request, channel) pairs never share an id. Started with REJECT_DUPLICATE: one delivery per id.
 */
export function notificationWorkflowId(dedupeKey: string): string {
  return `notification-${dedupeKey}`;
}

/**
 * The task queue a notification runs on: the one of the workflow that asked for it, so a deployment's (or a test's)
 * notifications are delivered by the workers that run its workflows and have its channels.
 */
export function notificationTaskQueue(requesterTaskQueue: string): string {
  return requesterTaskQueue;
}

/** Visibility query for notifications that were not delivered (dead letters), optionally of one order. */
export function deadLetterQuery(orderId?: string): string {
  // Marketplace order ids are letters, digits and dashes; anything that could end the string literal is refused.
  if (orderId !== undefined && /['"\\]/.test(orderId)) throw new RangeError('orderId must not contain quotes or backslashes');
  const order = orderId === undefined ? '' : ` AND OrderId = '${orderId}'`;
  return `WorkflowType = '${NOTIFICATION_WORKFLOW_TYPE}' AND ExecutionStatus = 'Failed'${order}`;
}
