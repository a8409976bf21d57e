import { randomBytes } from 'node:crypto';
import { gzipSync, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeV1AuthToken, computeV2Signature, formatCompactUtc } from '../../src/koogallery/index.js';
import { formatV1TimeStamp, type ProductionAnswer } from '../../tools/simulator/production-client.js';
import { testInfra } from '../setup/infra.js';
import { isWellFormed, whyMalformed } from '../support/fault-checks.js';
import { bounded, mapPool, privateCluster, reportFigures, type PrivateCluster } from '../support/fault-harness.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../support/service-harness.js';
import { aSimOrder, aV2PurchaseBody, lineOf } from '../support/factories.js';

// Issue #7, scenario 7: hostile input. fast-check generates and mutates production-interface requests — field types,
// lengths, encodings, unicode, huge and deeply nested JSON, duplicated parameters, header/query confusion, content
// types and encodings, invalid UTF-8, empty bodies, GET with a body — most of them CORRECTLY SIGNED so they get past
// authentication and exercise validation. Properties, per batch of requests sent concurrently:
//   * every GET/POST answer of the production interface is HTTP 200 JSON with a valid Body-Sign and a spec §6 code;
//   * no 5xx, no hang, and the process still answers /healthz (on its internal listener);
//   * no state change from a refused request: rows in instances/tenants/trial_benefits may only appear for a
//     purchase the service actually processed (answered anything but 000001/000002), never for a refused one.
// The service runs in-process (speed) against a PRIVATE PostgreSQL cluster, so the row counts are this test's alone.

const FULL = process.env.RELIABILITY === 'full';
const BATCH = 100;
const RUNS = FULL ? 1000 : 200; // 20,000 requests by default (about a minute), 100,000 with RELIABILITY=full
const CONCURRENCY = 16;

let cluster: PrivateCluster;
let h: ServiceHarness;
let pool: pg.Pool;

beforeAll(async () => {
  cluster = await privateCluster({ database: 'koogallery_fuzz' });
  const infra = testInfra();
  h = await startServiceHarness({
    infra: { databaseUrl: cluster.url, temporalAddress: infra.temporalAddress, temporalNamespace: infra.temporalNamespace, workflowBundlePath: infra.workflowBundlePath },
  });
  pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
});
afterAll(async () => {
  // Each step bounded, so the private cluster is destroyed even if the service hangs on shutdown.
  await bounded('pool.end', async () => pool?.end());
  await bounded('harness close', async () => h?.close(), 60_000);
  await bounded('cluster destroy', async () => cluster?.destroy());
});

// ---- generators ----------------------------------------------------------------------------------------------

const V2_ACTIVITIES = ['newInstance', 'queryInstance', 'refreshInstance', 'updateInstanceStatus', 'releaseInstance', 'upgradeInstance', 'changeInstanceCheck'] as const;
const V1_ACTIVITIES = ['newInstance', 'refreshInstance', 'expireInstance', 'releaseInstance', 'upgrade', 'instanceStatus', 'queryInstance'] as const;

const SPECIAL_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\u202e\u202d', '\u200b', '\ufeff', '😀', '𝕏𝕐', '中文订单', "' OR 1=1 --", '${7*7}', '{{7*7}}',
  '<script>alert(1)</script>', '../../etc/passwd', '%00', '%zz', '\\', '"', '\r\n', '\u2028\u2029', 'null', 'undefined', 'NaN', '-0', '1e309',
  '__proto__', 'constructor', 'toString', 'FREEZE', 'UNFREEZE', 'RENEWAL', '0', '1', '2', '20991231235959', '2099123123595999', '99999999999999',
];

const weirdString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 70 }).map((n) => 'é'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 63, max: 66 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 3000 }).map((n) => 'y'.repeat(n)) },
);

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: weirdString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(weirdString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(weirdString, weirdString, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

const id = fc.oneof(
  { weight: 6, arbitrary: fc.uuid().map((u) => `fz-${u}`) },
  { weight: 2, arbitrary: fc.stringMatching(/^CS[0-9A-Z]{13}$/) },
  { weight: 1, arbitrary: weirdString },
);
const compact = fc.integer({ min: -400, max: 800 }).map((d) => formatCompactUtc(new Date(Date.now() + d * 86_400_000)));

/** A plausible body per V2 activity (fuzz ids: no order or instance here exists). */
const v2Template = fc.constantFrom(...V2_ACTIVITIES).chain((activity): fc.Arbitrary<Record<string, unknown>> => {
  switch (activity) {
    case 'newInstance':
      return fc.record({ activity: fc.constant(activity), orderId: id, orderLineId: id, businessId: id, testFlag: fc.constantFrom('0', '1', 0, 1, undefined) });
    case 'queryInstance':
      return fc.record({ activity: fc.constant(activity), instanceId: fc.tuple(fc.array(id, { minLength: 1, maxLength: 120 }), fc.constantFrom(',', ', ', ',,')).map(([ids, sep]) => ids.join(sep)) });
    case 'refreshInstance':
      return fc.record({ activity: fc.constant(activity), scene: fc.constantFrom('RENEWAL', 'TRIAL_TO_FORMAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE', 'renewal', undefined), orderId: id, orderLineId: id, instanceId: id, expireTime: fc.oneof(compact, weirdString) });
    case 'updateInstanceStatus':
      return fc.record({ activity: fc.constant(activity), instanceId: id, status: fc.constantFrom('FREEZE', 'UNFREEZE', 'freeze', 'NORMAL', '') });
    case 'releaseInstance':
      return fc.record({ activity: fc.constant(activity), instanceId: id, orderId: fc.option(id, { nil: undefined }) });
    case 'upgradeInstance':
      return fc.record({ activity: fc.constant(activity), instanceId: id, orderId: id, orderLineId: id });
    case 'changeInstanceCheck':
      return fc.record({ activity: fc.constant(activity), instanceId: id, productInfo: fc.oneof(fc.dictionary(weirdString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), weirdValue) });
  }
});

type Mutation = { op: 'drop' } | { op: 'set'; value: unknown } | { op: 'add'; key: string; value: unknown } | { op: 'activity'; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>({ op: 'drop' }),
  weirdValue.map((value): Mutation => ({ op: 'set', value })),
  fc.tuple(fc.oneof(weirdString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'Activity', 'activity ', 'instanceid')), weirdValue).map(([key, value]): Mutation => ({ op: 'add', key, value })),
  fc.oneof(fc.constantFrom('NewInstance', 'newinstance', ' newInstance', 'newInstance\u0000', 'upgrade', 'expireInstance', 'instanceStatus', 'getLicense', ''), weirdValue).map((value): Mutation => ({ op: 'activity', value })),
);

function mutate(body: Record<string, unknown>, mutations: Mutation[], pick: number): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  mutations.forEach((m, i) => {
    const keys = Object.keys(out);
    const key = keys[(pick + i) % Math.max(1, keys.length)];
    if (m.op === 'drop' && key) delete out[key];
    if (m.op === 'set' && key) out[key] = m.value;
    if (m.op === 'add') Object.defineProperty(out, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
    if (m.op === 'activity') out.activity = m.value;
  });
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** How the JSON of a body becomes bytes. */
type Serialisation = 'plain' | 'pretty' | 'duplicate-key' | 'bom' | 'trailing-garbage' | 'truncated' | 'wrapped-array' | 'latin1' | 'utf16le';
function serialise(body: Record<string, unknown>, how: Serialisation): Buffer {
  const json = JSON.stringify(body);
  switch (how) {
    case 'plain':
      return Buffer.from(json, 'utf8');
    case 'pretty':
      return Buffer.from(JSON.stringify(body, null, 3), 'utf8');
    case 'duplicate-key':
      return Buffer.from(json.replace(/^\{/, '{"activity":"releaseInstance","instanceId":"dup",'), 'utf8');
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json, 'utf8')]);
    case 'trailing-garbage':
      return Buffer.from(`${json} {}`, 'utf8');
    case 'truncated':
      return Buffer.from(json.slice(0, Math.max(1, json.length - 3)), 'utf8');
    case 'wrapped-array':
      return Buffer.from(`[${json}]`, 'utf8');
    case 'latin1':
      return Buffer.from(json, 'latin1');
    case 'utf16le':
      return Buffer.from(json, 'utf16le');
  }
}

/** The orderId of a newInstance body as the service will read (and store) it: UTF-8 decoded, lone surrogates → U+FFFD. */
function purchaseOrderIdAsServed(bytes: Buffer): string | undefined {
  try {
    const json = JSON.parse(bytes.toString('utf8')) as { activity?: unknown; orderId?: unknown } | null;
    return json?.activity === 'newInstance' && typeof json.orderId === 'string' ? asStored(json.orderId) : undefined;
  } catch {
    return undefined;
  }
}

/** What PostgreSQL keeps of a string (node-postgres sends UTF-8; a lone surrogate becomes U+FFFD). */
const asStored = (v: string): string => Buffer.from(v, 'utf8').toString('utf8');

/** Bodies that are not a mutated template at all. */
const rawBody: fc.Arbitrary<{ label: string; bytes: Buffer }> = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => ({ label: 'random bytes', bytes: Buffer.from(b) })),
  fc.constantFrom(
    { label: 'empty body', bytes: Buffer.alloc(0) },
    { label: 'invalid UTF-8', bytes: Buffer.from([0x7b, 0x22, 0x61, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0x22, 0x7d]) },
    { label: 'overlong UTF-8 quote', bytes: Buffer.from([0x7b, 0xc0, 0xa2, 0x61, 0xc0, 0xa2, 0x3a, 0x31, 0x7d]) },
    { label: 'JSON null', bytes: Buffer.from('null') },
    { label: 'JSON number', bytes: Buffer.from('1e999') },
    { label: 'JSON string', bytes: Buffer.from('"newInstance"') },
    { label: 'JSON array', bytes: Buffer.from('[]') },
    { label: 'proto pollution', bytes: Buffer.from('{"__proto__":{"activity":"newInstance","orderId":"p","orderLineId":"p","businessId":"p"},"constructor":{"prototype":{"x":1}}}') },
  ),
  fc.integer({ min: 10, max: 30_000 }).map((d) => ({ label: `nested arrays depth ${d}`, bytes: Buffer.from('['.repeat(d) + ']'.repeat(d)) })),
  fc.integer({ min: 10, max: 20_000 }).map((d) => ({ label: `nested objects depth ${d}`, bytes: Buffer.from('{"a":'.repeat(d) + '1' + '}'.repeat(d)) })),
  fc.constantFrom(60_000, 65_000, 66_000, 200_000).map((n) => ({ label: `large JSON ${n} B`, bytes: Buffer.from(JSON.stringify({ activity: 'queryInstance', instanceId: 'x', pad: 'p'.repeat(n) })) })),
  fc.integer({ min: 1000, max: 5000 }).map((n) => ({ label: `many keys ${n}`, bytes: Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])))) })),
);

/** Where and how the V2 credentials travel. */
const SIGN_MODES = ['query', 'query', 'query', 'query', 'headers', 'both-valid', 'query-bad-header-good', 'query-good-header-bad', 'split', 'duplicated', 'none', 'wrong-key', 'stale', 'seconds'] as const;
type SignMode = (typeof SIGN_MODES)[number];

const CONTENT_TYPES = ['application/json', 'application/json;charset=UTF-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/json; charset=utf-16', 'application/octet-stream', '', '*/*', 'application/json, text/html', 'application/json;charset="\\"'] as const;
const ENCODINGS = [undefined, undefined, undefined, 'gzip', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, gzip'] as const;

interface Request {
  readonly label: string;
  readonly build: () => { method: string; query: string; headers: Record<string, string>; body?: Buffer };
  /** The request carries valid credentials (so it should get past authentication unless its timestamp is off). */
  readonly signedValid: boolean;
  /** For newInstance requests: the order they name (state may only appear for processed purchases). */
  readonly purchaseOrderId?: string;
}

/** encodeURIComponent, except that a lone surrogate becomes the UTF-8 bytes of U+FFFD instead of throwing. */
const enc = (v: string): string => {
  try {
    return encodeURIComponent(v);
  } catch {
    return [...Buffer.from(v, 'utf8')].map((b) => (/[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  }
};
/** Makes fast-check print a generated request as its label instead of its source code. */
const printable = <T extends { label: string }>(r: T): T => Object.assign(r, { [fc.toStringMethod]: () => r.label });
/** A short printable form of any generated value (null-prototype objects cannot be String()ed). */
const show = (v: unknown): string => {
  try {
    return (typeof v === 'string' ? v : (JSON.stringify(v) ?? typeof v)).slice(0, 30);
  } catch {
    return typeof v;
  }
};

function v2Request(label: string, body: Buffer, mode: SignMode, contentType: string, encoding: string | undefined, signDecoded: boolean, extraQuery: string, purchaseOrderId?: string): Request {
  return printable({
    label: `V2 ${label} [${mode}${encoding ? `, ${encoding}${signDecoded ? ' signed decoded' : ''}` : ''}, ${JSON.stringify(contentType)}${extraQuery ? `, +${extraQuery}` : ''}]`,
    // A bare extra `timestamp` repeats the query's own: a repeated credential counts as missing (by design).
    signedValid:
      ['query', 'headers', 'both-valid', 'query-good-header-bad', 'seconds'].includes(mode) &&
      (!encoding || encoding === 'identity' || signDecoded) &&
      !(extraQuery === 'timestamp' && mode !== 'headers'),
    ...(purchaseOrderId !== undefined ? { purchaseOrderId } : {}),
    build: () => {
      let wire = body;
      if (encoding === 'gzip') wire = gzipSync(body);
      if (encoding === 'gzip, gzip') wire = gzipSync(gzipSync(body));
      if (encoding === 'deflate') wire = deflateSync(body);
      const signed = encoding && encoding !== 'identity' && !signDecoded ? wire : body;
      const now = Date.now();
      const timestamp = mode === 'stale' ? String(now - 61_000) : mode === 'seconds' ? String(Math.floor(now / 1000)) : String(now);
      const nonce = randomBytes(16).toString('hex');
      const key = mode === 'wrong-key' ? `${TEST_ACCESS_KEY}x` : TEST_ACCESS_KEY;
      const signature = computeV2Signature(key, { nonce, timestamp, body: signed });
      const bad = computeV2Signature('not-the-key', { nonce, timestamp, body: signed });
      const headers: Record<string, string> = {};
      if (contentType) headers['Content-Type'] = contentType;
      if (encoding) headers['Content-Encoding'] = encoding;
      let query = '';
      const q = (s: string, t: string, n: string) => `signature=${enc(s)}&timestamp=${enc(t)}&nonce=${enc(n)}`;
      const h = (s: string, t: string, n: string) => Object.assign(headers, { 'x-sign': s, 'x-timestamp': t, 'x-nonce': n });
      switch (mode) {
        case 'query': case 'stale': case 'seconds': case 'wrong-key': query = q(signature, timestamp, nonce); break;
        case 'headers': h(signature, timestamp, nonce); break;
        case 'both-valid': query = q(signature, timestamp, nonce); h(signature, timestamp, nonce); break;
        case 'query-bad-header-good': query = q(bad, timestamp, nonce); h(signature, timestamp, nonce); break;
        case 'query-good-header-bad': query = q(signature, timestamp, nonce); h(bad, timestamp, nonce); break;
        case 'split': query = `timestamp=${timestamp}&nonce=${nonce}`; headers['x-sign'] = signature; break;
        case 'duplicated': query = `${q(signature, timestamp, nonce)}&signature=${bad}`; break;
        case 'none': break;
      }
      if (extraQuery) query = query ? `${query}&${extraQuery}` : extraQuery;
      return { method: 'POST', query, headers, body: wire };
    },
  });
}

const v2Arb: fc.Arbitrary<Request> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        template: v2Template,
        mutations: fc.array(mutation, { minLength: 0, maxLength: 3 }),
        pick: fc.nat(),
        how: fc.constantFrom<Serialisation>('plain', 'plain', 'plain', 'plain', 'pretty', 'duplicate-key', 'bom', 'trailing-garbage', 'truncated', 'wrapped-array', 'latin1', 'utf16le'),
        mode: fc.constantFrom(...SIGN_MODES),
        contentType: fc.constantFrom(...CONTENT_TYPES),
        encoding: fc.constantFrom(...ENCODINGS),
        signDecoded: fc.boolean(),
        extraQuery: fc.constantFrom('', '', '', 'activity=newInstance', 'x=%zz', 'a=1&a=2', '__proto__=1', 'timestamp'),
      })
      .map(({ template, mutations, pick, how, mode, contentType, encoding, signDecoded, extraQuery }) => {
        const body = mutate(template as Record<string, unknown>, mutations, pick);
        const bytes = serialise(body, how);
        return v2Request(`${show(body.activity)} ${how} ${mutations.map((m) => m.op).join('+') || 'unmutated'}`, bytes, mode, contentType, encoding, signDecoded, extraQuery, purchaseOrderIdAsServed(bytes));
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ raw: rawBody, mode: fc.constantFrom(...SIGN_MODES), contentType: fc.constantFrom(...CONTENT_TYPES), encoding: fc.constantFrom(...ENCODINGS), signDecoded: fc.boolean() })
      .map(({ raw, mode, contentType, encoding, signDecoded }) => v2Request(raw.label, raw.bytes, mode, contentType, encoding, signDecoded, '')),
  },
);

/** A plausible V1 parameter set per activity. */
const v1Template = fc.constantFrom(...V1_ACTIVITIES).chain((activity): fc.Arbitrary<Record<string, string>> => {
  const s = id;
  switch (activity) {
    case 'newInstance':
      return fc.record({
        activity: fc.constant(activity), customerId: s, businessId: s, orderId: s, productId: fc.constantFrom('prod-fuzz', ''), skuCode: fc.constantFrom('sku-fuzz', ''),
        chargingMode: fc.constantFrom('0', '1', '3', '5', '9'), periodType: fc.constantFrom('year', 'month', ''), periodNumber: fc.constantFrom('1', '12', '100'),
        expireTime: fc.oneof(compact, fc.constant('')), trialFlag: fc.constantFrom('0', '1', ''), amount: fc.constantFrom('1', '-1', '1e3', ''), testFlag: fc.constantFrom('0', '1', ''),
      });
    case 'refreshInstance':
      return fc.record({ activity: fc.constant(activity), orderId: s, instanceId: s, expireTime: fc.oneof(compact, weirdString), trialToFormal: fc.constantFrom('0', '1', ''), orderAmount: fc.constantFrom('-10', '10', 'abc', '') });
    case 'expireInstance':
    case 'releaseInstance':
      return fc.record({ activity: fc.constant(activity), orderId: s, instanceId: s });
    case 'upgrade':
      return fc.record({ activity: fc.constant(activity), orderId: s, instanceId: s, skuCode: fc.constantFrom('sku-x', ''), amount: fc.constantFrom('10', '99999', '') });
    case 'instanceStatus':
      return fc.record({ activity: fc.constant(activity), instanceId: s, instanceStatus: fc.constantFrom('FREEZE', 'NORMAL', 'freeze', '') });
    case 'queryInstance':
      return fc.record({ activity: fc.constant(activity), instanceId: fc.array(id, { minLength: 1, maxLength: 5 }).map((x) => x.join(',')) });
  }
});

type V1Mutation = { op: 'drop' } | { op: 'set'; value: string } | { op: 'add'; key: string; value: string };
const v1Mutation: fc.Arbitrary<V1Mutation> = fc.oneof(
  fc.constant<V1Mutation>({ op: 'drop' }),
  weirdString.map((value): V1Mutation => ({ op: 'set', value: value.slice(0, 1500) })),
  fc.tuple(fc.oneof(weirdString.map((k) => k.slice(0, 40)), fc.constantFrom('__proto__', 'authtoken', 'TimeStamp', 'activity')), weirdString.map((v) => v.slice(0, 200))).map(([key, value]): V1Mutation => ({ op: 'add', key, value })),
);

/** How the query string is spelled on the wire. */
const QUERY_STYLES = ['encoded', 'encoded', 'encoded', 'raw-plus', 'duplicate', 'malformed-escape', 'truncated-utf8', 'no-equals', 'empty-name', 'semicolons'] as const;

function v1Request(params: Record<string, string>, mutations: V1Mutation[], pick: number, sign: 'valid' | 'none' | 'wrong' | 'stale', style: (typeof QUERY_STYLES)[number], getBody: boolean): Request {
  const p: Record<string, string> = Object.create(null) as Record<string, string>;
  Object.assign(p, params);
  mutations.forEach((m, i) => {
    const keys = Object.keys(p);
    const key = keys[(pick + i) % Math.max(1, keys.length)];
    if (m.op === 'drop' && key) delete p[key];
    if (m.op === 'set' && key) p[key] = m.value;
    if (m.op === 'add') p[m.key] = m.value;
  });
  return printable({
    label: `V1 ${show(p.activity)} ${mutations.map((m) => m.op).join('+') || 'unmutated'} [${sign}, ${style}${getBody ? ', GET with body' : ''}]`,
    // Only the spellings the marketplace could produce count as validly signed (a stray `flag`, `=value` or `;`
    // separators change what is signed).
    signedValid: sign === 'valid' && (style === 'encoded' || style === 'raw-plus'),
    ...(p.activity === 'newInstance' && p.orderId ? { purchaseOrderId: asStored(p.orderId) } : {}),
    build: () => {
      const q: Record<string, string> = { ...p, timeStamp: formatV1TimeStamp(sign === 'stale' ? Date.now() - 6 * 60_000 : Date.now()) };
      if (sign !== 'none') q.authToken = computeV1AuthToken(sign === 'wrong' ? 'wrong-key' : TEST_ACCESS_KEY, q);
      let pairs = Object.entries(q).map(([k, v]) => `${enc(k)}=${enc(v)}`);
      if (style === 'raw-plus') pairs = Object.entries(q).map(([k, v]) => `${enc(k)}=${enc(v).replace(/%2B/g, '+').replace(/%20/g, '+')}`);
      if (style === 'duplicate') pairs.push(pairs[pick % pairs.length]!);
      if (style === 'malformed-escape') pairs.push('broken=%E0%A4%A');
      if (style === 'truncated-utf8') pairs.push('x=%C3');
      if (style === 'no-equals') pairs.push('flag');
      if (style === 'empty-name') pairs.push('=value');
      const query = style === 'semicolons' ? pairs.join(';') : pairs.join('&');
      const headers: Record<string, string> = getBody ? { 'Content-Type': 'application/json' } : {};
      return { method: 'GET', query, headers, ...(getBody ? { body: Buffer.from('{"activity":"newInstance"}') } : {}) };
    },
  });
}

const v1Arb: fc.Arbitrary<Request> = fc
  .record({
    params: v1Template,
    mutations: fc.array(v1Mutation, { minLength: 0, maxLength: 3 }),
    pick: fc.nat(),
    sign: fc.constantFrom('valid', 'valid', 'valid', 'none', 'wrong', 'stale'),
    style: fc.constantFrom(...QUERY_STYLES),
    getBody: fc.boolean(),
  })
  .map(({ params, mutations, pick, sign, style, getBody }) => v1Request(params, mutations, pick, sign as 'valid' | 'none' | 'wrong' | 'stale', style, getBody));

const requestArb: fc.Arbitrary<Request> = fc.oneof({ weight: 3, arbitrary: v2Arb }, { weight: 2, arbitrary: v1Arb });

// ---- the property -----------------------------------------------------------------------------------------------

interface Outcome {
  readonly request: Request;
  readonly answer?: ProductionAnswer;
  readonly error?: string;
}

const stats = { sent: 0, pastAuth: 0, signedValid: 0, signedValidRefusedAuth: 0, processedPurchases: new Set<string>(), byCode: {} as Record<string, number>, http5xx: 0, malformed: 0, noAnswer: 0 };
const failures: string[] = [];

async function send(r: Request): Promise<Outcome> {
  const wire = r.build();
  try {
    const answer = await h.market.raw({ method: wire.method, query: wire.query, headers: wire.headers, ...(wire.body !== undefined ? { body: wire.body } : {}) });
    return { request: r, answer };
  } catch (err) {
    return { request: r, error: err instanceof Error ? err.message : String(err) };
  }
}

function judge(o: Outcome): string | undefined {
  stats.sent++;
  if (!o.answer) {
    stats.noAnswer++;
    return `${o.request.label}: no answer (${o.error})`;
  }
  const a = o.answer;
  if (a.status >= 500) stats.http5xx++;
  const code = String(a.body?.resultCode ?? `HTTP ${a.status}`);
  stats.byCode[code] = (stats.byCode[code] ?? 0) + 1;
  if (o.request.signedValid) {
    stats.signedValid++;
    if (code === '000001') {
      stats.signedValidRefusedAuth++;
      if (process.env.FUZZ_DEBUG) console.log('signed but refused:', o.request.label);
    }
  }
  if (code !== '000001') stats.pastAuth++;
  if (o.request.purchaseOrderId !== undefined && code !== '000001' && code !== '000002') stats.processedPurchases.add(o.request.purchaseOrderId);
  if (!isWellFormed(a)) {
    stats.malformed++;
    return `${o.request.label}: ${whyMalformed(a)}`;
  }
  if (/at [^\n]*\.(ts|js):\d+|\bError: /.test(a.rawBody)) return `${o.request.label}: answer leaks internals: ${a.rawBody.slice(0, 200)}`;
  return undefined;
}

/**
 * Order workflows of this test still PROVISIONING (after a grace period), each with whether its input holds a NUL
 * character (the known bug, asserted by its own test below); all of them are terminated, so none is left behind.
 */
async function reapStuckWorkflows(): Promise<{ nul: number; other: string[] }> {
  await new Promise((r) => setTimeout(r, 5000));
  let nul = 0;
  const other: string[] = [];
  const query = `TaskQueue = "${h.config.temporal.taskQueue}" AND ExecutionStatus = "Running" AND OrderPhase = "PROVISIONING"`;
  for await (const wf of h.client.workflow.list({ query })) {
    const handle = h.client.workflow.getHandle(wf.workflowId, wf.runId);
    const history = await handle.fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const text = input.map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8')).join('');
    if (text.includes('\\u0000') || wf.workflowId.includes('\u0000')) nul++;
    else other.push(`${wf.workflowId}: ${text.slice(0, 300)}`);
    await handle.terminate('reliability test cleanup').catch(() => undefined);
  }
  return { nul, other };
}

async function stateRows(): Promise<{ instances: Array<{ instance_id: string; order_id: string }>; tenants: string[]; trials: string[] }> {
  const i = await pool.query<{ instance_id: string; order_id: string }>('SELECT instance_id, order_id FROM instances');
  const t = await pool.query<{ instance_id: string }>('SELECT instance_id FROM tenants');
  const b = await pool.query<{ instance_id: string }>('SELECT instance_id FROM trial_benefits');
  return { instances: i.rows, tenants: t.rows.map((r) => r.instance_id), trials: b.rows.map((r) => r.instance_id) };
}

describe.sequential('hostile input: fuzzed, mostly correctly signed requests', () => {
  it(`when ${BATCH * RUNS} generated and mutated requests arrive ${CONCURRENCY} at a time, then every answer is 200 JSON, signed, with a spec code, and refused requests change nothing`, async () => {
    const before = await stateRows();
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(requestArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const outcomes = await mapPool(batch, CONCURRENCY, send);
        const bad = outcomes.map(judge).filter((x): x is string => x !== undefined);
        failures.push(...bad.slice(0, 20));
        expect(bad).toEqual([]);
      }),
      // A failing batch is reported as it is (its requests are in the message); shrinking would resend thousands.
      { numRuns: RUNS, endOnFailure: true },
    );
    const elapsedMs = Date.now() - started;

    const health = await fetch(`${h.internalOrigin}/healthz`);
    const stuck = await reapStuckWorkflows();
    // Purchases the service processed may leave rows (a FAILED order for an unknown V2 order, a tenant for a valid
    // V1 order); nothing else may.
    await new Promise((r) => setTimeout(r, 2000));
    const after = await stateRows();
    const beforeInstances = new Set(before.instances.map((r) => r.instance_id));
    const newInstances = after.instances.filter((r) => !beforeInstances.has(r.instance_id));
    const unexplainedInstances = newInstances.filter((r) => !stats.processedPurchases.has(r.order_id));
    const processedInstanceIds = new Set(newInstances.filter((r) => stats.processedPurchases.has(r.order_id)).map((r) => r.instance_id));
    const unexplainedTenants = after.tenants.filter((t) => !before.tenants.includes(t) && !processedInstanceIds.has(t));
    const unexplainedTrials = after.trials.filter((t) => !before.trials.includes(t) && !processedInstanceIds.has(t));
    reportFigures({
      scenario: `hostile input: ${stats.sent} fuzzed requests (fast-check, ${CONCURRENCY} concurrent)`,
      requests: stats.sent,
      http5xx: stats.http5xx,
      malformed: stats.malformed,
      transportErrors: stats.noAnswer,
      lost: 0,
      duplicates: 0,
      byCode: stats.byCode,
      pastAuthentication: stats.pastAuth,
      correctlySigned: stats.signedValid,
      processedPurchases: stats.processedPurchases.size,
      rowsFromProcessedPurchases: newInstances.length - unexplainedInstances.length,
      rowsFromRefusedRequests: unexplainedInstances.length + unexplainedTenants.length + unexplainedTrials.length,
      stuckWorkflowsFromNul: stuck.nul,
      stuckWorkflowsOther: stuck.other.length,
      seconds: Math.round(elapsedMs / 1000),
      notes: `healthz ${health.status} afterwards`,
    });
    expect(failures).toEqual([]);
    expect(stats.sent).toBeGreaterThanOrEqual(10_000);
    expect(stats.http5xx).toBe(0);
    expect(health.status).toBe(200);
    // The generator is worth something only if most signed requests get past authentication into validation.
    expect(stats.pastAuth).toBeGreaterThan(stats.sent * 0.4);
    expect(stats.signedValidRefusedAuth / Math.max(1, stats.signedValid)).toBeLessThan(0.1);
    expect(unexplainedInstances).toEqual([]);
    expect(unexplainedTenants).toEqual([]);
    expect(unexplainedTrials).toEqual([]);
    // A workflow that can never record its first transition would be a wedged order (NUL was one: now refused).
    expect(stuck.other).toEqual([]);
    expect(stuck.nul).toBe(0);
  }, 600_000);

  // Regression: NUL cannot be stored by PostgreSQL; a signed purchase carrying one must be refused, not wedged.
  it('when a correctly signed purchase carries a NUL character in its businessId, then it is refused with 000002 and no workflow is left retrying', async () => {
    const o = h.marketplace.orderBook.createOrder(aSimOrder({ productId: 'prod-fuzz' }));
    const line = lineOf(o);
    const workflowId = `order-${o.orderId}-line-${line.orderLineId}`;
    try {
      const a = await h.market.v2(aV2PurchaseBody(line, { businessId: `nul\u0000${o.orderId}` }));
      const op = await h.market.v2({ activity: 'releaseInstance', instanceId: `nul\u0000${o.orderId}` });
      reportFigures({
        scenario: 'hostile input: NUL in a signed purchase',
        requests: 2,
        http5xx: 0,
        lost: 0,
        duplicates: 0,
        notes: `purchase answered ${String(a.body?.resultCode)}, release answered ${String(op.body?.resultCode)}; workflow ${(await h.client.workflow.getHandle(workflowId).describe().catch(() => undefined))?.status.name ?? 'not started'}`,
      });
      expect(a.body.resultCode).toBe('000002');
      expect(op.body.resultCode).toBe('000002');
    } finally {
      // Never leave a workflow that retries forever behind on the shared server.
      await h.client.workflow.getHandle(workflowId).terminate('reliability test cleanup').catch(() => undefined);
    }
  });

  it('when methods other than GET and POST reach the production URL, then no 5xx, no stack trace, and the app keeps answering', async () => {
    const outcomes: string[] = [];
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'SEARCH']) {
      const a = await h.market.raw({ method, query: 'activity=newInstance', headers: { 'Content-Type': 'application/json' }, ...(method === 'HEAD' || method === 'TRACE' ? {} : { body: '{"activity":"newInstance"}' }) });
      outcomes.push(`${method} → HTTP ${a.status}${a.bodySignValid ? ' signed' : ''} ${a.rawBody.slice(0, 60)}`);
      expect(a.status, method).toBeLessThan(500);
      expect(a.rawBody, method).not.toMatch(/at [^\n]*\.(ts|js):\d+/);
    }
    const health = await fetch(`${h.internalOrigin}/healthz`);
    reportFigures({ scenario: 'hostile input: other HTTP methods', requests: outcomes.length, http5xx: 0, lost: 0, duplicates: 0, notes: outcomes.join('; ') });
    expect(health.status).toBe(200);
  });

  // Regression: every answer on the production URL is signed, whatever the method.
  it('when a method other than GET or POST reaches the production URL, then it is refused like any bad request: HTTP 200 JSON, Body-Sign, 000002', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
      const a = await h.market.raw({ method, query: '', headers: { 'Content-Type': 'application/json' }, ...(method === 'TRACE' ? {} : { body: '{}' }) });
      expect(isWellFormed(a), `${method}: ${whyMalformed(a)}`).toBe(true);
      expect(a.body.resultCode, method).toBe('000002');
    }
  });
});
