import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenSha256 } from '../../../src/platform/http/ops/auth.js';
import { uniqueId } from '../../setup/infra.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, aV2PurchaseBody, lineOf } from '../../support/factories.js';

// The ops API in-process against the real PostgreSQL and Temporal: search with keyset pages, one order's story
// (read model, transitions, marketplace calls, live workflow), and the graceful answers when the workflow cannot
// be read; the supervision routes' door (token, unknown parameters, unknown orders); named operators, whose name
// the supervision records with each action they enter. Orders are bought through the production interface, as the
// marketplace would; the ops API is called on the internal listener.

/** A product sold with hardware service supervision in this file's harness. */
const HW_PRODUCT = 'SIM-HW-OPS';
/** Named operators' tokens: the configuration holds only their SHA-256. Mallory's was revoked. */
const ALICE_TOKEN = 'alice-ops-token-1f0c9e';
const MALLORY_TOKEN = 'mallory-ops-token-77ad02';
let h: ServiceHarness;
let origin: string;

beforeAll(async () => {
  h = await startServiceHarness({
    env: {
      SUPERVISED_PRODUCTS: `${HW_PRODUCT}=HARDWARE`,
      OPS_OPERATORS: `alice.ops:${tokenSha256(ALICE_TOKEN)},mallory:${tokenSha256(MALLORY_TOKEN)}`,
      OPS_OPERATORS_REVOKED: 'mallory',
    },
  });
  origin = h.internalOrigin;
});
afterAll(async () => {
  await h?.close();
});

async function ops(path: string, token: string | null = h.opsToken): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${origin}/ops${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

async function opsPost(path: string, body: unknown, token: string | null = h.opsToken): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${origin}/ops${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function buy(customerId: string) {
  const order = h.marketplace.orderBook.createOrder(aSimOrder({ productId: 'prod-ops', customerId }));
  const { orderLineId } = lineOf(order);
  // As the marketplace does: a 000004 (slow machine) is followed by queryInstance polls until the instance is ready.
  const { instanceId } = await h.market.newInstanceV2WithAsync(order.orderId, orderLineId, { retries: 0 });
  return { orderId: order.orderId, orderLineId, instanceId };
}

describe('GET /ops/orders', () => {
  it('when an order was bought, then searching by its orderId finds exactly its instance, without credentials', async () => {
    const { orderId, instanceId } = await buy(uniqueId('cust'));
    const r = await ops(`/orders?orderId=${orderId}`);
    expect(r.status).toBe(200);
    expect(r.body.items).toHaveLength(1);
    expect(r.body.items[0]).toMatchObject({ instanceId, orderId, phase: 'ACTIVE', interfaceVersion: 'V2', testOrder: false, productId: 'prod-ops' });
    expect(r.body.nextCursor).toBeNull();
    expect(r.text).not.toMatch(/credentials|sealed/i);
  });

  it('when a customer has three orders and the limit is 1, then the cursor walks them newest first, each once, and the filters combine', async () => {
    const customerId = uniqueId('cust');
    const bought = [];
    for (let i = 0; i < 3; i++) bought.push(await buy(customerId));
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const r = await ops(`/orders?customerId=${customerId}&phase=ACTIVE&testOrder=false&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.items.map((i: { instanceId: string }) => i.instanceId));
      cursor = r.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(bought.map((b) => b.instanceId).reverse());
    expect((await ops(`/orders?customerId=${customerId}&phase=FROZEN`)).body.items).toEqual([]);
    expect((await ops(`/orders?customerId=${customerId}&testOrder=true`)).body.items).toEqual([]);
  });

  it('when rows share one updated_at, then the keyset still returns each exactly once', async () => {
    const customerId = uniqueId('cust');
    for (let i = 0; i < 3; i++) await buy(customerId);
    await h.pool.query(`UPDATE instances SET updated_at = '2030-01-01T00:00:00.123456Z' WHERE customer_id = $1`, [customerId]);
    const first = await ops(`/orders?customerId=${customerId}&limit=2`);
    const second = await ops(`/orders?customerId=${customerId}&limit=2&cursor=${first.body.nextCursor}`);
    const ids = [...first.body.items, ...second.body.items].map((i: { instanceId: string }) => i.instanceId);
    expect(new Set(ids).size).toBe(3);
    expect(second.body.nextCursor).toBeNull();
  });

  it('when called without the token, then 401 and no data', async () => {
    const r = await ops('/orders', null);
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: 'UNAUTHORIZED', message: 'a valid bearer token is required' });
  });
});

describe('GET /ops/orders/:instanceId', () => {
  it('when the order is live, then its story has the instance, its transitions, the marketplace calls and the live workflow state', async () => {
    const { orderId, instanceId } = await buy(uniqueId('cust'));
    const q = await h.market.v2({ activity: 'queryInstance', instanceId });
    expect(q.body?.resultCode).toBe('000000');
    const r = await ops(`/orders/${instanceId}`);
    expect(r.status).toBe(200);
    expect(r.body.instance).toMatchObject({ instanceId, orderId, phase: 'ACTIVE', credentialsStored: true });
    expect(r.body.instance.frontEndUrl).toMatch(/tenants\.test/);
    expect(r.body.timeline.transitions.map((t: { event: string }) => t.event)).toEqual(['PURCHASE_RECEIVED', 'PROVISIONED']);
    // Inbox rows are written just after each answer: wait for the last one.
    const calls = async () => (await ops(`/orders/${instanceId}`)).body.timeline.marketplaceCalls.map((c: { activity: string; resultCode: string }) => `${c.activity}:${c.resultCode}`);
    await expect.poll(calls).toContain('queryInstance:000000');
    const seen = await calls();
    expect(seen[0]).toMatch(/^newInstance:00000[04]$/);
    expect(new Set(seen.map((c: string) => c.split(':')[0]))).toEqual(new Set(['newInstance', 'queryInstance']));
    expect(r.body.workflow).toMatchObject({ available: true, open: true, status: 'RUNNING', state: { instanceId, phase: 'ACTIVE', seq: 2 } });
    expect(r.body.drift).toEqual([]);
    // Neither the sealed credentials nor the password the marketplace received are ever part of the answer.
    const sealed = (await h.pool.query('SELECT credentials_sealed FROM instances WHERE instance_id = $1', [instanceId])).rows[0].credentials_sealed as string;
    expect(r.text).not.toContain(sealed);
    expect(r.text).not.toContain(q.appInfo!.password!);
  });

  it('when the order was released, then the workflow section shows its final state from the completed run', async () => {
    const { orderId, instanceId } = await buy(uniqueId('cust'));
    const rel = await h.market.v2({ activity: 'releaseInstance', instanceId, orderId });
    expect(rel.body?.resultCode).toBe('000000');
    const r = await ops(`/orders/${instanceId}`);
    expect(r.body.instance.phase).toBe('RELEASED');
    expect(r.body.workflow).toMatchObject({ available: true, open: false, status: 'COMPLETED', state: { phase: 'RELEASED' } });
    expect(r.body.timeline.transitions.at(-1).event).toBe('RELEASED');
  });

  it('when the read model names a workflow that does not exist, then "workflow unavailable" with NOT_FOUND, not an error', async () => {
    const instanceId = uniqueId('ghost');
    await h.pool.query(
      `INSERT INTO instances (instance_id, workflow_id, interface_version, order_id, phase, seq) VALUES ($1, $2, 'V2', $3, 'ACTIVE', 1)`,
      [instanceId, `order-${instanceId}`, `CS-${instanceId}`],
    );
    const r = await ops(`/orders/${instanceId}`);
    expect(r.status).toBe(200);
    expect(r.body.workflow).toMatchObject({ available: false, status: 'NOT_FOUND' });
    expect(r.body.timeline).toEqual({ transitions: [], marketplaceCalls: [] });
  });

  it('when no worker serves the order, then the answer comes within the short timeout with "workflow unavailable"', async () => {
    const { instanceId } = await buy(uniqueId('cust'));
    await h.stopWorker();
    try {
      const started = Date.now();
      const r = await ops(`/orders/${instanceId}`);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(r.status).toBe(200);
      expect(r.body.instance.phase).toBe('ACTIVE');
      expect(r.body.workflow.available).toBe(false);
      expect(r.body.workflow.reason).toMatch(/^workflow unavailable: query failed/);
    } finally {
      await h.startWorker();
    }
  });

  it('when the instance is unknown, then 404 NOT_FOUND', async () => {
    const r = await ops(`/orders/${uniqueId('nope')}`);
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('NOT_FOUND');
  });
});

/** Buys a hardware order and waits until its supervision is recorded (node IMPLEMENTATION). */
async function buySupervised(): Promise<{ orderId: string; orderLineId: string }> {
  const order = h.marketplace.orderBook.createOrder(aSimOrder({ chargingMode: 'ONE_TIME', productId: HW_PRODUCT }));
  const { orderLineId } = lineOf(order);
  const bought = await h.market.v2(aV2PurchaseBody(lineOf(order)));
  expect(['000000', '000004']).toContain(bought.body?.resultCode);
  await expect.poll(async () => (await ops(`/supervision/${order.orderId}`)).body?.supervision?.node, { timeout: 15_000, interval: 150 }).toBe('IMPLEMENTATION');
  return { orderId: order.orderId, orderLineId };
}

/** What the supervision shows: its node and the events recorded so far. */
async function supervisionNow(orderId: string): Promise<{ node: string; events: string[] }> {
  const r = await ops(`/supervision/${orderId}`);
  expect(r.status).toBe(200);
  return { node: r.body.state.node, events: r.body.events.map((e: { event: string }) => e.event) };
}

const SHIPMENT = { type: 'RECORD_SHIPMENT', carrier: 'SF Express', trackingNumber: 'SF-OPS-1' };

describe('the supervision routes', () => {
  it('when called without the token or with a wrong one, then every route answers 401 with a Bearer challenge, and the action is not applied', async () => {
    const { orderId } = await buySupervised();
    for (const token of [null, 'not-the-token', tokenSha256(ALICE_TOKEN)]) {
      const answers = [
        ['GET /supervision', await fetch(`${origin}/ops/supervision`, { headers: token ? { authorization: `Bearer ${token}` } : {} })],
        ['GET /supervision/:orderId', await fetch(`${origin}/ops/supervision/${orderId}`, { headers: token ? { authorization: `Bearer ${token}` } : {} })],
        ['POST /supervision/:orderId/actions', await fetch(`${origin}/ops/supervision/${orderId}/actions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(SHIPMENT),
        })],
      ] as const;
      for (const [route, res] of answers) {
        expect(res.status, `${route} with token ${token}`).toBe(401);
        expect(res.headers.get('www-authenticate'), route).toBe('Bearer realm="ops"');
        expect(await res.json(), route).toEqual({ error: 'UNAUTHORIZED', message: 'a valid bearer token is required' });
      }
    }
    expect(await supervisionNow(orderId)).toEqual({ node: 'IMPLEMENTATION', events: ['SUPERVISION_STARTED'] });
  });

  it('when a query parameter is unknown or repeated, then every route answers 400 INVALID_REQUEST naming it, and the action is not applied', async () => {
    const { orderId, orderLineId } = await buySupervised();
    const list = await ops(`/supervision?nodes=IMPLEMENTATION`);
    expect(list.status).toBe(400);
    expect(list.body).toEqual({ error: 'INVALID_REQUEST', message: 'invalid query parameters: unknown query parameter nodes' });
    const contradictory = await ops(`/supervision?status=COMPLETED&unacceptedForDays=0`);
    expect(contradictory.status).toBe(400);
    expect(contradictory.body.message).toMatch(/status must be PROCESSING or absent/);
    const read = await ops(`/supervision/${orderId}?orderLine=${orderLineId}`);
    expect(read.status).toBe(400);
    expect(read.body).toEqual({ error: 'INVALID_REQUEST', message: 'invalid query parameters: unknown query parameter orderLine' });
    const act = await opsPost(`/supervision/${orderId}/actions?dryRun=1`, SHIPMENT);
    expect(act.status).toBe(400);
    expect(act.body).toEqual({ error: 'INVALID_REQUEST', message: 'invalid query parameters: unknown query parameter dryRun' });
    const repeated = await opsPost(`/supervision/${orderId}/actions?orderLineId=${orderLineId}&orderLineId=${orderLineId}`, SHIPMENT);
    expect(repeated.status).toBe(400);
    expect(repeated.body.message).toBe('invalid query parameters: orderLineId must be given once');
    expect(await supervisionNow(orderId)).toEqual({ node: 'IMPLEMENTATION', events: ['SUPERVISION_STARTED'] });
    // The same action without the stray parameter is applied: the 400s above were about the parameter alone.
    const applied = await opsPost(`/supervision/${orderId}/actions?orderLineId=${orderLineId}`, SHIPMENT);
    expect(applied.status).toBe(200);
    expect(applied.body.state.node).toBe('USER_ACCEPTANCE');
  });

  it('when a V1 order of a supervised product is bought, then the worker finds its terms (the API does not stamp them) and its supervision starts', async () => {
    const orderId = uniqueId('CSV1HW');
    const bought = await h.market.v1('newInstance', { businessId: randomUUID(), orderId, customerId: uniqueId('cust-hw'), productId: HW_PRODUCT, skuCode: 'hw-ops', chargingMode: '3' });
    expect(bought.body?.resultCode).toBe('000000');
    await expect.poll(async () => (await ops(`/supervision/${orderId}`)).body?.supervision?.node, { timeout: 15_000, interval: 150 }).toBe('IMPLEMENTATION');
    const story = await ops(`/orders/${bought.body.instanceId}`);
    expect(story.status).toBe(200);
    expect(JSON.stringify(story.body)).toContain('SUPERVISION_STARTED');
  });

  it('when the order is unknown, or bought but not supervised, then reading its supervision and acting on it answer 404 NOT_FOUND', async () => {
    const unknown = uniqueId('CS-none');
    const { orderId: unsupervised } = await buy(uniqueId('cust'));
    for (const orderId of [unknown, unsupervised]) {
      const read = await ops(`/supervision/${orderId}`);
      expect(read.status, orderId).toBe(404);
      expect(read.body).toEqual({ error: 'NOT_FOUND', message: `no supervised order ${orderId}` });
      const act = await opsPost(`/supervision/${orderId}/actions`, SHIPMENT);
      expect(act.status, orderId).toBe(404);
      expect(act.body).toEqual({ error: 'NOT_FOUND', message: `no supervised order ${orderId}` });
    }
    const line = await opsPost(`/supervision/${unknown}/actions?orderLineId=L1`, SHIPMENT);
    expect(line.body).toEqual({ error: 'NOT_FOUND', message: `no supervised order ${unknown} line L1` });
  });
});

describe('named operators', () => {
  it('when a named operator acts, then the action is applied and the supervision timeline records the operator; OPS_API_TOKEN acts as `ops`', async () => {
    const { orderId } = await buySupervised();
    const shipped = await opsPost(`/supervision/${orderId}/actions`, { ...SHIPMENT, eventId: `${orderId}-ship` }, ALICE_TOKEN);
    expect(shipped.status).toBe(200);
    expect(shipped.body.state.node).toBe('USER_ACCEPTANCE');
    const accepted = await opsPost(`/supervision/${orderId}/actions`, { type: 'ACCEPT' });
    expect(accepted.status).toBe(200);
    const detail = await ops(`/supervision/${orderId}`, ALICE_TOKEN);
    expect(detail.status).toBe(200);
    expect(detail.body.events.map((e: { event: string; actor: string | null }) => [e.event, e.actor])).toEqual([
      ['SUPERVISION_STARTED', null],
      ['RECORD_SHIPMENT', 'alice.ops'],
      ['ACCEPT', 'ops'],
    ]);
    // The workflow update carried the operator too: its history says who acted.
    const history = await h.client.workflow.getHandle(detail.body.workflowId).fetchHistory();
    const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    const actors = updates.map((e) => {
      const payload = e.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.args!.payloads![0]!;
      return (JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { actor?: string }).actor;
    });
    expect(actors).toEqual(['alice.ops', 'ops']);
    // And the log line of each applied action names the operator.
    const applied = h.logLines.map((l) => JSON.parse(l) as { msg: string; orderId?: string; operator?: string }).filter((l) => l.msg === 'supervision action applied' && l.orderId === orderId);
    expect(applied.map((l) => l.operator)).toEqual(['alice.ops', 'ops']);
  });

  it('when a revoked operator calls, then 401 saying the token was revoked and the action is not applied; an unknown token gets the plain 401', async () => {
    const { orderId } = await buySupervised();
    const revoked = await opsPost(`/supervision/${orderId}/actions`, SHIPMENT, MALLORY_TOKEN);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toBe('Bearer realm="ops"');
    expect(revoked.body).toEqual({ error: 'UNAUTHORIZED', message: 'this bearer token was revoked; ask for a new one' });
    expect((await ops('/orders', MALLORY_TOKEN)).status).toBe(401);
    const unknown = await opsPost(`/supervision/${orderId}/actions`, SHIPMENT, 'eve-ops-token-000000');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ error: 'UNAUTHORIZED', message: 'a valid bearer token is required' });
    expect(await supervisionNow(orderId)).toEqual({ node: 'IMPLEMENTATION', events: ['SUPERVISION_STARTED'] });
    const stored = await h.pool.query(`SELECT count(*)::int AS n FROM supervision_events WHERE actor = 'mallory'`);
    expect(stored.rows[0].n).toBe(0);
  });
});
