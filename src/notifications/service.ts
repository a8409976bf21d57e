import { activityInfo, getClient } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { InstanceIdKey, OrderIdKey } from '../kernel/search-attributes.js';
import {
  DEFAULT_NOTIFICATION_RETRY,
  NOTIFICATION_WORKFLOW_TYPE,
  notificationDedupeKey,
  notificationTaskQueue,
  notificationWorkflowId,
  type Notification,
  type NotificationInput,
  type NotificationRequest,
  type NotificationRetryPolicy,
} from './contract.js';
import { DEFAULT_NOTIFICATION_ROUTING, NOTIFICATION_RECIPIENTS, type NotificationRouting } from './routing.js';
import type { notificationWorkflow } from './workflow.js';

// Enqueueing a notification is starting its workflow: one notificationWorkflow per request and routed channel,
// with the id notification-<requestKey>#<channel> and REJECT_DUPLICATE, so an activity that runs again (a retried
// local activity of the supervision) starts nothing twice. Called from inside an activity: it uses the worker's
// own client and task queue unless given others.

/** What the enqueuer needs; every field has a default for use inside an activity. */
export interface NotificationEnqueuerDeps {
  /** Channels per recipient (configuration's NOTIFICATION_ROUTING). */
  readonly routing?: NotificationRouting;
  /** Put in each workflow's input. */
  readonly retry?: NotificationRetryPolicy;
  /** Default: the activity context's client (the worker's connection). */
  readonly client?: () => Client;
  /** The task queue of the workflow asking; default: the activity's (for a local activity, its workflow's). */
  readonly taskQueue?: () => string;
  readonly now?: () => Date;
}

/** Starts notifications; resolves to the number of workflows this call started (0 when all existed already). */
export type NotificationEnqueuer = (requests: readonly NotificationRequest[]) => Promise<number>;

function checkRequest(r: NotificationRequest, i: number, routing: NotificationRouting): string[] {
  const problems: string[] = [];
  const where = `notification ${i} (${JSON.stringify(r.dedupeKey)})`;
  if (typeof r.dedupeKey !== 'string' || r.dedupeKey.trim() === '') problems.push(`${where}: dedupeKey is empty`);
  if (typeof r.kind !== 'string' || r.kind.trim() === '') problems.push(`${where}: kind is empty`);
  if (typeof r.orderId !== 'string' || r.orderId.trim() === '') problems.push(`${where}: orderId is empty`);
  if (!(NOTIFICATION_RECIPIENTS as readonly string[]).includes(r.recipient)) {
    problems.push(`${where}: unknown recipient ${JSON.stringify(r.recipient)} (known: ${NOTIFICATION_RECIPIENTS.join(', ')})`);
  } else if (!routing[r.recipient] || routing[r.recipient].length === 0) {
    problems.push(`${where}: recipient ${r.recipient} has no channel in the routing`);
  }
  return problems;
}

/** One Notification per request and routed channel, in order; a dedupe key seen twice keeps its first request. */
export function fanOut(requests: readonly NotificationRequest[], routing: NotificationRouting, enqueuedAt: string): Notification[] {
  const byKey = new Map<string, Notification>();
  for (const r of requests) {
    for (const channel of routing[r.recipient]) {
      const dedupeKey = notificationDedupeKey(r.dedupeKey, channel);
      if (byKey.has(dedupeKey)) continue;
      byKey.set(dedupeKey, {
        dedupeKey,
        requestKey: r.dedupeKey,
        kind: r.kind,
        recipient: r.recipient,
        channel,
        orderId: r.orderId,
        ...(r.instanceId ? { instanceId: r.instanceId } : {}),
        subject: r.subject,
        body: r.body,
        data: r.data ?? {},
        enqueuedAt,
      });
    }
  }
  return [...byKey.values()];
}

/**
 * Creates the enqueuer. It throws RangeError, starting nothing, for an invalid request (empty dedupeKey, kind or
 * orderId, unknown or unrouted recipient). A start that fails otherwise (Temporal unavailable) rejects after the
 * others were tried; the caller's retry then starts only what is missing.
 */
export function createNotificationEnqueuer(deps: NotificationEnqueuerDeps = {}): NotificationEnqueuer {
  const routing = deps.routing ?? DEFAULT_NOTIFICATION_ROUTING;
  const retry = deps.retry ?? DEFAULT_NOTIFICATION_RETRY;
  const clientOf = deps.client ?? getClient;
  const taskQueueOf = deps.taskQueue ?? (() => activityInfo().taskQueue);
  const now = deps.now ?? (() => new Date());

  return async (requests) => {
    const problems = requests.flatMap((r, i) => checkRequest(r, i, routing));
    if (problems.length > 0) throw new RangeError(`cannot enqueue notifications: ${problems.join('; ')}`);
    const notifications = fanOut(requests, routing, now().toISOString());
    if (notifications.length === 0) return 0;
    const client = clientOf();
    const taskQueue = notificationTaskQueue(taskQueueOf());

    const outcomes = await Promise.allSettled(
      notifications.map(async (n) => {
        const input: NotificationInput = { notification: n, retry };
        try {
          await client.workflow.start<typeof notificationWorkflow>(NOTIFICATION_WORKFLOW_TYPE, {
            workflowId: notificationWorkflowId(n.dedupeKey),
            taskQueue,
            args: [input],
            // Open or closed (within the namespace's retention), an existing run is this notification: a no-op.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            workflowIdConflictPolicy: 'FAIL',
            // Ops find an order's notifications (and its dead letters) by the attributes orders already use.
            typedSearchAttributes: [
              { key: OrderIdKey, value: n.orderId },
              ...(n.instanceId ? [{ key: InstanceIdKey, value: n.instanceId }] : []),
            ],
            staticSummary: `${n.kind} to ${n.recipient} on ${n.channel}`,
          });
          return true;
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
          throw err;
        }
      }),
    );
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    return outcomes.filter((o) => o.status === 'fulfilled' && o.value).length;
  };
}
