import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NOTIFICATION_RETRY,
  deadLetterQuery,
  notificationDedupeKey,
  notificationWorkflowId,
  type NotificationInput,
  type NotificationRequest,
} from '../../../src/notifications/contract.js';
import { parseNotificationRouting } from '../../../src/notifications/routing.js';
import { createNotificationEnqueuer, fanOut } from '../../../src/notifications/service.js';

// Enqueueing without a server: which workflows are started, with which ids, options and input, and that an id
// Temporal already has is a no-op. The real idempotent start is in test/integration/notifications/.

const request = (recipient: NotificationRequest['recipient'], n = 1): NotificationRequest => ({
  dedupeKey: `supervision-order-E1:reminder:${n}:${recipient}`,
  kind: 'SUPERVISION_REMINDER',
  recipient,
  orderId: 'E1',
  instanceId: 'inst-E1',
  subject: 'reminder',
  body: 'body',
});

interface StartCall {
  readonly type: string;
  readonly options: { workflowId: string; taskQueue: string; args: [NotificationInput]; workflowIdReusePolicy?: string; workflowIdConflictPolicy?: string; typedSearchAttributes?: unknown; staticSummary?: string };
}

/** A client whose workflow.start records calls and refuses ids in `existing` the way the server does. */
function fakeClient(existing: Set<string>, fail?: (workflowId: string) => Error | undefined) {
  const calls: StartCall[] = [];
  const client = {
    workflow: {
      async start(type: string, options: StartCall['options']) {
        calls.push({ type, options });
        const err = fail?.(options.workflowId);
        if (err) throw err;
        if (existing.has(options.workflowId)) throw new WorkflowExecutionAlreadyStartedError('Workflow execution already started', options.workflowId, type);
        existing.add(options.workflowId);
        return { workflowId: options.workflowId };
      },
    },
  } as unknown as Client;
  return { client, calls };
}

describe('notification ids', () => {
  it('when a request goes out on a channel, then its dedupe key and workflow id carry both, separated by #', () => {
    expect(notificationDedupeKey('k:1:MERCHANT', 'in-site')).toBe('k:1:MERCHANT#in-site');
    expect(notificationWorkflowId('k:1:MERCHANT#in-site')).toBe('notification-k:1:MERCHANT#in-site');
    // Without the separator these two would share an id; channel names cannot contain '#'.
    expect(notificationWorkflowId(notificationDedupeKey('a-in', 'site'))).not.toBe(notificationWorkflowId(notificationDedupeKey('a', 'in-site')));
  });

  it('when ops look for dead letters, then the query selects failed notification workflows, optionally of one order', () => {
    expect(deadLetterQuery()).toBe(`WorkflowType = 'notificationWorkflow' AND ExecutionStatus = 'Failed'`);
    expect(deadLetterQuery('CS-1')).toBe(`WorkflowType = 'notificationWorkflow' AND ExecutionStatus = 'Failed' AND OrderId = 'CS-1'`);
    expect(() => deadLetterQuery("x' OR 'a'='a")).toThrow(RangeError);
  });

  it('when the default retry policy is read, then it is the outbox policy it replaced: 10 attempts, 30 s doubling to 1 h', () => {
    expect(DEFAULT_NOTIFICATION_RETRY).toEqual({ maximumAttempts: 10, initialIntervalMs: 30_000, backoffCoefficient: 2, maximumIntervalMs: 3_600_000 });
  });
});

describe('fanOut', () => {
  it('when recipients are routed to several channels, then there is one notification per request and channel, a repeated key once', () => {
    const routing = parseNotificationRouting('MERCHANT=log+sms,ACCOUNT_MANAGER=email');
    const out = fanOut([request('MERCHANT'), request('ACCOUNT_MANAGER'), request('MERCHANT')], routing, '2030-01-01T00:00:00.000Z');
    expect(out.map((n) => n.dedupeKey)).toEqual([
      'supervision-order-E1:reminder:1:MERCHANT#log',
      'supervision-order-E1:reminder:1:MERCHANT#sms',
      'supervision-order-E1:reminder:1:ACCOUNT_MANAGER#email',
    ]);
    expect(out[1]).toMatchObject({ requestKey: 'supervision-order-E1:reminder:1:MERCHANT', channel: 'sms', data: {}, enqueuedAt: '2030-01-01T00:00:00.000Z' });
  });
});

describe('createNotificationEnqueuer', () => {
  const routing = parseNotificationRouting('MERCHANT=log+sms');

  it('when requests are enqueued, then each (request, channel) workflow is started on the caller task queue with REJECT_DUPLICATE, the order attributes and the retry policy', async () => {
    const { client, calls } = fakeClient(new Set());
    const enqueue = createNotificationEnqueuer({ routing, client: () => client, taskQueue: () => 'tq-orders', now: () => new Date('2030-01-01T00:00:00Z') });
    expect(await enqueue([request('MERCHANT'), request('ACCOUNT_MANAGER')])).toBe(3);
    expect(calls.map((c) => c.options.workflowId)).toEqual([
      'notification-supervision-order-E1:reminder:1:MERCHANT#log',
      'notification-supervision-order-E1:reminder:1:MERCHANT#sms',
      'notification-supervision-order-E1:reminder:1:ACCOUNT_MANAGER#log',
    ]);
    const sms = calls[1]!;
    expect(sms.type).toBe('notificationWorkflow');
    expect(sms.options).toMatchObject({ taskQueue: 'tq-orders', workflowIdReusePolicy: 'REJECT_DUPLICATE', workflowIdConflictPolicy: 'FAIL', staticSummary: 'SUPERVISION_REMINDER to MERCHANT on sms' });
    expect(sms.options.args[0]).toEqual({
      notification: expect.objectContaining({ dedupeKey: 'supervision-order-E1:reminder:1:MERCHANT#sms', channel: 'sms', instanceId: 'inst-E1', enqueuedAt: '2030-01-01T00:00:00.000Z' }),
      retry: DEFAULT_NOTIFICATION_RETRY,
    });
    expect(JSON.stringify(sms.options.typedSearchAttributes)).toContain('E1');
  });

  it('when the same requests are enqueued again (a retried activity), then nothing new starts and 0 is returned', async () => {
    const existing = new Set<string>();
    const { client } = fakeClient(existing);
    const enqueue = createNotificationEnqueuer({ routing, client: () => client, taskQueue: () => 'tq' });
    expect(await enqueue([request('MERCHANT')])).toBe(2);
    expect(await enqueue([request('MERCHANT')])).toBe(0);
    expect(existing.size).toBe(2);
  });

  it('when one start fails for another reason, then the others are still started and the call rejects, so a retry completes it', async () => {
    const existing = new Set<string>();
    let down = true;
    const { client } = fakeClient(existing, (id) => (down && id.endsWith('#sms') ? new Error('UNAVAILABLE') : undefined));
    const enqueue = createNotificationEnqueuer({ routing, client: () => client, taskQueue: () => 'tq' });
    await expect(enqueue([request('MERCHANT')])).rejects.toThrow('UNAVAILABLE');
    expect([...existing]).toEqual(['notification-supervision-order-E1:reminder:1:MERCHANT#log']);
    down = false;
    expect(await enqueue([request('MERCHANT')])).toBe(1);
  });

  it('when a request is invalid, then nothing is started and the error lists every problem', async () => {
    const { client, calls } = fakeClient(new Set());
    const enqueue = createNotificationEnqueuer({ routing, client: () => client, taskQueue: () => 'tq' });
    const bad = { ...request('MERCHANT'), dedupeKey: ' ', orderId: '' };
    await expect(enqueue([bad, { ...request('MERCHANT'), recipient: 'NOBODY' as 'MERCHANT' }])).rejects.toThrow(/dedupeKey is empty.*orderId is empty.*unknown recipient "NOBODY"/);
    expect(calls).toEqual([]);
  });
});
