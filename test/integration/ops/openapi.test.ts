import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/api/app.js';
import { buildOpenApiDocument } from '../../../src/api/openapi/document.js';
import { formatCompactUtc } from '../../../src/koogallery/index.js';
import { generateOrderId } from '../../../src/simulator/order-book.js';
import type { ProductionAnswer } from '../../../src/simulator/production-client.js';
import { uniqueId } from '../../setup/infra.js';
import { deref, openApiAjv } from '../../support/ops/openapi-ajv.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';

// The OpenAPI document against the running service: every route Express serves is documented (and nothing else
// is), and real answers — marketplace calls, refusals, health, ops pages and errors — match the documented status,
// headers and body schema.

type Json = Record<string, any>;
let h: ServiceHarness;
let origin: string;
let doc: Json;
let validator: ReturnType<typeof openApiAjv>['validator'];

beforeAll(async () => {
  h = await startServiceHarness();
  origin = new URL(h.baseUrl).origin;
  const res = await fetch(`${origin}/openapi.json`);
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

function documentedOperations(): string[] {
  return Object.entries(doc.paths as Json)
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

const opsGet = (path: string, token: string | null = h.config.opsApiToken) =>
  fetch(`${origin}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

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

  it('when compared with the Express routes, then every routed operation is documented and every documented one is routed', () => {
    const routed = routedOperations(createApp(h.app));
    expect(routed).toContain('GET /ops/orders/{instanceId}');
    expect(routed).toContain('POST /koogallery/saas');
    expect(documentedOperations()).toEqual(routed);
  });
});

describe('real answers match the documented responses', () => {
  it('when the platform endpoints are called, then health, readiness, metrics and the document match', async () => {
    await expectDocumented('GET', '/healthz', await fetch(`${origin}/healthz`));
    await expectDocumented('GET', '/readyz', await fetch(`${origin}/readyz`));
    const metrics = await expectDocumented('GET', '/metrics', await fetch(`${origin}/metrics`));
    expect(metrics).toContain('koogallery_requests_total');
    await expectDocumented('GET', '/openapi.json', await fetch(`${origin}/openapi.json`));
  });

  it('when the marketplace buys, polls and is refused over V2, then every answer matches SaasAnswer with a valid Body-Sign header', async () => {
    const order = h.marketplace.orderBook.createOrder({ orderType: 'NEW', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'p-doc', skuCode: 's-doc', customerId: uniqueId('c') });
    const bought = (await expectDocumented('POST', '/koogallery/saas', await v2({ activity: 'newInstance', orderId: order.orderId, orderLineId: order.orderLine[0]!.orderLineId, businessId: randomUUID() }))) as Json;
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
    const outcome = await h.market.newInstanceV1WithRetries({
      customerId: uniqueId('c'),
      customerName: 'doc',
      orderId: generateOrderId(),
      productId: 'p-doc-v1',
      skuCode: 's-doc-v1',
      chargingMode: '1',
      periodType: 'year',
      periodNumber: '1',
      expireTime: formatCompactUtc(new Date(Date.now() + 365 * 86_400_000)),
    });
    let bought: Json = {};
    for (const a of outcome.answers) bought = (await expectDocumented('GET', '/koogallery/saas', asResponse(a))) as Json;
    expect(bought).toMatchObject({ resultCode: '000000', encryptType: '1', appInfo: { frontEndUrl: expect.any(String) } });
    const invalid = (await expectDocumented('GET', '/koogallery/saas', await v1('instanceStatus', { instanceId: 'x', instanceStatus: 'PAUSED' }))) as Json;
    expect(invalid.resultCode).toBe('000002');
  });

  it('when the ops API answers pages, a story, drift and errors, then each matches its documented schema', async () => {
    const order = h.marketplace.orderBook.createOrder({ orderType: 'NEW', chargingMode: 'PERIOD', periodType: 'year', periodNumber: 1, productId: 'p-doc', skuCode: 's-doc', customerId: uniqueId('c') });
    const { instanceId } = await h.market.newInstanceV2WithAsync(order.orderId, order.orderLine[0]!.orderLineId, { retries: 0 });

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
