import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { createChannelRegistry, isPermanentDeliveryError, type ChannelRegistry, type NotificationChannel } from './channels.js';
import {
  NOTIFICATION_CHANNEL_UNKNOWN_TYPE,
  NOTIFICATION_DELIVERY_FAILED_TYPE,
  NOTIFICATION_REJECTED_TYPE,
  notificationWorkflowId,
  type DeliveryReceipt,
  type Notification,
} from './contract.js';
import { NO_NOTIFICATION_METRICS, type NotificationMetrics } from './metrics.js';

// The one activity of notificationWorkflow: send a notification on its channel, once per attempt. Temporal owns
// everything around it (retries with backoff, the attempt count, timeouts, what failed and why); the activity
// only turns a channel's failure into a typed ApplicationFailure, retryable or not, and counts the outcome.

/** The attempt being made and how many the retry policy allows (0: unlimited). */
export interface AttemptInfo {
  readonly attempt: number;
  readonly maximumAttempts: number;
}

/** What the notification activities need. */
export interface NotificationActivityDeps {
  readonly channels: ChannelRegistry | readonly NotificationChannel[];
  readonly logger: Logger;
  readonly metrics?: NotificationMetrics;
  /** Default: the activity context's attempt and retry policy. */
  readonly attemptInfo?: () => AttemptInfo;
}

const fromActivityContext = (): AttemptInfo => {
  const info = activityInfo();
  return { attempt: info.attempt, maximumAttempts: info.retryPolicy?.maximumAttempts ?? 0 };
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A channel failure's type: the code a NotificationDeliveryError carries, else a generic retryable failure. */
function failureTypeOf(err: unknown, permanent: boolean): string {
  if (permanent) return NOTIFICATION_REJECTED_TYPE;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === NOTIFICATION_DELIVERY_FAILED_TYPE ? code : NOTIFICATION_DELIVERY_FAILED_TYPE;
}

/** Creates the notification activities (registered by the worker beside every other context's). */
export function createNotificationActivities(deps: NotificationActivityDeps) {
  const registry: ChannelRegistry = Array.isArray(deps.channels) ? createChannelRegistry(deps.channels) : (deps.channels as ChannelRegistry);
  const metrics = deps.metrics ?? NO_NOTIFICATION_METRICS;
  const attemptInfo = deps.attemptInfo ?? fromActivityContext;
  const log = deps.logger.child({ component: 'notifications' });

  return {
    /** Sends the notification on its channel; throws a typed ApplicationFailure (NOTIFICATION_*) when it did not go out. */
    async deliverNotification(n: Notification): Promise<DeliveryReceipt> {
      const { attempt, maximumAttempts } = attemptInfo();
      const fields = { notificationId: notificationWorkflowId(n.dedupeKey), kind: n.kind, recipient: n.recipient, channel: n.channel, orderId: n.orderId, attempt };
      const channel = registry.get(n.channel);
      let failure: ApplicationFailure;
      if (!channel) {
        // Retried, not dead at once: a deployment that registers the channel within the retry window delivers it.
        failure = ApplicationFailure.create({
          type: NOTIFICATION_CHANNEL_UNKNOWN_TYPE,
          message: `no channel registered as "${n.channel}" (registered: ${registry.names().join(', ') || 'none'})`,
        });
      } else {
        try {
          await channel.send(n, { attempt });
          metrics.delivered(n.channel);
          return { attempt, deliveredAt: new Date().toISOString() };
        } catch (err) {
          const permanent = isPermanentDeliveryError(err);
          failure = ApplicationFailure.create({
            type: failureTypeOf(err, permanent),
            message: messageOf(err),
            nonRetryable: permanent,
            ...(err instanceof Error ? { cause: err } : {}),
          });
        }
      }
      const final = failure.nonRetryable === true || (maximumAttempts > 0 && attempt >= maximumAttempts);
      metrics.failed(n.channel, final);
      if (final) log.error({ ...fields, type: failure.type, error: failure.message }, 'notification dead: no more attempts');
      else log.warn({ ...fields, type: failure.type, error: failure.message }, 'notification delivery failed; Temporal retries it');
      throw failure;
    },
  };
}

/** The notification activity functions, as the workflow proxies them. */
export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
