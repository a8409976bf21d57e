import { Buffer } from 'node:buffer';
import { z } from 'zod';
import { parseCompactUtc } from './time.js';

// Request schemas of the production interface: V1 query parameters (spec §3) and V2 JSON bodies (spec §4).
// Tolerant by design: unknown extra fields are dropped, an empty (or, in V2, null) value counts as absent,
// and UNCONFIRMED lengths get generous caps. Authentication is checked elsewhere, before parsing.

/** Every V1 activity (GET, spec §1.1). */
export const V1_ACTIVITIES = [
  'newInstance',
  'refreshInstance',
  'expireInstance',
  'releaseInstance',
  'upgrade',
  'instanceStatus',
  'queryInstance',
] as const;
/** Every V2 activity (POST, spec §1.2). */
export const V2_ACTIVITIES = [
  'newInstance',
  'queryInstance',
  'refreshInstance',
  'updateInstanceStatus',
  'releaseInstance',
  'upgradeInstance',
  'changeInstanceCheck',
] as const;
/** A V1 activity name. */
export type V1Activity = (typeof V1_ACTIVITIES)[number];
/** A V2 activity name. */
export type V2Activity = (typeof V2_ACTIVITIES)[number];

const MAX_QUERY_IDS = 100;
const MAX_ID_LENGTH = 64;

/** Splits a comma-separated instanceId list: trimmed, no empty items, at most 100 ids of at most 64 chars. */
export function splitInstanceIds(s: string): string[] | undefined {
  if (typeof s !== 'string') return undefined;
  const ids = s.split(',').map((id) => id.trim());
  if (ids.length > MAX_QUERY_IDS) return undefined;
  if (ids.some((id) => id === '' || id.length > MAX_ID_LENGTH)) return undefined;
  return ids;
}

/** One buyer-entered extension parameter from V1 `saasExtendParams`. */
export interface SaasExtendParam {
  name: string;
  value: string;
}

/** Decodes V1 `saasExtendParams` (Base64 of a JSON array of {name, value}); undefined if not decodable, never throws. */
export function decodeSaasExtendParams(s: string): SaasExtendParam[] | undefined {
  try {
    if (typeof s !== 'string') return undefined;
    const trimmed = s.trim();
    let json: string;
    // Tolerance: plain JSON is taken as is, and '+' turned into ' ' by a query decoder is restored.
    if (trimmed.startsWith('[')) {
      json = trimmed;
    } else {
      const b64 = trimmed.replace(/ /g, '+').replace(/[\r\n]/g, '');
      if (b64 === '' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) return undefined;
      json = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
    }
    const parsed: unknown = JSON.parse(json.replace(/^\uFEFF/, ''));
    if (!Array.isArray(parsed)) return undefined;
    const out: SaasExtendParam[] = [];
    for (const item of parsed) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
      const { name, value } = item as { name?: unknown; value?: unknown };
      if (typeof name !== 'string') return undefined;
      if (typeof value === 'string') out.push({ name, value });
      else if (typeof value === 'number' || typeof value === 'boolean') out.push({ name, value: String(value) });
      else return undefined;
    }
    return out;
  } catch {
    return undefined;
  }
}

// ---- field builders ----------------------------------------------------------------------------------------------

const str = () =>
  z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
    // No marketplace value contains NUL, and PostgreSQL cannot store one: accepted, it would wedge the order.
    .refine((v) => !v.includes('\u0000'), { error: 'must not contain NUL characters' });
const required = (max: number) =>
  str()
    .min(1, { error: 'is required' })
    .max(max, { error: `must be at most ${max} characters` });
const optional = (max: number) => required(max).optional();
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (iss) =>
      iss.input === undefined ? 'is required' : `must be one of ${values.join(', ')}`,
  });
const compactTime = (s: z.ZodString) =>
  s.refine((v) => parseCompactUtc(v) !== undefined, {
    error: 'must be a UTC time yyyyMMddHHmmss or yyyyMMddHHmmssSSS',
  });
const idList = () =>
  str().refine((v) => splitInstanceIds(v) !== undefined, {
    error: `must be a comma-separated list of 1..${MAX_QUERY_IDS} ids of at most ${MAX_ID_LENGTH} characters`,
  });
const v1TestFlag = oneOf(['0', '1']).optional();
// V2 documents testFlag as a String, but some callers send it as a JSON number; reading 1 as "1" costs nothing
// and a debug call rejected with 000002 would fail the marketplace dial tests.
const v2TestFlag = z
  .preprocess((v) => (typeof v === 'number' ? String(v) : v), oneOf(['0', '1']))
  .optional();

// Generous cap for lengths the spec marks UNCONFIRMED: a too-long value is more likely than a hostile one.
const UNCONFIRMED_SHORT = 64;
// mobilePhone/email arrive as IV + Base64(AES); length UNCONFIRMED, so leave room for a long e-mail address.
const UNCONFIRMED_CIPHERTEXT = 1024;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Drops keys whose value is '' or null: the marketplace leaves optional parameters empty instead of omitting them. */
function dropEmpty(input: unknown): unknown {
  if (!isRecord(input)) return input;
  // Null prototype: a JSON key "__proto__" must stay data, not become the prototype zod then reads fields from.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(input)) if (v !== '' && v !== null) out[k] = v;
  return out;
}

const withIds = <T extends { instanceId: string }>(o: T): T & { instanceIds: string[] } => ({
  ...o,
  instanceIds: splitInstanceIds(o.instanceId) ?? [],
});

// ---- V1 (spec §3; every value is a query-string string) ---------------------------------------------------------

const v1Common = { authToken: required(50), timeStamp: required(20), testFlag: v1TestFlag };

/** Zod schema per V1 activity (input: the decoded query parameters). */
export const v1RequestSchemas = {
  newInstance: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('newInstance'),
      ...v1Common,
      customerId: required(100),
      // Mandatory on the CN site only (spec §3.1).
      customerName: optional(64),
      userId: optional(64),
      userName: optional(64),
      mobilePhone: optional(UNCONFIRMED_CIPHERTEXT),
      email: optional(UNCONFIRMED_CIPHERTEXT),
      // UNCONFIRMED for V1 (64 in V2/License): accept up to 128; an instanceId derived from it must then fall back.
      businessId: required(128),
      orderId: required(64),
      // UNCONFIRMED whether mandatory: optional.
      skuCode: optional(64),
      // UNCONFIRMED whether mandatory: optional.
      productId: optional(64),
      trialFlag: optional(UNCONFIRMED_SHORT),
      expireTime: compactTime(required(20)).optional(),
      chargingMode: optional(UNCONFIRMED_SHORT),
      periodType: optional(10),
      periodNumber: optional(2),
      orderAmount: optional(20),
      provisionType: optional(UNCONFIRMED_SHORT),
      saasExtendParams: optional(2048),
      amount: optional(7),
      diskSize: optional(UNCONFIRMED_SHORT),
      bandWidth: optional(UNCONFIRMED_SHORT),
    }),
  ),
  refreshInstance: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('refreshInstance'),
      ...v1Common,
      orderId: required(64),
      instanceId: required(64),
      productId: optional(64),
      // Documented as yyyyMMddHHmmss; 17 digits accepted as well (V2 shows both).
      expireTime: compactTime(required(20)),
      trialToFormal: optional(2),
      periodType: optional(10),
      periodNumber: optional(2),
      orderAmount: optional(20),
    }),
  ),
  expireInstance: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('expireInstance'),
      ...v1Common,
      instanceId: required(64),
      orderId: required(64),
    }),
  ),
  releaseInstance: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('releaseInstance'),
      ...v1Common,
      instanceId: required(64),
      orderId: required(64),
      orderAmount: optional(20),
    }),
  ),
  upgrade: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('upgrade'),
      ...v1Common,
      instanceId: required(64),
      orderId: required(64),
      // §3.5 gives no M/O or lengths for these: optional, lengths as in newInstance.
      skuCode: optional(64),
      productId: optional(64),
      amount: optional(4),
      diskSize: optional(UNCONFIRMED_SHORT),
      bandWidth: optional(UNCONFIRMED_SHORT),
    }),
  ),
  instanceStatus: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('instanceStatus'),
      ...v1Common,
      instanceId: required(64),
      instanceStatus: oneOf(['FREEZE', 'NORMAL']),
    }),
  ),
  // UNCONFIRMED (spec §3.7): parameters assumed as in V2 §4.2 — a comma-separated instanceId list.
  queryInstance: z.preprocess(
    dropEmpty,
    z
      .object({ activity: z.literal('queryInstance'), ...v1Common, instanceId: idList() })
      .transform(withIds),
  ),
} as const;

// ---- V2 (spec §4; JSON body, strings unless stated) -------------------------------------------------------------

/** Zod schema per V2 activity (input: the parsed JSON body). */
export const v2RequestSchemas = {
  newInstance: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('newInstance'),
      orderId: required(64),
      orderLineId: required(64),
      businessId: required(64),
      testFlag: v2TestFlag,
    }),
  ),
  queryInstance: z.preprocess(
    dropEmpty,
    z.object({ activity: z.literal('queryInstance'), instanceId: idList(), testFlag: v2TestFlag }).transform(withIds),
  ),
  refreshInstance: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('refreshInstance'),
      // Marked "M?" in the spec: optional, but one of the documented values when present.
      scene: oneOf(['TRIAL_TO_FORMAL', 'RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE']).optional(),
      orderId: required(64),
      orderLineId: required(64),
      instanceId: required(64),
      productId: optional(64),
      expireTime: compactTime(required(20)),
      testFlag: v2TestFlag,
    }),
  ),
  updateInstanceStatus: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('updateInstanceStatus'),
      instanceId: required(64),
      status: oneOf(['FREEZE', 'UNFREEZE']),
      testFlag: v2TestFlag,
    }),
  ),
  releaseInstance: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('releaseInstance'),
      instanceId: required(64),
      orderId: optional(64),
      orderLineId: optional(64),
      testFlag: v2TestFlag,
    }),
  ),
  upgradeInstance: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('upgradeInstance'),
      // §4.6 has no M/O column; all three are needed to pull the change order with Query Order.
      instanceId: required(64),
      orderId: required(64),
      orderLineId: required(64),
      testFlag: v2TestFlag,
    }),
  ),
  changeInstanceCheck: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('changeInstanceCheck'),
      instanceId: required(64),
      // ProductInfo sub-fields are UNCONFIRMED (spec §4.7): any JSON object is accepted and passed through.
      productInfo: z.record(z.string(), z.unknown(), {
        error: (iss) => (iss.input === undefined ? 'is required' : 'must be a JSON object'),
      }),
      testFlag: v2TestFlag,
    }),
  ),
} as const;

type Out<T extends Record<string, z.ZodType>> = { [K in keyof T]: z.output<T[K]> }[keyof T];

/** A validated V1 request, discriminated on `activity`. */
export type V1Request = Out<typeof v1RequestSchemas>;
/** A validated V2 request, discriminated on `activity`. */
export type V2Request = Out<typeof v2RequestSchemas>;

/** Result of parseV1Request / parseV2Request; failures always map to result code 000002. */
export type RequestParseResult<R> =
  | { ok: true; request: R }
  | { ok: false; code: '000002'; field: string; reason: string };

function parseWith<R>(
  schemas: Record<string, z.ZodType>,
  activities: readonly string[],
  input: unknown,
  whole: string,
): RequestParseResult<R> {
  const fail = (field: string, reason: string) => ({ ok: false as const, code: '000002' as const, field, reason });
  // Defensive: input is hostile; a schema surprise must become a 000002, never an exception.
  try {
    if (!isRecord(input)) return fail(whole, 'must be an object');
    const activity = input['activity'];
    if (activity === undefined || activity === null || activity === '') return fail('activity', 'is required');
    if (typeof activity !== 'string' || !activities.includes(activity)) return fail('activity', 'unknown activity');
    const schema = schemas[activity];
    if (!schema) return fail('activity', 'unknown activity');
    const result = schema.safeParse(input);
    if (result.success) return { ok: true, request: result.data as R };
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : whole;
    return fail(field, issue?.message ?? 'invalid');
  } catch {
    return fail(whole, 'could not be parsed');
  }
}

/** Validates decoded V1 query parameters; failures name the first offending field. */
export function parseV1Request(params: Record<string, string>): RequestParseResult<V1Request> {
  return parseWith<V1Request>(v1RequestSchemas, V1_ACTIVITIES, params, 'query');
}

/** Validates a parsed V2 JSON body; failures name the first offending field. */
export function parseV2Request(body: unknown): RequestParseResult<V2Request> {
  return parseWith<V2Request>(v2RequestSchemas, V2_ACTIVITIES, body, 'body');
}

/** The field builders and the parser of these schemas, for the License request schemas (license-requests.ts). */
export const requestFields = { required, optional, oneOf, compactTime, v1Common, v2TestFlag, dropEmpty, parseWith } as const;
