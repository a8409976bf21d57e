import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeV1AuthToken, computeV2Signature } from '../../src/koogallery/index.js';
import { LICENSE_CODE_PATH } from '../../src/licenses/code-routes.js';
import { LICENSE_PATH } from '../../src/licenses/routes.js';
import { formatV1TimeStamp, type ProductionAnswer, type ProductionClient } from '../../tools/simulator/production-client.js';
import { SPEC_RESULT_CODES } from '../support/fault-checks.js';
import { bounded, mapPool } from '../support/fault-harness.js';
import { buyLicenseInstance, licenseMarket } from '../support/licenses.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../support/service-harness.js';

// Issue #13: every bad-input class of the SaaS production interface, on the three License paths — POST and GET
// /koogallery/license and POST /koogallery/license-code. Each class is sent as the marketplace could (mostly signed,
// so it gets past authentication and reaches validation) and must be answered HTTP 200 JSON, with a valid Body-Sign
// and its result code; a refused request must change nothing (no license, no instance, no code). Then fast-check
// throws correctly signed bodies with arbitrary field values at the three paths with the same property.

const LICENSE_CODES = new Set([...SPEC_RESULT_CODES, '000900', '000901']);
const RUNS = process.env.RELIABILITY === 'full' ? 100 : 20;

let h: ServiceHarness;
let instanceId: string;
beforeAll(async () => {
  h = await startServiceHarness();
  ({ instanceId } = await buyLicenseInstance(h, licenseMarket(h), { linearValue: 1000 }));
});
afterAll(async () => {
  await bounded('harness close', async () => h?.close(), 60_000);
});

// What the refused calls of this file could have written: licenses of its instance, instances of the orders its
// V1 calls name, and its license code. Scoped, not whole-table counts: other test files write those tables at the
// same time in a full run (a whole-table count failed on a clean-clone run for that alone).
const HOSTILE_ORDER_IDS = ['CSHOSTILE0000001', 'o'];
const counts = async () => {
  const r = await h.pool.query(
    `SELECT (SELECT count(*) FROM licenses WHERE instance_id = $1)::int AS licenses,
            (SELECT count(*) FROM instances WHERE order_id = ANY($2::text[]) OR instance_id = 'x')::int AS instances,
            (SELECT count(*) FROM license_codes WHERE license_code = 'HOSTILE-CODE')::int AS codes`,
    [instanceId, HOSTILE_ORDER_IDS],
  );
  return r.rows[0] as { licenses: number; instances: number; codes: number };
};

const rawAt = (path: string): ProductionClient['raw'] => (req) => licenseMarket(h).at(path).raw(req);

/** A V2 POST to `path` with the given bytes, signed as `mode` says. */
function v2(path: string, bytes: Buffer, mode: 'valid' | 'none' | 'wrong-key' | 'stale' | 'headers' | 'signed-encoded' = 'valid', headers: Record<string, string> = {}): Promise<ProductionAnswer> {
  const nonce = randomBytes(16).toString('hex');
  const timestamp = String(mode === 'stale' ? Date.now() - 120_000 : Date.now());
  const signature = computeV2Signature(mode === 'wrong-key' ? `${TEST_ACCESS_KEY}-not` : TEST_ACCESS_KEY, { nonce, timestamp, body: bytes });
  const credentials = { signature, timestamp, nonce };
  if (mode === 'none') return rawAt(path)({ method: 'POST', body: bytes, headers: { 'Content-Type': 'application/json', ...headers } });
  if (mode === 'headers') return rawAt(path)({ method: 'POST', body: bytes, headers: { 'Content-Type': 'application/json', 'x-sign': signature, 'x-timestamp': timestamp, 'x-nonce': nonce, ...headers } });
  return rawAt(path)({ method: 'POST', query: credentials, body: bytes, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** A V1 GET of /koogallery/license with a query string spelled as given (authToken over `params` unless 'none'). */
function v1(params: Record<string, string>, spell: (pairs: string[]) => string = (p) => p.join('&'), sign: 'valid' | 'none' | 'stale' = 'valid'): Promise<ProductionAnswer> {
  const q: Record<string, string> = { ...params, timeStamp: formatV1TimeStamp(sign === 'stale' ? Date.now() - 10 * 60_000 : Date.now()) };
  if (sign !== 'none') q.authToken = computeV1AuthToken(TEST_ACCESS_KEY, q);
  const pairs = Object.entries(q).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return rawAt(LICENSE_PATH)({ method: 'GET', query: spell(pairs) });
}

const json = (o: unknown) => Buffer.from(JSON.stringify(o), 'utf8');
const getLicenseAsync = (extra: Record<string, unknown> = {}) => ({ activity: 'getLicenseAsync', instanceId, effectiveTime: '20250101000000', eventId: `hostile-${randomBytes(4).toString('hex')}`, ...extra });
const codeRelease = (extra: Record<string, unknown> = {}) => ({ activity: 'releaseLicenseCode', license: 'HOSTILE-CODE', ...extra });

function expectAnswered(label: string, a: ProductionAnswer, code: string): void {
  expect({ label, status: a.status, bodySignValid: a.bodySignValid, resultCode: a.body?.resultCode }).toEqual({ label, status: 200, bodySignValid: true, resultCode: code });
  expect(a.rawBody, label).not.toMatch(/at [^\n]*\.(ts|js):\d+|\bError: /);
}

describe.sequential('License paths: every bad-input class of the SaaS interface', () => {
  it('when POST /koogallery/license and /koogallery/license-code get forged, stale, replayed, malformed or oversized calls, then each is refused with its code, signed, and nothing changes', async () => {
    const before = await counts();
    for (const [path, body] of [[LICENSE_PATH, getLicenseAsync()], [LICENSE_CODE_PATH, codeRelease()]] as const) {
      const bytes = json(body);
      const cases: Array<[string, Promise<ProductionAnswer>, string]> = [
        ['no signature', v2(path, bytes, 'none'), '000001'],
        ['wrong key', v2(path, bytes, 'wrong-key'), '000001'],
        ['stale timestamp', v2(path, bytes, 'stale'), '000001'],
        ['not JSON', v2(path, Buffer.from('{"activity":'), 'valid'), '000002'],
        ['JSON array', v2(path, json([body]), 'valid'), '000002'],
        ['JSON null', v2(path, Buffer.from('null'), 'valid'), '000002'],
        ['JSON string', v2(path, json('getLicenseAsync'), 'valid'), '000002'],
        ['empty body', v2(path, Buffer.alloc(0), 'valid'), '000002'],
        ['trailing garbage', v2(path, Buffer.concat([bytes, Buffer.from(' {}')]), 'valid'), '000002'],
        ['invalid UTF-8', v2(path, Buffer.from([0x7b, 0x22, 0x61, 0xc3, 0x28, 0x22, 0x7d]), 'valid'), '000002'],
        ['UTF-16 body', v2(path, Buffer.from(JSON.stringify(body), 'utf16le'), 'valid'), '000002'],
        ['deeply nested', v2(path, Buffer.from('['.repeat(20_000) + ']'.repeat(20_000)), 'valid'), '000002'],
        ['proto pollution', v2(path, Buffer.from('{"__proto__":{"activity":"getLicenseAsync"},"constructor":{"prototype":{"x":1}}}'), 'valid'), '000002'],
        ['unknown activity', v2(path, json({ ...body, activity: 'getLicenseasync' }), 'valid'), '000002'],
        ['activity with NUL', v2(path, json({ ...body, activity: `${body.activity}\u0000` }), 'valid'), '000002'],
        ['missing field', v2(path, json({ activity: body.activity }), 'valid'), '000002'],
        ['field too long', v2(path, json({ ...body, ...(path === LICENSE_PATH ? { eventId: 'e'.repeat(65) } : { license: 'L'.repeat(65) }) }), 'valid'), '000002'],
        ['field of the wrong type', v2(path, json({ ...body, ...(path === LICENSE_PATH ? { eventId: 12 } : { license: ['x'] }) }), 'valid'), '000002'],
        ['NUL in a field', v2(path, json({ ...body, ...(path === LICENSE_PATH ? { eventId: 'a\u0000b' } : { license: 'a\u0000b' }) }), 'valid'), '000002'],
        ['testFlag out of range', v2(path, json({ ...body, testFlag: '7' }), 'valid'), '000002'],
        ['gzip body signed as sent (the signature covers the bytes after decoding)', v2(path, gzipSync(bytes), 'valid', { 'Content-Encoding': 'gzip' }), '000001'],
        ['body over the limit', v2(path, json({ ...body, pad: 'p'.repeat(h.config.http.maxBodyBytes) }), 'valid'), '000002'],
      ];
      for (const [label, answer, code] of cases) expectAnswered(`${path} ${label}`, await answer, code);
      // A replayed nonce: the second use is refused.
      const nonce = randomBytes(16).toString('hex');
      const timestamp = String(Date.now());
      const query = { signature: computeV2Signature(TEST_ACCESS_KEY, { nonce, timestamp, body: json({ activity: 'noSuchActivity' }) }), timestamp, nonce };
      await rawAt(path)({ method: 'POST', query, body: json({ activity: 'noSuchActivity' }) });
      expectAnswered(`${path} replayed nonce`, await rawAt(path)({ method: 'POST', query, body: json({ activity: 'noSuchActivity' }) }), '000001');
      for (const method of ['PUT', 'DELETE', 'PATCH']) expectAnswered(`${path} ${method}`, await rawAt(path)({ method, body: bytes }), '000002');
    }
    expect(await counts()).toEqual(before);
  });

  it('when GET /koogallery/license gets forged, stale, duplicated, misspelt or malformed queries, then each is refused with its code, signed, and nothing changes', async () => {
    const before = await counts();
    const params = { activity: 'getLicense', businessId: 'b-hostile', orderId: 'CSHOSTILE0000001', customerId: 'c' };
    const cases: Array<[string, Promise<ProductionAnswer>, string]> = [
      ['no authToken', v1(params, undefined, 'none'), '000001'],
      ['stale timeStamp', v1(params, undefined, 'stale'), '000001'],
      ['forged authToken', rawAt(LICENSE_PATH)({ method: 'GET', query: { ...params, timeStamp: formatV1TimeStamp(Date.now()), authToken: 'Zm9yZ2Vk' } }), '000001'],
      ['duplicated parameter', v1(params, (p) => [...p, p[0]!].join('&')), '000002'],
      ['malformed escape', v1(params, (p) => [...p, 'broken=%E0%A4%A'].join('&')), '000002'],
      ['truncated UTF-8', v1(params, (p) => [...p, 'x=%C3'].join('&')), '000002'],
      ['parameter without =', v1(params, (p) => [...p, 'flag'].join('&')), '000001'],
      ['semicolons', v1(params, (p) => p.join(';')), '000001'],
      ['unknown activity', v1({ ...params, activity: 'newInstance' }), '000002'],
      ['SaaS activity on the License URL', v1({ ...params, activity: 'expireInstance', instanceId: 'x' }), '000002'],
      ['missing businessId', v1({ activity: 'getLicense', orderId: 'o', customerId: 'c' }), '000002'],
      ['orderId too long', v1({ ...params, orderId: 'o'.repeat(65) }), '000002'],
      ['NUL in a value', v1({ ...params, customerId: 'c\u0000' }), '000002'],
      ['bad expireTime', v1({ ...params, expireTime: '2025-13-40' }), '000002'],
      ['refreshLicense without instanceId', v1({ activity: 'refreshLicense', orderId: 'o', expireTime: '20300101000000' }), '000002'],
      ['GET with a body', rawAt(LICENSE_PATH)({ method: 'GET', query: {}, body: '{"activity":"getLicense"}', headers: { 'Content-Type': 'application/json' } }), '000001'],
    ];
    for (const [label, answer, code] of cases) expectAnswered(`GET ${label}`, await answer, code);
    expect(await counts()).toEqual(before);
  });
});

describe.sequential('License paths: fuzzed field values, correctly signed', () => {
  const weird = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('', ' ', '\u0000', '\ud800', '😀', '中文', '__proto__', '1e309', '-1', '20991231235959', '2025-01-01T00:00:00Z', 'FREEZE', 'RENEWAL'),
    fc.integer(),
    fc.constant(null),
    fc.jsonValue({ maxDepth: 2 }),
    fc.integer({ min: 60, max: 1100 }).map((n) => 'x'.repeat(n)),
  );
  const templates = fc.constantFrom<[string, () => Record<string, unknown>]>(
    [LICENSE_PATH, () => getLicenseAsync()],
    [LICENSE_CODE_PATH, () => ({ activity: 'refreshLicenseCode', scene: 'RENEWAL', orderId: 'o', orderLineId: 'l', license: 'HOSTILE-CODE', expireTime: '20300101000000' })],
    [LICENSE_CODE_PATH, () => ({ activity: 'updateLicenseCodeStatus', license: 'HOSTILE-CODE', status: 'FREEZE' })],
    [LICENSE_CODE_PATH, () => codeRelease()],
  );

  it(`when ${RUNS * 50} signed bodies with arbitrary field values arrive 8 at a time, then every answer is 200 JSON, signed, with a spec code, and no stack trace`, async () => {
    const seen: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(templates, fc.nat(), weird), { minLength: 50, maxLength: 50 }), async (batch) => {
        const answers = await mapPool(batch, 8, async ([[path, template], pick, value]) => {
          const body = template();
          const keys = Object.keys(body);
          body[keys[pick % keys.length]!] = value;
          return { label: `${path} ${JSON.stringify(body).slice(0, 120)}`, a: await v2(path, json(body)) };
        });
        for (const { label, a } of answers) {
          seen[String(a.body?.resultCode)] = (seen[String(a.body?.resultCode)] ?? 0) + 1;
          expect({ label, status: a.status, bodySignValid: a.bodySignValid, known: LICENSE_CODES.has(String(a.body?.resultCode)) }).toEqual({ label, status: 200, bodySignValid: true, known: true });
          expect(a.rawBody, label).not.toMatch(/at [^\n]*\.(ts|js):\d+|\bError: /);
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    console.log(`license fuzz: answers by code ${JSON.stringify(seen)}`);
    expect((await fetch(`${h.internalOrigin}/healthz`)).status).toBe(200);
  });
});
