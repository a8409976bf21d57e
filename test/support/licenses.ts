import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { LICENSE_PATH } from '../../src/licenses/routes.js';
import { verifyLicense, type Jwks } from '../../src/licenses/verify.js';
import type { CreateOrderInput } from '../../tools/simulator/order-book.js';
import { createProductionClient, type ProductionAnswer, type ProductionClient } from '../../tools/simulator/production-client.js';
import { uniqueId } from '../setup/infra.js';
import { TEST_ACCESS_KEY, type ServiceHarness } from './service-harness.js';

// What the License tests share: the marketplace stand-in pointed at the License URL, buying a license product, and
// checking answers and licenses the way the marketplace and a customer's software would.

/** The marketplace stand-in for the License production URL of a harness. */
export function licenseMarket(h: ServiceHarness): ProductionClient {
  return createProductionClient({ baseUrl: new URL(LICENSE_PATH, h.baseUrl).toString(), accessKey: TEST_ACCESS_KEY });
}

/** An answer was HTTP 200, Body-Signed, with this result code. */
export function expectSigned(a: ProductionAnswer, code: string): void {
  expect({ status: a.status, bodySignValid: a.bodySignValid, resultCode: a.body?.resultCode, msg: a.body?.resultMsg }).toMatchObject({ status: 200, bodySignValid: true, resultCode: code });
}

/** Creates a yearly license order in the simulator and buys it through the License URL (V2 newInstance). */
export async function buyLicenseInstance(h: ServiceHarness, market: ProductionClient, extra: Partial<CreateOrderInput> = {}, testFlag?: '1') {
  const order = h.marketplace.orderBook.createOrder({
    orderType: 'NEW',
    chargingMode: 'PERIOD',
    periodType: 'year',
    periodNumber: 1,
    productId: 'prod-license',
    skuCode: 'sku-license',
    customerId: uniqueId('cust'),
    ...extra,
  });
  const line = order.orderLine[0]!.orderLineId;
  const businessId = randomUUID();
  const answer = await market.v2({ activity: 'newInstance', orderId: order.orderId, orderLineId: line, businessId, ...(testFlag ? { testFlag } : {}) });
  expectSigned(answer, '000000');
  return { order, line, businessId, instanceId: answer.body.instanceId as string };
}

/** A getLicenseAsync body. */
export function licenseRequest(instanceId: string, eventId: string, deviceFingerprint?: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    activity: 'getLicenseAsync',
    instanceId,
    effectiveTime: new Date(Date.now() - 60_000).toISOString(),
    expireTime: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    eventId,
    ...(deviceFingerprint !== undefined ? { deviceFingerprint } : {}),
    ...extra,
  };
}

/** The JWKS as the service publishes it. */
export async function fetchJwks(h: ServiceHarness): Promise<Jwks> {
  const res = await fetch(new URL(`${LICENSE_PATH}/jwks.json`, h.baseUrl));
  expect(res.status).toBe(200);
  return (await res.json()) as Jwks;
}

/** The claims of a license that verifies against the published JWKS (fails the test otherwise). */
export async function verifiedClaims(h: ServiceHarness, license: unknown): Promise<Record<string, unknown>> {
  expect(typeof license).toBe('string');
  const result = await verifyLicense(license as string, await fetchJwks(h));
  if (!result.ok) throw new Error(`license did not verify: ${result.reason} ${result.detail ?? ''}`);
  return result.claims;
}

/** How many licenses the read model holds for an instance. */
export async function licenseCount(h: ServiceHarness, instanceId: string): Promise<number> {
  const r = await h.pool.query('SELECT count(*)::int AS n FROM licenses WHERE instance_id = $1', [instanceId]);
  return r.rows[0].n;
}

/** Checks that an answer's body matches the documented response of (method, path, status) in the served document. */
export async function expectDocumentedAnswer(h: ServiceHarness, method: string, path: string, status: number, body: unknown): Promise<void> {
  const { openApiAjv, deref } = await import('./ops/openapi-ajv.js');
  const doc = (await (await fetch(new URL('/openapi.json', h.internalOrigin))).json()) as Record<string, any>;
  const response = deref(doc, doc.paths[path]?.[method.toLowerCase()]?.responses?.[String(status)]);
  expect(response, `${method} ${path} ${status} is documented`).toBeDefined();
  const validate = openApiAjv(doc).validator(response.content['application/json'].schema);
  expect(validate(body), `${method} ${path} ${status}: ${JSON.stringify(validate.errors)}`).toBe(true);
}
