import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpProvisioner } from '../../../src/orders/provisioning/http-provisioner.js';
import { ProvisionerError, type ProvisionerErrorCode } from '../../../src/orders/provisioning/provisioner.js';
import { aTenantSpec } from '../../support/factories.js';
import { rejectionOf } from '../../support/rejection.js';

// A local server plays the merchant's product API: it records every request and answers what the test scripted.

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface ScriptedAnswer {
  status: number;
  body?: string;
  /** Never answer (for timeouts). */
  hang?: boolean;
}

const TOKEN = 'tok-SUPER-secret-0123456789';
const requests: RecordedRequest[] = [];
let answer: (req: RecordedRequest) => ScriptedAnswer = () => ({ status: 204 });
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      const a = answer(recorded);
      if (a.hang) return;
      res.writeHead(a.status, { 'Content-Type': 'application/json' });
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests.length = 0;
  answer = () => ({ status: 204 });
});

const spec = aTenantSpec({ productId: 'OFFI123', spec: { amount: 5, diskSize: '100' }, expireTime: '2030-01-01T00:00:00.000Z', customerName: 'Ada', testOrder: true });

const access = { frontEndUrl: 'https://t1.example.com', adminUrl: 'https://t1.example.com/admin', userName: 'admin', password: 'Pw-123456789012345678' };

const failureOf = (p: Promise<unknown>): Promise<ProvisionerError> => rejectionOf(p, ProvisionerError);

describe('createHttpProvisioner', () => {
  it('creates with PUT, auth and idempotency headers, and the spec as body', async () => {
    answer = () => ({ status: 201, body: JSON.stringify({ ...access, extra: 'ignored' }) });
    const provisioner = createHttpProvisioner({ baseUrl, token: TOKEN });
    expect(provisioner.kind).toBe('http');

    await expect(provisioner.create('inst/1 实例', spec)).resolves.toEqual(access);

    expect(requests).toHaveLength(1);
    const [req] = requests;
    expect(req!.method).toBe('PUT');
    expect(req!.url).toBe(`/api/v1/tenants/${encodeURIComponent('inst/1 实例')}`);
    expect(req!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(req!.headers['idempotency-key']).toBe(`${encodeURIComponent('inst/1 实例')}:create`);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.body)).toEqual(spec);
  });

  it('sends no Authorization header without a token, and drops null optional fields of the answer', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ frontEndUrl: 'https://x', userName: 'u', password: 'p', adminUrl: null, memo: null }) });
    const provisioner = createHttpProvisioner({ baseUrl });
    await expect(provisioner.create('i-2', spec)).resolves.toEqual({ frontEndUrl: 'https://x', userName: 'u', password: 'p' });
    expect(requests[0]!.headers['authorization']).toBeUndefined();
  });

  it('maps every operation onto the documented method and path', async () => {
    const provisioner = createHttpProvisioner({ baseUrl, token: TOKEN });
    await provisioner.changeSpec('i-3', spec);
    await provisioner.freeze('i-3');
    await provisioner.resume('i-3');
    await provisioner.remove('i-3');
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'PATCH /api/v1/tenants/i-3/spec',
      'POST /api/v1/tenants/i-3/freeze',
      'POST /api/v1/tenants/i-3/resume',
      'DELETE /api/v1/tenants/i-3',
    ]);
    expect(JSON.parse(requests[0]!.body)).toEqual(spec);
    expect(requests[0]!.headers['idempotency-key']).toMatch(/^i-3:changeSpec:[0-9a-f]{16}$/);
    expect(requests.slice(1).map((r) => r.headers['idempotency-key'])).toEqual(['i-3:freeze', 'i-3:resume', 'i-3:remove']);
    expect(requests.every((r) => r.headers['authorization'] === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('gives different spec changes different idempotency keys, and a repeated one the same', async () => {
    const provisioner = createHttpProvisioner({ baseUrl });
    await provisioner.changeSpec('i-4', spec);
    await provisioner.changeSpec('i-4', { ...spec, spec: { amount: 6 } });
    await provisioner.changeSpec('i-4', spec);
    const keys = requests.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys[2]).toBe(keys[0]);
  });

  it('treats 404 and 410 on remove as already gone', async () => {
    const provisioner = createHttpProvisioner({ baseUrl });
    answer = () => ({ status: 404, body: '{"message":"no such tenant"}' });
    await expect(provisioner.remove('gone-1')).resolves.toBeUndefined();
    answer = () => ({ status: 410 });
    await expect(provisioner.remove('gone-2')).resolves.toBeUndefined();
  });

  it('maps 404 on freeze/resume/changeSpec to TENANT_NOT_FOUND, on get to undefined, on create to UNAVAILABLE', async () => {
    const provisioner = createHttpProvisioner({ baseUrl });
    answer = () => ({ status: 404 });
    expect((await failureOf(provisioner.freeze('nf'))).code).toBe('TENANT_NOT_FOUND');
    expect((await failureOf(provisioner.resume('nf'))).code).toBe('TENANT_NOT_FOUND');
    expect((await failureOf(provisioner.changeSpec('nf', spec))).code).toBe('TENANT_NOT_FOUND');
    await expect(provisioner.get('nf')).resolves.toBeUndefined();
    expect((await failureOf(provisioner.create('nf', spec))).code).toBe('PROVISIONER_UNAVAILABLE');
  });

  it.each<[number, ProvisionerErrorCode]>([
    [500, 'PROVISIONER_UNAVAILABLE'],
    [502, 'PROVISIONER_UNAVAILABLE'],
    [503, 'PROVISIONER_UNAVAILABLE'],
    [429, 'PROVISIONER_UNAVAILABLE'],
    [401, 'PROVISIONER_UNAVAILABLE'],
    [202, 'PROVISIONER_UNAVAILABLE'],
    [400, 'PROVISIONING_REJECTED'],
    [409, 'PROVISIONING_REJECTED'],
    [422, 'PROVISIONING_REJECTED'],
  ])('maps HTTP %i on create to %s', async (status, code) => {
    answer = () => ({ status, body: JSON.stringify({ message: `answer ${status}` }) });
    const err = await failureOf(createHttpProvisioner({ baseUrl }).create('i-5', spec));
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(code === 'PROVISIONER_UNAVAILABLE');
    expect(err.message).toContain(`HTTP ${status}`);
  });

  it('carries the merchant reason of a rejection', async () => {
    answer = () => ({ status: 422, body: JSON.stringify({ message: 'quota exceeded for sku-basic' }) });
    const err = await failureOf(createHttpProvisioner({ baseUrl }).changeSpec('i-6', spec));
    expect(err.code).toBe('PROVISIONING_REJECTED');
    expect(err.message).toContain('quota exceeded for sku-basic');
  });

  it('sends the buyer\'s contacts for the admin account with create only, and not at all when there are none', async () => {
    answer = () => ({ status: 201, body: JSON.stringify(access) });
    const p = createHttpProvisioner({ baseUrl });
    await p.create('inst-c', spec, { contacts: { mobilePhone: '+8613800001234', email: 'buyer@example.com' } });
    await p.create('inst-d', spec);
    await p.create('inst-e', spec, { contacts: {} });
    expect(JSON.parse(requests[0]!.body)).toEqual({ ...spec, adminContacts: { mobilePhone: '+8613800001234', email: 'buyer@example.com' } });
    expect(JSON.parse(requests[1]!.body)).toEqual(spec);
    expect(JSON.parse(requests[2]!.body)).toEqual(spec);
    // The create's idempotency key does not depend on the body: a repeat with the same instance is the same create.
    expect(requests[0]!.headers['idempotency-key']).toBe('inst-c:create');
  });

  it('maps a create refused with code MOBILE_REJECTED / EMAIL_REJECTED to those errors, without echoing the contact', async () => {
    const contacts = { mobilePhone: '+8613800001234', email: 'buyer@example.com' };
    const p = createHttpProvisioner({ baseUrl });
    for (const [status, code] of [
      [409, 'MOBILE_REJECTED'],
      [422, 'EMAIL_REJECTED'],
      [400, 'MOBILE_REJECTED'],
    ] as const) {
      answer = () => ({ status, body: JSON.stringify({ code, message: `${contacts.mobilePhone} / ${contacts.email} is already used` }) });
      const err = await failureOf(p.create('inst-f', spec, { contacts }));
      expect(err.code).toBe(code);
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('is already used');
      expect(err.message).not.toContain('13800001234');
      expect(err.message).not.toContain('buyer@example.com');
    }
    // An unknown code is an ordinary rejection; a contact code on another operation or status is not a contact refusal.
    answer = () => ({ status: 422, body: JSON.stringify({ code: 'QUOTA', message: 'no capacity' }) });
    expect((await failureOf(p.create('inst-f', spec, { contacts }))).code).toBe('PROVISIONING_REJECTED');
    answer = () => ({ status: 422, body: JSON.stringify({ code: 'EMAIL_REJECTED' }) });
    expect((await failureOf(p.changeSpec('inst-f', spec))).code).toBe('PROVISIONING_REJECTED');
    answer = () => ({ status: 503, body: JSON.stringify({ code: 'EMAIL_REJECTED' }) });
    expect((await failureOf(p.create('inst-f', spec, { contacts }))).code).toBe('PROVISIONER_UNAVAILABLE');
  });

  it('times out a stalled merchant API as PROVISIONER_UNAVAILABLE', async () => {
    answer = () => ({ status: 200, hang: true });
    const started = Date.now();
    const err = await failureOf(createHttpProvisioner({ baseUrl, timeoutMs: 150 }).create('slow', spec));
    expect(err.code).toBe('PROVISIONER_UNAVAILABLE');
    expect(err.message).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('maps a refused connection to PROVISIONER_UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failureOf(createHttpProvisioner({ baseUrl: `http://127.0.0.1:${port}` }).freeze('x'));
    expect(err.code).toBe('PROVISIONER_UNAVAILABLE');
  });

  it.each([
    ['non-JSON (a proxy page)', '<html>Bad gateway</html>'],
    ['missing password', JSON.stringify({ frontEndUrl: 'https://x', userName: 'u' })],
    ['empty userName', JSON.stringify({ frontEndUrl: 'https://x', userName: '', password: 'p' })],
    ['wrong type', JSON.stringify({ frontEndUrl: 42, userName: 'u', password: 'p' })],
    ['an array', '[]'],
  ])('treats a malformed create answer (%s) as PROVISIONER_UNAVAILABLE', async (_label, body) => {
    answer = () => ({ status: 200, body });
    const err = await failureOf(createHttpProvisioner({ baseUrl }).create('bad', spec));
    expect(err.code).toBe('PROVISIONER_UNAVAILABLE');
  });

  it('reads a tenant with GET (no idempotency key) and validates its status', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ ...access, status: 'FROZEN' }) });
    const provisioner = createHttpProvisioner({ baseUrl });
    await expect(provisioner.get('g-1')).resolves.toEqual({ ...access, status: 'FROZEN' });
    expect(requests[0]!.method).toBe('GET');
    expect(requests[0]!.headers['idempotency-key']).toBeUndefined();
    answer = () => ({ status: 200, body: JSON.stringify({ ...access, status: 'PAUSED' }) });
    expect((await failureOf(provisioner.get('g-2'))).code).toBe('PROVISIONER_UNAVAILABLE');
  });

  it('never puts the token into error messages, even when the merchant echoes it', async () => {
    const provisioner = createHttpProvisioner({ baseUrl, token: TOKEN, timeoutMs: 150 });
    const errors: ProvisionerError[] = [];
    answer = (req) => ({ status: 500, body: JSON.stringify({ message: `bad header ${String(req.headers['authorization'])}` }) });
    errors.push(await failureOf(provisioner.create('t-1', spec)));
    answer = (req) => ({ status: 422, body: JSON.stringify({ error: `token ${String(req.headers['authorization'])} lacks quota` }) });
    errors.push(await failureOf(provisioner.freeze('t-1')));
    answer = () => ({ status: 200, body: JSON.stringify({ frontEndUrl: TOKEN }) });
    errors.push(await failureOf(provisioner.create('t-1', spec)));
    answer = () => ({ status: 200, hang: true });
    errors.push(await failureOf(provisioner.remove('t-1')));
    expect(errors.map((e) => e.code)).toEqual(['PROVISIONER_UNAVAILABLE', 'PROVISIONING_REJECTED', 'PROVISIONER_UNAVAILABLE', 'PROVISIONER_UNAVAILABLE']);
    for (const err of errors) {
      expect(err.message).not.toContain(TOKEN);
      expect(err.stack ?? '').not.toContain(TOKEN);
    }
    expect(errors[0]!.message).toContain('***');
  });

  it('refuses instance ids that would resolve to another path', async () => {
    const provisioner = createHttpProvisioner({ baseUrl });
    for (const id of ['', '.', '..']) {
      expect((await failureOf(provisioner.freeze(id))).code).toBe('PROVISIONING_REJECTED');
    }
    expect(requests).toHaveLength(0);
  });

  it('refuses a base URL with credentials, a query or another scheme', () => {
    expect(() => createHttpProvisioner({ baseUrl: 'https://user:pw@example.com' })).toThrow(RangeError);
    expect(() => createHttpProvisioner({ baseUrl: 'https://example.com/?x=1' })).toThrow(RangeError);
    expect(() => createHttpProvisioner({ baseUrl: 'ftp://example.com' })).toThrow(RangeError);
    expect(() => createHttpProvisioner({ baseUrl: 'not a url' })).toThrow(RangeError);
  });
});
