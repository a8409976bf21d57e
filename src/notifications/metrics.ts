import type { MetricMeter } from '@temporalio/common';

// Worker-side counters of deliveries. They go through the Temporal runtime's metric meter, so the worker's one
// Prometheus endpoint (WORKER_METRICS_PORT, beside the SDK's temporal_ series) serves them: no second port.
// Counters, not gauges: every worker replica counts what it did, and sum() over replicas is the truth.

/** Metric names as created; the worker's exporter (workerPrometheusExporter, countersTotalSuffix) serves counters with `_total` appended. */
export const NOTIFICATIONS_DELIVERED_METRIC = 'koogallery_notifications_delivered';
export const NOTIFICATIONS_FAILED_METRIC = 'koogallery_notifications_failed';

/** What the delivery activity reports. */
export interface NotificationMetrics {
  /** A notification went out on `channel`. */
  delivered(channel: string): void;
  /** An attempt on `channel` failed; `final`: no attempt follows, the notification is a dead letter. */
  failed(channel: string, final: boolean): void;
}

/** Counters on a Temporal metric meter (the worker passes `Runtime.instance().metricMeter`). */
export function createNotificationMetrics(meter: MetricMeter): NotificationMetrics {
  const delivered = meter.createCounter(NOTIFICATIONS_DELIVERED_METRIC, undefined, 'Notifications delivered, by channel');
  const failed = meter.createCounter(
    NOTIFICATIONS_FAILED_METRIC,
    undefined,
    'Failed notification delivery attempts, by channel; final="true": no more attempts, the notification is a dead letter',
  );
  return {
    delivered: (channel) => delivered.add(1, { channel }),
    failed: (channel, final) => failed.add(1, { channel, final: String(final) }),
  };
}

/** Counts nothing (tests that do not look at metrics). */
export const NO_NOTIFICATION_METRICS: NotificationMetrics = Object.freeze({ delivered: () => undefined, failed: () => undefined });
