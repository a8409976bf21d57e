// The notification outbox: activities enqueue (enqueueNotifications), the worker's dispatcher delivers at least
// once through pluggable channels (log by default; webhooks for the merchant's SMS, e-mail, in-site gateways).

export { checkRetryPolicy, DEFAULT_RETRY_POLICY, retryDelayMs, type RetryPolicy } from './backoff.js';
export {
  createChannelRegistry,
  createLogChannel,
  createWebhookChannel,
  isPermanentDeliveryError,
  NotificationDeliveryError,
  type ChannelRegistry,
  type NotificationChannel,
  type NotificationDeliveryErrorCode,
  type WebhookChannelOptions,
  type WebhookPayload,
} from './channels.js';
export {
  createNotificationDispatcher,
  type DeliveryOutcome,
  type DispatchOutcome,
  type DispatchResult,
  type NotificationDispatcher,
  type NotificationDispatcherOptions,
} from './dispatcher.js';
export {
  claimDue,
  countNotificationsByStatus,
  enqueueNotifications,
  listNotifications,
  markFailed,
  markSent,
  NOTIFICATION_STATUSES,
  outboxDedupeKey,
  purgeSentNotifications,
  requeueFailedNotifications,
  type ClaimOptions,
  type FailedAttempt,
  type FailureOutcome,
  type NotificationFilter,
  type NotificationStatus,
  type OutboxNotification,
} from './outbox.js';
export {
  CHANNEL_NAME_PATTERN,
  DEFAULT_NOTIFICATION_ROUTING,
  formatNotificationRouting,
  LOG_CHANNEL_NAME,
  NOTIFICATION_RECIPIENTS,
  NotificationRoutingError,
  parseNotificationRouting,
  unregisteredChannels,
  type NotificationRouting,
} from './routing.js';
