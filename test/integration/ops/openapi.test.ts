import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../../src/main/openapi.js';
import { generateOrderId } from '../../../tools/simulator/order-book.js';
import type { ProductionAnswer } from '../../../tools/simulator/production-client.js';
import { uniqueId } from '../../setup/infra.js';
import { deref, openApiAjv } from '../../support/ops/openapi-ajv.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, aV1PurchaseParams, aV2PurchaseBody, lineOf } from '../../support/factories.js';

// The OpenAPI document against the running service: every route each listener serves is documented for that
// listener (and nothing else is), the public listener answers nothing but the marketplace's paths, and real
// answers — marketplace calls, refusals, health, ops pages and errors, service supervision and the order
// notification — match the documented status, headers and body schema.

type Json = Record<string, any>;
/** A product sold with hardware service supervision in this file's harness. */
const HW_PRODUCT = 'SIM-HW-DOC';
let h: ServiceHarness;
/** The public listener (the marketplace's). */
let origin: string;
/** The internal listener (platform endpoints and the ops API). */
let internal: string;
let doc: Json;
let validator: ReturnType<typeof openApiAjv>['validator'];

beforeAll(async () => {
  h = await startServiceHarness({ env: { SUPERVISED_PRODUCTS: `${HW_PRODUCT}=HARDWARE` } });
  origin = new URL(h.baseUrl).origin;
  internal = h.internalOrigin;
  const res = await fetch(`${internal}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Json;
  validator = openApiAjv(doc).validator;
});
afterAll(async () => {
  await h?.close();
});

/** Every (METHOD, path) the Express app routes, with `:param` written `{param}` (router 2 keeps each layer's rawPath). */
function routedOperations(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = `${prefix}${layer.route.path === '/' ? '' : layer.route.path}` || '/';
        // `router.all` (`_all`) is the production URL's refusal of unsupported methods, not an operation.
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) out.push(`${method.toUpperCase()} ${path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack, `${prefix}${typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : ''}`);
      }
    }
  };
  walk((app as any).router.stack, '');
  return out.sort();
}

function documentedOperations(listener: 'public' | 'internal'): string[] {
  return Object.entries(doc.paths as Json)
    .filter(([, item]) => (item as Json)['x-listener'] === listener)
    .flatMap(([path, item]) => Object.keys(item as Json).filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

/** Checks a real answer against the documented response of (method, path template, status). */
async function expectDocumented(method: string, template: string, res: Response): Promise<Json | string> {
  const op = doc.paths[template]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is documented`).toBeDefined();
  const documented = op.responses[String(res.status)];
  expect(documented, `${method} ${template} documents status ${res.status}`).toBeDefined();
  const response = deref(doc, documented);
  for (const [name, header] of Object.entries((response.headers ?? {}) as Json)) {
    const hdr = deref(doc, header);
    const value = res.headers.get(name);
    if (hdr.required) expect(value, `${method} ${template} ${res.status}: header ${name}`).not.toBeNull();
    if (value !== null && hdr.schema) {
      const v = validator(hdr.schema);
      expect(v(value), `header ${name}: ${JSON.stringify(v.errors)}`).toBe(true);
    }
  }
  const text = await res.text();
  const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const content = response.content as Json | undefined;
  expect(Object.keys(content ?? {}), `${method} ${template} ${res.status}: documented media types`).toContain(contentType);
  const schema = content![contentType].schema;
  const body = contentType === 'application/json' ? (JSON.parse(text) as Json) : text;
  const v = validator(schema);
  expect(v(body), `${method} ${template} ${res.status}: ${JSON.stringify(v.errors)}\n${text.slice(0, 500)}`).toBe(true);
  return body;
}

const opsGet = (path: string, token: string | null = h.opsToken) =>
  fetch(`${internal}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
/** POSTs `body` (serialised unless it is already a string) to the ops API. */
const opsPost = (path: string, body: unknown, token: string | null = h.opsToken) =>
  fetch(`${internal}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/**
 * A production-interface answer as a Response. The simulator's client reads the raw socket (the exact bytes and
 * the exact `Body-Sign` header name); its content type is fixed by the production interface.
 */
function asResponse(a: ProductionAnswer): Response {
  expect(a.bodySignValid, 'Body-Sign under its exact name, valid over the exact bytes').toBe(true);
  return new Response(a.rawBody, { status: a.status, headers: { 'content-type': 'application/json;charset=UTF-8', ...(a.bodySignHeader ? { 'Body-Sign': a.bodySignHeader } : {}) } });
}
async function v2(body: Json, opts: { badSignature?: boolean } = {}): Promise<Response> {
  return asResponse(await h.market.v2(body, opts.badSignature ? { signature: 'F'.repeat(64) } : {}));
}
async function v1(activity: string, params: Record<string, string>): Promise<Response> {
  return asResponse(await h.market.v1(activity, params));
}

describe('the served OpenAPI document', () => {
  it('when fetched, then it is the document the code builds, OpenAPI 3.1', () => {
    expect(doc).toEqual(buildOpenApiDocument());
    expect(doc.openapi).toBe('3.1.0');
  });

  it('when compared with the Express routes of each listener, then every routed operation is documented for its listener and every documented one is routed there', () => {
    const publicRouted = routedOperations(h.api.public);
    const internalRouted = routedOperations(h.api.internal);
    expect(publicRouted).toEqual([
      'GET /koogallery/license',
      'GET /koogallery/license/jwks.json',
      'GET /koogallery/saas',
      'POST /koogallery/license',
      'POST /koogallery/license-code',
      'POST /koogallery/license-code/activate',
      'POST /koogallery/license-code/heartbeat',
      'POST /koogallery/order-notification',
      'POST /koogallery/saas',
    ]);
    expect(internalRouted).toContain('GET /ops/orders/{instanceId}');
    expect(internalRouted).toContain('GET /readyz');
    expect(documentedOperations('public')).toEqual(publicRouted);
    expect(documentedOperations('internal')).toEqual(internalRouted);
    // Every path states its listener.
    for (const [path, item] of Object.entries(doc.paths as Json)) expect(['public', 'internal'], path).toContain((item as Json)['x-listener']);
  });

  it('when the public listener is asked for any internal path (with an ops token too), then it answers 404 and nothing of it; the internal listener serves none of the marketplace paths', async () => {
    const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'x-1');
    const internalPaths = Object.entries(doc.paths as Json).filter(([, item]) => (item as Json)['x-listener'] === 'internal').map(([path]) => concrete(path));
    expect(internalPaths).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/openapi.json', '/ops/orders', '/ops/drift', '/ops/supervision']));
    for (const path of [...internalPaths, '/ops', '/ops/nope']) {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${origin}${path}`, { method, headers: { authorization: `Bearer ${h.opsToken}`, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(res.status, `${method} ${path} on the public listener`).toBe(404);
        expect(await res.json()).toEqual({ error: 'not found', path });
      }
    }
    for (const path of ['/koogallery/saas', '/koogallery/order-notification']) {
      const res = await fetch(`${internal}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status, `POST ${path} on the internal listener`).toBe(404);
    }
  });
});

describe('real answers match the documented responses', () => {
  it('when the platform endpoints are called, then health, readiness, metrics and the document match', async () => {
    await expectDocumented('GET', '/healthz', await fetch(`${internal}/healthz`));
    const ready = (await expectDocumented('GET', '/readyz', await fetch(`${internal}/readyz`))) as Json;
    expect(ready.checks.map((c: Json) => c.name)).toEqual(['postgres', 'migrations', 'temporal']);
    const metrics = await expectDocumented('GET', '/metrics', await fetch(`${internal}/metrics`));
    expect(metrics).toContain('koogallery_requests_total');
    await expectDocumented('GET', '/openapi.json', await fetch(`${internal}/openapi.json`));
  });

  it('when the marketplace buys, polls and is refused over V2, then every answer matches SaasAnswer with a valid Body-Sign header', async () => {
    const order = h.marketplace.orderBook.createOrder(aSimOrder());
    const bought = (await expectDocumented('POST', '/koogallery/saas', await v2(aV2PurchaseBody(lineOf(order))))) as Json;
    expect(['000000', '000004']).toContain(bought.resultCode);
    // Polled as the marketplace does after a 000004 (on a fast machine the first poll is ready): every answer documented.
    let polled: Json = {};
    for (let i = 0; i < 50 && !polled.info; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      polled = (await expectDocumented('POST', '/koogallery/saas', await v2({ activity: 'queryInstance', instanceId: bought.instanceId }))) as Json;
    }
    expect(polled.info[0].appInfo.frontEndUrl).toBeTruthy();
    const refused = (await expectDocumented('POST', '/koogallery/saas', await v2({ activity: 'queryInstance', instanceId: 'x' }, { badSignature: true }))) as Json;
    expect(refused.resultCode).toBe('000001');
    const invalid = (await expectDocumented('POST', '/koogallery/saas', await v2({ activity: 'updateInstanceStatus', instanceId: 'x', status: 'PAUSE' }))) as Json;
    expect(invalid.resultCode).toBe('000002');
  });

  it('when the marketplace buys over V1 and sends a bad parameter, then every answer matches SaasAnswer', async () => {
    // With the marketplace's retries: on a slow machine a first attempt may be answered 000005 (still provisioning).
    const outcome = await h.market.newInstanceV1WithRetries(aV1PurchaseParams({ customerName: 'doc', orderId: generateOrderId() }));
    let bought: Json = {};
    for (const a of outcome.answers) bought = (await expectDocumented('GET', '/koogallery/saas', asResponse(a))) as Json;
    expect(bought).toMatchObject({ resultCode: '000000', encryptType: '1', appInfo: { frontEndUrl: expect.any(String) } });
    const invalid = (await expectDocumented('GET', '/koogallery/saas', await v1('instanceStatus', { instanceId: 'x', instanceStatus: 'PAUSED' }))) as Json;
    expect(invalid.resultCode).toBe('000002');
  });

  it('when the ops API answers pages, a story, drift and errors, then each matches its documented schema', async () => {
    const order = h.marketplace.orderBook.createOrder(aSimOrder());
    const { instanceId } = await h.market.newInstanceV2WithAsync(order.orderId, lineOf(order).orderLineId, { retries: 0 });

    const list = (await expectDocumented('GET', '/ops/orders', await opsGet(`/ops/orders?orderId=${order.orderId}`))) as Json;
    expect(list.items).toHaveLength(1);
    await expectDocumented('GET', '/ops/orders', await opsGet('/ops/orders?limit=2'));
    const story = (await expectDocumented('GET', '/ops/orders/{instanceId}', await opsGet(`/ops/orders/${instanceId}`))) as Json;
    expect(story.workflow.available).toBe(true);
    // The "workflow unavailable" branch of the schema, with a real answer.
    const ghost = uniqueId('ghost-doc');
    await h.pool.query(`INSERT INTO instances (instance_id, workflow_id, interface_version, order_id, phase, seq) VALUES ($1, $2, 'V1', $3, 'ACTIVE', 1)`, [ghost, `order-${ghost}`, `CS-${ghost}`]);
    const ghostStory = (await expectDocumented('GET', '/ops/orders/{instanceId}', await opsGet(`/ops/orders/${ghost}`))) as Json;
    expect(ghostStory.workflow.available).toBe(false);
    await h.pool.query(`UPDATE instances SET phase = 'FROZEN' WHERE instance_id = $1`, [instanceId]);
    await h.client.workflow.execute('reconciliationWorkflow', { taskQueue: h.config.temporal.taskQueue, workflowId: uniqueId('recon-doc'), args: [{ instanceIds: [instanceId, ghost] }] });
    const drift = (await expectDocumented('GET', '/ops/drift', await opsGet(`/ops/drift?status=all&limit=1`))) as Json;
    expect(drift.findings).toHaveLength(1);
    expect(drift.lastRun).not.toBeNull();
    await expectDocumented('GET', '/ops/drift', await opsGet(`/ops/drift?instanceId=${instanceId}`));

    await expectDocumented('GET', '/ops/orders', await opsGet('/ops/orders?limit=0'));
    await expectDocumented('GET', '/ops/orders', await opsGet('/ops/orders', null));
    await expectDocumented('GET', '/ops/drift', await opsGet('/ops/drift', 'wrong'));
    await expectDocumented('GET', '/ops/orders/{instanceId}', await opsGet(`/ops/orders/${uniqueId('none')}`));
  });
});

/** Buys a hardware order over V2 and waits for its supervision row; every answer on the way is checked against the document. */
async function buySupervised(): Promise<{ orderId: string; orderLineId: string; detail: Json }> {
  const order = h.marketplace.orderBook.createOrder(aSimOrder({ productId: HW_PRODUCT }));
  const { orderId, orderLineId } = lineOf(order);
  const bought = await expectDocumented('POST', '/koogallery/saas', await v2(aV2PurchaseBody({ orderId, orderLineId })));
  expect(['000000', '000004']).toContain((bought as Json).resultCode);
  for (let i = 0; i < 100; i++) {
    const res = await opsGet(`/ops/supervision/${orderId}`);
    // 404 until the supervision workflow answers; `supervision` null until its first read-model write.
    const detail = (await expectDocumented('GET', '/ops/supervision/{orderId}', res)) as Json;
    if (res.status === 200 && detail.supervision) return { orderId, orderLineId, detail };
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`supervision of ${orderId} did not start`);
}

describe('service supervision and the order notification match the documented responses', () => {
  it('when supervised orders are listed, read, acted on (applied, repeated, refused, invalid, unknown), then every answer matches its documented schema', async () => {
    const a = await buySupervised();
    const b = await buySupervised();
    expect(a.detail).toMatchObject({ live: true, state: { kind: 'HARDWARE', node: 'IMPLEMENTATION', status: 'PROCESSING' }, supervision: { orderId: a.orderId, orderLineId: a.orderLineId } });
    expect(a.detail.events.map((e: Json) => e.event)).toEqual(['SUPERVISION_STARTED']);

    // The list: by order, and a filtered page walked with its cursor.
    const byOrder = (await expectDocumented('GET', '/ops/supervision', await opsGet(`/ops/supervision?orderId=${a.orderId}`))) as Json;
    expect(byOrder.items).toHaveLength(1);
    expect(byOrder.items[0]).toMatchObject({ orderId: a.orderId, kind: 'HARDWARE', node: 'IMPLEMENTATION', status: 'PROCESSING', appealOpen: false, acceptedAt: null, validity: null });
    const filters = 'kind=HARDWARE&status=PROCESSING&node=IMPLEMENTATION&appealOpen=false&unacceptedForDays=0';
    const first = (await expectDocumented('GET', '/ops/supervision', await opsGet(`/ops/supervision?${filters}&limit=1`))) as Json;
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    await expectDocumented('GET', '/ops/supervision', await opsGet(`/ops/supervision?${filters}&limit=200&cursor=${first.nextCursor}`));

    // The detail, naming the line.
    const detail = (await expectDocumented('GET', '/ops/supervision/{orderId}', await opsGet(`/ops/supervision/${a.orderId}?orderLineId=${a.orderLineId}`))) as Json;
    expect(detail.workflowId).toBe(a.detail.workflowId);

    // 409: the action does not fit the node; nothing changes.
    const refused = (await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${a.orderId}/actions`, { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'r-1' }))) as Json;
    expect(refused).toMatchObject({ error: 'CONFLICT', workflowId: a.detail.workflowId, node: 'IMPLEMENTATION', status: 'PROCESSING' });

    // 400: a missing field, a body that is not JSON, an unknown query parameter.
    const invalid = (await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${a.orderId}/actions`, { type: 'RECORD_SHIPMENT', carrier: 'SF Express' }))) as Json;
    expect(invalid).toMatchObject({ error: 'INVALID_REQUEST', message: expect.stringMatching(/trackingNumber/) });
    expect(((await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${a.orderId}/actions`, '{"type":'))) as Json).error).toBe('INVALID_REQUEST');
    const unknownParam = (await expectDocumented('GET', '/ops/supervision/{orderId}', await opsGet(`/ops/supervision/${a.orderId}?line=1`))) as Json;
    expect(unknownParam.message).toMatch(/unknown query parameter line/);

    // 200: applied, then the same eventId again (applied false, state unchanged).
    const shipment = { type: 'RECORD_SHIPMENT', carrier: 'SF Express', trackingNumber: 'SF-DOC-1', deliveryDocuments: ['note.pdf'], eventId: `${a.orderId}-shipped` };
    const shipped = (await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${a.orderId}/actions?orderLineId=${a.orderLineId}`, shipment))) as Json;
    expect(shipped).toMatchObject({ applied: true, workflowId: a.detail.workflowId, state: { node: 'USER_ACCEPTANCE', shipment: { trackingNumber: 'SF-DOC-1' } } });
    const again = (await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${a.orderId}/actions`, shipment))) as Json;
    expect(again).toMatchObject({ applied: false, state: { node: 'USER_ACCEPTANCE', seq: shipped.state.seq } });

    // 404 and 401.
    const none = uniqueId('CS-none');
    expect(((await expectDocumented('GET', '/ops/supervision/{orderId}', await opsGet(`/ops/supervision/${none}`))) as Json).error).toBe('NOT_FOUND');
    expect(((await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${none}/actions`, { type: 'ACCEPT' }))) as Json).error).toBe('NOT_FOUND');
    await expectDocumented('GET', '/ops/supervision', await opsGet('/ops/supervision', null));
    await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${b.orderId}/actions`, { type: 'ACCEPT' }, 'wrong'));
  });

  it('when an order has two supervised lines and no orderLineId is named, then the 400 listing the lines matches the document', async () => {
    const orderId = uniqueId('CS-two-lines');
    const lines = ['L1', 'L2'];
    const state = { kind: 'HARDWARE', node: 'IMPLEMENTATION', status: 'PROCESSING', startedAt: new Date().toISOString(), requirementRejections: 0, acceptanceRejections: 0, remindersSent: 0, appliedEventIds: [], seq: 1 };
    for (const line of lines) {
      await h.pool.query(
        `INSERT INTO supervisions (workflow_id, order_workflow_id, instance_id, order_id, order_line_id, kind, node, status, started_at, state, seq)
         VALUES ($1, $2, $3, $4, $5, 'HARDWARE', 'IMPLEMENTATION', 'PROCESSING', now(), $6, 1)`,
        [`supervision-order-${orderId}-${line}`, `order-${orderId}-${line}`, uniqueId('i-two'), orderId, line, JSON.stringify(state)],
      );
    }
    try {
      const read = (await expectDocumented('GET', '/ops/supervision/{orderId}', await opsGet(`/ops/supervision/${orderId}`))) as Json;
      expect(read).toMatchObject({ error: 'INVALID_REQUEST', orderLineIds: lines });
      const act = (await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${orderId}/actions`, { type: 'ACCEPT' }))) as Json;
      expect(act.orderLineIds).toEqual(lines);
    } finally {
      await h.pool.query('DELETE FROM supervisions WHERE order_id = $1', [orderId]);
    }
  });

  it('when the marketplace sends order notifications (applied, badly signed, unknown order), then every answer matches NotificationAnswer with a valid Body-Sign header', async () => {
    const { orderId, orderLineId } = await buySupervised();
    await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${orderId}/actions`, { type: 'RECORD_SHIPMENT', carrier: 'EMS', trackingNumber: 'E-DOC' }));
    h.marketplace.orderBook.addSupervisionEvents(orderId, { events: [{ eventId: `${orderId}-signed`, eventType: 'SIGNED_FOR', orderLineId, consigneePhone: '138****1234' }] });
    const signed = (await expectDocumented('POST', '/koogallery/order-notification', asResponse(await h.market.orderNotification({ orderId, orderLineId })))) as Json;
    expect(signed).toEqual({ resultCode: '000000', resultMsg: 'success.' });
    // The sign-for reached the state, and the state with it still matches SupervisionState.
    const detail = (await expectDocumented('GET', '/ops/supervision/{orderId}', await opsGet(`/ops/supervision/${orderId}`))) as Json;
    expect(detail.state.signFor).toMatchObject({ at: expect.any(String), phoneMismatch: false });
    expect(detail.events.map((e: Json) => e.event)).toEqual(['SUPERVISION_STARTED', 'RECORD_SHIPMENT', 'SIGN_FOR']);

    const forged = (await expectDocumented('POST', '/koogallery/order-notification', asResponse(await h.market.orderNotification({ orderId }, { signature: 'F'.repeat(64) })))) as Json;
    expect(forged.resultCode).toBe('000001');
    const unknown = (await expectDocumented('POST', '/koogallery/order-notification', asResponse(await h.market.orderNotification({ orderId: generateOrderId() })))) as Json;
    expect(unknown.resultCode).toBe('000002');
  });

  it('when ops write off lines no statement holds (written off, none to write off, invalid), then every answer matches its documented schema', async () => {
    const scope = uniqueId('doc-unbilled');
    const lineKey = `${scope}:o:PURCHASE`;
    await h.pool.query(
      `INSERT INTO settlement_lines (line_key, order_workflow_id, instance_id, order_id, product_id, event_kind, goods, settlement_type, tax_rate_ppm, share_rate_ppm, gross_minor, test_order, state, event)
       VALUES ($1, $2, $3, 'o', 'p', 'PURCHASE', 'GENERAL', 'PLATFORM_FEE', 60000, 0, 1000, false, 'PENDING', '{}')`,
      [lineKey, `order-${scope}`, `i-${scope}`],
    );
    const path = '/ops/settlement/lines/write-off';
    const done = (await expectDocumented('POST', path, await opsPost(path, { lineKeys: [lineKey], reason: 'never delivered' }))) as Json;
    expect(done).toEqual({ writtenOff: [lineKey], refused: [], ordersTold: 0 });
    const none = (await expectDocumented('POST', path, await opsPost(path, { lineKeys: [`${scope}-absent`], reason: 'never delivered' }))) as Json;
    expect(none).toMatchObject({ error: 'CONFLICT', refused: [{ lineKey: `${scope}-absent`, reason: 'no such line' }] });
    const invalid = (await expectDocumented('POST', path, await opsPost(path, { lineKeys: [] }))) as Json;
    expect(invalid.error).toBe('INVALID_REQUEST');
  });

  it('when no worker serves the supervision, then the action answers the documented 503 and the detail falls back to the read model', async () => {
    const { orderId } = await buySupervised();
    await h.stopWorker();
    try {
      // Refused whenever the worker comes back, so the update left pending here can never change the order.
      const unavailable = (await expectDocumented('POST', '/ops/supervision/{orderId}/actions', await opsPost(`/ops/supervision/${orderId}/actions`, { type: 'CONFIRM_REQUIREMENT' }))) as Json;
      expect(unavailable.error).toBe('UNAVAILABLE');
      const detail = (await expectDocumented('GET', '/ops/supervision/{orderId}', await opsGet(`/ops/supervision/${orderId}`))) as Json;
      expect(detail).toMatchObject({ live: false, state: { node: 'IMPLEMENTATION' } });
    } finally {
      await h.startWorker();
    }
  });
});
