import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { NotificationActivities } from './activities.js';
import {
  DELIVERY_START_TO_CLOSE_MS,
  NON_RETRYABLE_NOTIFICATION_TYPES,
  NOTIFICATION_DEAD_LETTER_TYPE,
  type NotificationInput,
  type NotificationResult,
} from './contract.js';

// One notification on one channel, delivered at least once. Temporal is the queue: the start is idempotent by
// workflow id (notification-<dedupeKey>), the activity's retry policy is the backoff, the history says every
// attempt's outcome, and a notification that could not be delivered ends the run Failed with
// NOTIFICATION_DEAD_LETTER: that status is the dead letter ops look for (README, "Notifications").

/** Delivers one notification; fails with NOTIFICATION_DEAD_LETTER when every attempt failed or the channel refused it. */
export async function notificationWorkflow(input: NotificationInput): Promise<NotificationResult> {
  const { notification: n, retry } = input;
  const { deliverNotification } = proxyActivities<NotificationActivities>({
    startToCloseTimeout: DELIVERY_START_TO_CLOSE_MS,
    retry: {
      maximumAttempts: retry.maximumAttempts,
      initialInterval: retry.initialIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: retry.maximumIntervalMs,
      nonRetryableErrorTypes: [...NON_RETRYABLE_NOTIFICATION_TYPES],
    },
  });
  try {
    const receipt = await deliverNotification(n);
    return { dedupeKey: n.dedupeKey, channel: n.channel, ...receipt };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const last = err.cause;
    throw ApplicationFailure.create({
      type: NOTIFICATION_DEAD_LETTER_TYPE,
      message: `${n.kind} to ${n.recipient} on ${n.channel} not delivered: ${last?.message ?? err.message}`,
      nonRetryable: true,
      cause: err,
      details: [
        {
          dedupeKey: n.dedupeKey,
          channel: n.channel,
          orderId: n.orderId,
          lastFailureType: last instanceof ApplicationFailure ? last.type : (last?.name ?? null),
          // MAXIMUM_ATTEMPTS_REACHED, NON_RETRYABLE_FAILURE (the channel refused it) or TIMEOUT.
          retryState: err.retryState,
        },
      ],
    });
  }
}
