import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/platform/logger.js';
import {
  createChannelRegistry,
  createLogChannel,
  createWebhookChannel,
  isPermanentDeliveryError,
  NotificationDeliveryError,
  type NotificationChannel,
} from '../../../src/notifications/channels.js';
import type { Notification } from '../../../src/notifications/contract.js';

const notification: Notification = {
  dedupeKey: 'supervision-order-CS1-L1:reminder:1#sms',
  requestKey: 'supervision-order-CS1-L1:reminder:1',
  kind: 'SUPERVISION_REMINDER',
  recipient: 'ACCOUNT_MANAGER',
  channel: 'sms',
  orderId: 'CS1',
  instanceId: 'inst-1',
  subject: 'Order CS1 not accepted for 180 days',
  body: 'Customer Zhang San (phone 13800000000) has not accepted order CS1.',
  data: { daysOpen: 180, hardware: false },
  enqueuedAt: '2029-12-31T23:00:00.000Z',
};
const NOTIFICATION_ID = 'notification-supervision-order-CS1-L1:reminder:1#sms';
const secondAttempt = { attempt: 2 };

describe('createLogChannel', () => {
  it('when a notification is sent, then one info line carries kind, recipient, order and subject, and not the body', async () => {
    const lines: string[] = [];
    const memory = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const channel = createLogChannel(createLogger({ level: 'info', name: 'notify-test', destination: memory }));
    expect(channel.name).toBe('log');
    await channel.send(notification, secondAttempt);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'info',
      msg: 'notification',
      channel: 'log',
      notificationId: NOTIFICATION_ID,
      attempt: 2,
      kind: 'SUPERVISION_REMINDER',
      recipient: 'ACCOUNT_MANAGER',
      orderId: 'CS1',
      instanceId: 'inst-1',
      subject: 'Order CS1 not accepted for 180 days',
    });
    expect(lines[0]).not.toContain('13800000000');
    expect(line).not.toHaveProperty('body');
    expect(line).not.toHaveProperty('data');
  });

  it('when the level is above info, then nothing is written (the line is info, not warn)', async () => {
    const lines: string[] = [];
    const channel = createLogChannel(createLogger({ level: 'warn', name: 'notify-test', destination: { write: (l: string) => void lines.push(l) } }), 'audit-log');
    await channel.send(notification, secondAttempt);
    expect(channel.name).toBe('audit-log');
    expect(lines).toEqual([]);
  });
});

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('createWebhookChannel (local gateway)', () => {
  const requests: RecordedRequest[] = [];
  let answer: () => { status: number; body?: string; hang?: boolean } = () => ({ status: 204 });
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const a = answer();
        if (a.hang) return;
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/sms`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    requests.length = 0;
    answer = () => ({ status: 204 });
  });

  it('when the gateway answers 2xx, then the notification is POSTed as JSON with its dedupe key as Idempotency-Key', async () => {
    const channel = createWebhookChannel({ name: 'sms', url, headers: { authorization: 'Bearer gw-secret' } });
    await channel.send(notification, secondAttempt);
    expect(requests).toHaveLength(1);
    const req = requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/notify/sms');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe(notification.dedupeKey);
    expect(req.headers.authorization).toBe('Bearer gw-secret');
    expect(JSON.parse(req.body)).toEqual({
      id: NOTIFICATION_ID,
      dedupeKey: notification.dedupeKey,
      kind: 'SUPERVISION_REMINDER',
      recipient: 'ACCOUNT_MANAGER',
      channel: 'sms',
      orderId: 'CS1',
      instanceId: 'inst-1',
      subject: notification.subject,
      body: notification.body,
      data: { daysOpen: 180, hardware: false },
      attempt: 2,
      createdAt: '2029-12-31T23:00:00.000Z',
    });
  });

  it('when the notification has no instance, then the payload says instanceId null (the gateway sees the same shape)', async () => {
    const { instanceId: _omitted, ...withoutInstance } = notification;
    await createWebhookChannel({ name: 'sms', url }).send(withoutInstance, { attempt: 1 });
    expect(JSON.parse(requests[0]!.body)).toMatchObject({ instanceId: null, attempt: 1 });
  });

  it('when the gateway answers 503, then the failure is retryable and carries the status and reason, not the secret', async () => {
    answer = () => ({ status: 503, body: JSON.stringify({ message: 'sms quota exhausted' }) });
    const channel = createWebhookChannel({ name: 'sms', url, headers: { authorization: 'Bearer gw-secret' } });
    const err = await channel.send(notification, secondAttempt).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(NotificationDeliveryError);
    expect((err as NotificationDeliveryError).message).toBe('sms webhook: HTTP 503 (sms quota exhausted)');
    expect((err as NotificationDeliveryError).code).toBe('NOTIFICATION_DELIVERY_FAILED');
    expect(isPermanentDeliveryError(err)).toBe(false);
    expect((err as Error).message).not.toContain('gw-secret');
  });

  it.each([400, 413, 422])('when the gateway answers %i, then the failure is permanent', async (status) => {
    answer = () => ({ status, body: '<html>nope</html>' });
    const err = await createWebhookChannel({ name: 'email', url }).send(notification, secondAttempt).then(() => undefined, (e: unknown) => e);
    expect(isPermanentDeliveryError(err)).toBe(true);
    expect((err as NotificationDeliveryError).code).toBe('NOTIFICATION_REJECTED');
    expect((err as Error).message).toBe(`email webhook: HTTP ${status}`);
  });

  it.each([401, 404, 429])('when the gateway answers %i, then the failure is retried, not dead', async (status) => {
    answer = () => ({ status });
    const err = await createWebhookChannel({ name: 'email', url }).send(notification, secondAttempt).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(NotificationDeliveryError);
    expect(isPermanentDeliveryError(err)).toBe(false);
  });

  it('when the gateway does not answer in time, then the failure says it timed out and is retryable', async () => {
    answer = () => ({ status: 200, hang: true });
    const err = await createWebhookChannel({ name: 'sms', url, timeoutMs: 150 }).send(notification, secondAttempt).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toBe('sms webhook: timed out after 150 ms');
    expect(isPermanentDeliveryError(err)).toBe(false);
  });

  it('when nothing listens, then the failure names the socket error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await createWebhookChannel({ name: 'sms', url: `http://127.0.0.1:${port}/x` }).send(notification, secondAttempt).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toMatch(/^sms webhook: fetch failed: .*ECONNREFUSED/);
  });

  it('when the options are unusable, then the channel is refused at construction', () => {
    expect(() => createWebhookChannel({ name: 'sms', url: 'not a url' })).toThrow(/not a valid URL/);
    expect(() => createWebhookChannel({ name: 'sms', url: 'ftp://gw.example/x' })).toThrow(/http\(s\)/);
    expect(() => createWebhookChannel({ name: 'sms', url: 'https://user:pw@gw.example/x' })).toThrow(/credentials/);
    expect(() => createWebhookChannel({ name: 'SMS!', url })).toThrow(/name/);
    expect(() => createWebhookChannel({ name: 'sms', url, timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('createChannelRegistry', () => {
  const channel = (name: string): NotificationChannel => ({ name, send: async () => undefined });

  it('when channels are registered, then each is found by name and names are sorted', () => {
    const sms = channel('sms');
    const registry = createChannelRegistry([sms, channel('email'), channel('in-site')]);
    expect(registry.get('sms')).toBe(sms);
    expect(registry.get('fax')).toBeUndefined();
    expect(registry.names()).toEqual(['email', 'in-site', 'sms']);
  });

  it('when two channels share a name or a name is invalid, then the registry is refused', () => {
    expect(() => createChannelRegistry([channel('sms'), channel('sms')])).toThrow('channel sms is registered twice');
    expect(() => createChannelRegistry([channel('In Site')])).toThrow(/invalid/);
  });
});
