import { z } from 'zod';
import { requestFields, type RequestParseResult } from './requests.js';
import { parseCompactUtc } from './time.js';
import { v1ChargingMode, v1RenewCommand, type ProductionCommand, type PurchaseFacts } from './commands.js';
import { isWellFormedText } from '../kernel/text.js';

// Request schemas of the three License interfaces (spec §1.3, §7; issue #13). Tolerant like the SaaS schemas
// (requests.ts, whose field builders these use): unknown fields dropped, '' and null read as absent. The Online
// License path also takes the six SaaS V2 activities, which are parsed by requests.ts.

/** The Online License activity that is not a SaaS one (POST /koogallery/license). */
export const ONLINE_LICENSE_ACTIVITIES = ['getLicenseAsync'] as const;
/** Every V1 License activity (GET /koogallery/license, spec §7.3). */
export const V1_LICENSE_ACTIVITIES = ['getLicense', 'refreshLicense', 'expireLicense', 'releaseLicense'] as const;
/** Every License code 2.0 activity (POST /koogallery/license-code, spec §7.2). */
export const LICENSE_CODE_ACTIVITIES = ['refreshLicenseCode', 'updateLicenseCodeStatus', 'releaseLicenseCode'] as const;

const { compactTime, dropEmpty, oneOf, optional: optionalString, parseWith, required: requiredString, v1Common, v2TestFlag } = requestFields;

// Every value of a License request may end up in a license's claims (jsonb): a lone surrogate is refused here.
const wellFormed = { error: 'must be well-formed Unicode' };
const required = (max: number) => requiredString(max).refine(isWellFormedText, wellFormed);
const optional = (max: number) => optionalString(max).refine((v) => v === undefined || isWellFormedText(v), wellFormed);

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Reads a License time (§7.1: "UTC", up to 32 characters, format UNCONFIRMED): the marketplace's compact
 * `yyyyMMddHHmmss[SSS]`, or ISO-8601 with a zone (the tolerant reading). Undefined for anything else.
 */
export function parseLicenseTime(value: string): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const compact = parseCompactUtc(value);
  if (compact) return compact;
  if (!ISO_WITH_ZONE.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

const licenseTime = (max: number) =>
  required(max).refine((v) => parseLicenseTime(v) !== undefined, { error: 'must be a UTC time yyyyMMddHHmmss[SSS] or ISO-8601 with a zone' });

/** Zod schema of getLicenseAsync (§7.1). */
export const onlineLicenseRequestSchemas = {
  getLicenseAsync: z.preprocess(
    dropEmpty,
    z
      .object({
        activity: z.literal('getLicenseAsync'),
        instanceId: required(64),
        effectiveTime: licenseTime(32),
        // "O; required for period" (§7.1): optional here; a license without one ends with its instance (if ever).
        expireTime: licenseTime(32).optional(),
        eventId: required(64),
        deviceFingerprint: optional(1024),
        testFlag: v2TestFlag,
      })
      .refine((r) => r.expireTime === undefined || parseLicenseTime(r.expireTime)! > parseLicenseTime(r.effectiveTime)!, {
        error: 'must be after effectiveTime',
        path: ['expireTime'],
      }),
  ),
} as const;

// V1 License (§7.3): getLicense carries the order like V1 newInstance; the other three "mirror the SaaS V1 calls".
/** Zod schema per V1 License activity (input: the decoded query parameters). */
export const v1LicenseRequestSchemas = {
  getLicense: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('getLicense'),
      ...v1Common,
      businessId: required(128),
      orderId: required(64),
      customerId: required(100),
      customerName: optional(64),
      userId: optional(64),
      userName: optional(64),
      productId: optional(64),
      // Not in the documented list (§7.3); taken when sent, as V1 newInstance has it.
      skuCode: optional(64),
      chargingMode: optional(64),
      expireTime: compactTime(required(20)).optional(),
      periodType: optional(10),
      periodNumber: optional(2),
      provisionType: optional(64),
      saasExtendParams: optional(2048),
      trialFlag: optional(64),
    }),
  ),
  refreshLicense: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('refreshLicense'),
      ...v1Common,
      // The renewal order, as in refreshInstance (§3.2).
      orderId: required(64),
      instanceId: required(64),
      productId: optional(64),
      expireTime: compactTime(required(20)),
      periodType: optional(10),
      periodNumber: optional(2),
      orderAmount: optional(20),
    }),
  ),
  expireLicense: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('expireLicense'),
      ...v1Common,
      // The purchase order (§3.3). instanceId may be missing where getLicense answered without one (§7.3 "some
      // variants also return instanceId"): the order then names the instance (UNCONFIRMED; the tolerant reading).
      orderId: required(64),
      instanceId: optional(64),
    }),
  ),
  releaseLicense: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('releaseLicense'),
      ...v1Common,
      orderId: required(64),
      instanceId: optional(64),
      orderAmount: optional(20),
    }),
  ),
} as const;

/** Zod schema per License code 2.0 activity (§7.2; input: the parsed JSON body). */
export const licenseCodeRequestSchemas = {
  refreshLicenseCode: z.preprocess(
    dropEmpty,
    z.object({
      activity: z.literal('refreshLicenseCode'),
      scene: oneOf(['RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD']),
      orderId: required(64),
      orderLineId: required(64),
      license: required(64),
      productId: optional(64),
      expireTime: licenseTime(32),
      testFlag: v2TestFlag,
    }),
  ),
  updateLicenseCodeStatus: z.preprocess(
    dropEmpty,
    z.object({ activity: z.literal('updateLicenseCodeStatus'), license: required(64), status: oneOf(['FREEZE', 'UNFREEZE']), testFlag: v2TestFlag }),
  ),
  releaseLicenseCode: z.preprocess(
    dropEmpty,
    z.object({ activity: z.literal('releaseLicenseCode'), license: required(64), orderId: optional(64), orderLineId: optional(64), testFlag: v2TestFlag }),
  ),
} as const;

type Out<T extends Record<string, z.ZodType>> = { [K in keyof T]: z.output<T[K]> }[keyof T];

/** A validated getLicenseAsync request. */
export type OnlineLicenseRequest = Out<typeof onlineLicenseRequestSchemas>;
/** A validated V1 License request, discriminated on `activity`. */
export type V1LicenseRequest = Out<typeof v1LicenseRequestSchemas>;
/** A validated License code 2.0 request, discriminated on `activity`. */
export type LicenseCodeRequest = Out<typeof licenseCodeRequestSchemas>;

/** Validates a getLicenseAsync body. */
export function parseOnlineLicenseRequest(body: unknown): RequestParseResult<OnlineLicenseRequest> {
  return parseWith<OnlineLicenseRequest>(onlineLicenseRequestSchemas, ONLINE_LICENSE_ACTIVITIES, body, 'body');
}

/** Validates decoded V1 License query parameters. */
export function parseV1LicenseRequest(params: Record<string, string>): RequestParseResult<V1LicenseRequest> {
  return parseWith<V1LicenseRequest>(v1LicenseRequestSchemas, V1_LICENSE_ACTIVITIES, params, 'query');
}

/** Validates a License code 2.0 body. */
export function parseLicenseCodeRequest(body: unknown): RequestParseResult<LicenseCodeRequest> {
  return parseWith<LicenseCodeRequest>(licenseCodeRequestSchemas, LICENSE_CODE_ACTIVITIES, body, 'body');
}

/**
 * The command a validated V1 License request asks for (§7.3: getLicense is V1 newInstance with a license in the
 * answer; the other three mirror refreshInstance, expireInstance and releaseInstance). `instanceId` is the instance
 * expireLicense and releaseLicense act on when they name only the order (see v1LicenseRequestSchemas).
 */
export function v1LicenseCommand(r: V1LicenseRequest, instanceId?: string): ProductionCommand {
  const base = { interfaceVersion: 'V1' as const, testOrder: r.testFlag === '1' };
  const iso = (compact: string | undefined) => (compact ? parseCompactUtc(compact)?.toISOString() : undefined);
  const whole = (v: string | undefined) => (v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined);
  switch (r.activity) {
    case 'getLicense': {
      const chargingMode = v1ChargingMode(r.chargingMode);
      const expireTime = iso(r.expireTime);
      const periodNumber = whole(r.periodNumber);
      const facts: PurchaseFacts = {
        customerId: r.customerId,
        ...(r.customerName ? { customerName: r.customerName } : {}),
        ...(r.productId ? { productId: r.productId } : {}),
        ...(r.skuCode ? { skuCode: r.skuCode } : {}),
        ...(chargingMode ? { chargingMode } : {}),
        ...(r.periodType ? { periodType: r.periodType } : {}),
        ...(periodNumber !== undefined ? { periodNumber } : {}),
        ...(expireTime ? { expireTime } : {}),
        trial: r.trialFlag === '1',
        spec: {},
      };
      // One instance (and one license) per order, whatever the charging mode: getLicense is idempotent per orderId.
      return { ...base, kind: 'purchase', key: { kind: 'v1-order', orderId: r.orderId }, businessId: r.businessId, facts };
    }
    case 'refreshLicense':
      return v1RenewCommand(base, r, whole(r.periodNumber));
    case 'expireLicense':
      return { ...base, kind: 'expire', instanceId: r.instanceId ?? instanceId ?? '', orderId: r.orderId };
    case 'releaseLicense':
      return { ...base, kind: 'release', instanceId: r.instanceId ?? instanceId ?? '', orderId: r.orderId };
  }
}
