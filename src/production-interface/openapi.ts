import type { z } from 'zod';
import { APP_INFO_LIMITS, BODY_SIGN_HEADER, ResultCode, V1_ACTIVITIES, V2_ACTIVITIES, defaultResultMessage, v1RequestSchemas, v2RequestSchemas } from '../koogallery/index.js';
import { SAAS_PATH } from './paths.js';
import { json, pathItem, ref, requestSchema, responseRef, type Json, type OpenApiPart } from '../platform/http/openapi.js';

// The production interface KooGallery calls (public listener) in the OpenAPI document: V1 and V2 on one URL, their
// request schemas generated from the zod schemas that validate them (src/koogallery/requests.ts), the signed
// answer, and the V2 credentials the order notification shares.

/** The tag of every endpoint the marketplace calls. */
export const PRODUCTION_INTERFACE_TAG = 'production interface';

/** V2 signatures: as query parameters, or the joint-operation headers. */
export const v2Security = [{ v2Signature: [] }, { v2SignatureHeader: [] }];

/** The V2 signature, timestamp and nonce, as query parameters or headers (shared by the order notification). */
export const v2CredentialParameters: Json[] = [
  ...['signature', 'timestamp', 'nonce'].map((name) => ({
    name,
    in: 'query',
    required: false,
    description: `V2 ${name} (or the x-${name === 'signature' ? 'sign' : name} header). See the v2Signature security scheme.`,
    schema: { type: 'string', maxLength: 128 },
  })),
  ...['x-sign', 'x-timestamp', 'x-nonce'].map((name) => ({
    name,
    in: 'header',
    required: false,
    description: 'Joint-operation variant of the signature/timestamp/nonce query parameters.',
    schema: { type: 'string', maxLength: 128 },
  })),
];

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const RESULT_CODE_TABLE = Object.values(ResultCode)
  .map((c) => `- \`${c}\`: ${defaultResultMessage(c)}`)
  .join('\n');

const V1_DESCRIPTIONS: Record<(typeof V1_ACTIVITIES)[number], string> = {
  newInstance:
    "Purchase: create the instance (inline order details; mobilePhone/email AES-encrypted, passed to the provisioner for the tenant's admin account); answers instanceId and encrypted appInfo, or 000101/000102 when the buyer's mobile number / e-mail is refused.",
  refreshInstance: 'Renewal, renewal refund (negative orderAmount) or trial conversion (trialToFormal=1).',
  expireInstance: 'Expiry: freeze the instance (data kept).',
  releaseInstance: 'Release: delete the instance; releasing a released instance succeeds.',
  upgrade: 'Paid spec change, inline.',
  instanceStatus: 'Freeze (FREEZE) or resume (NORMAL) for arrears.',
  queryInstance: 'Instance readiness and appInfo for a comma-separated instanceId list.',
};

const V2_DESCRIPTIONS: Record<(typeof V2_ACTIVITIES)[number], string> = {
  newInstance: 'Purchase: the order is pulled with Query Order; answers 000000 with the instanceId, or 000004 while provisioning.',
  queryInstance: 'Instance readiness and appInfo (polled after a 000004).',
  refreshInstance: 'Renewal, renewal refund, trial conversion or renewal with change (scene).',
  updateInstanceStatus: 'Freeze or unfreeze.',
  releaseInstance: 'Release: delete the instance.',
  upgradeInstance: 'Paid spec change; the change order is pulled with Query Order.',
  changeInstanceCheck: 'May this instance be renewed with a change?',
};

/** A request schema with the refinements zod cannot express: compact UTC times. */
function activitySchema(schema: z.ZodType, description: string): Json {
  const s = requestSchema(schema, description);
  const properties = s['properties'] as Record<string, Json> | undefined;
  const p = properties?.['expireTime'];
  if (p) properties['expireTime'] = { ...p, pattern: '^\\d{14}(\\d{3})?$', description: 'UTC time yyyyMMddHHmmss (17 digits with milliseconds accepted)' };
  return s;
}

function activityComponents(prefix: 'V1' | 'V2', activities: readonly string[], schemas: Record<string, z.ZodType>, descriptions: Record<string, string>) {
  const components: Record<string, Json> = {};
  for (const a of activities) components[`${prefix}${pascal(a)}${prefix === 'V1' ? 'Query' : 'Request'}`] = activitySchema(schemas[a]!, `${a}: ${descriptions[a]!}`);
  return components;
}

/** The production interface's part of the document. */
export function productionInterfaceOpenApiPart(): OpenApiPart {
  const v1 = activityComponents('V1', V1_ACTIVITIES, v1RequestSchemas, V1_DESCRIPTIONS);
  const v2 = activityComponents('V2', V2_ACTIVITIES, v2RequestSchemas, V2_DESCRIPTIONS);
  const saasAnswer = responseRef('SaasAnswer');
  return {
    tags: [
      {
        name: PRODUCTION_INTERFACE_TAG,
        description:
          'Called by KooGallery on the public listener (PORT), the only paths it serves: the SaaS production interface (V1 and V2) and the order notification. Any other method on /koogallery/saas or /koogallery/order-notification is answered like bad input: HTTP 200, Body-Signed, resultCode 000002.',
      },
    ],
    paths: {
      [SAAS_PATH]: pathItem('public', {
        get: {
          tags: [PRODUCTION_INTERFACE_TAG],
          operationId: 'saasV1',
          summary: 'Production interface V1 (GET, every parameter in the query string)',
          description: `One URL for every activity, chosen by the \`activity\` parameter:\n${V1_ACTIVITIES.map((a) => `- \`${a}\`: ${V1_DESCRIPTIONS[a]}`).join('\n')}`,
          security: [{ v1AuthToken: [] }],
          parameters: [
            {
              name: 'request',
              in: 'query',
              required: true,
              style: 'form',
              explode: true,
              description: "The activity's parameters, each a query parameter of its own (form style, exploded).",
              schema: ref('V1Request'),
            },
          ],
          responses: { '200': saasAnswer },
        },
        post: {
          tags: [PRODUCTION_INTERFACE_TAG],
          operationId: 'saasV2',
          summary: 'Production interface V2 (POST, JSON body, signed)',
          description: `One URL for every activity, chosen by the body's \`activity\`:\n${V2_ACTIVITIES.map((a) => `- \`${a}\`: ${V2_DESCRIPTIONS[a]}`).join('\n')}\n\nA nonce is accepted once within the signature window.`,
          security: v2Security,
          parameters: v2CredentialParameters,
          requestBody: { required: true, content: json(ref('V2Request')) },
          responses: { '200': saasAnswer },
        },
      }),
    },
    schemas: {
      ResultCode: {
        type: 'string',
        enum: Object.values(ResultCode),
        description: `Marketplace result code, always answered with HTTP 200:\n${RESULT_CODE_TABLE}`,
      },
      AppInfo: {
        type: 'object',
        description: 'How the buyer reaches the instance. userName and password are AES-encrypted with the access key (encryptType).',
        required: ['frontEndUrl'],
        additionalProperties: false,
        properties: {
          frontEndUrl: { type: 'string', maxLength: APP_INFO_LIMITS.frontEndUrl },
          adminUrl: { type: 'string', maxLength: APP_INFO_LIMITS.adminUrl },
          userName: { type: 'string', maxLength: APP_INFO_LIMITS.userName, description: 'Encrypted (IV + Base64 of AES); the limit counts the encrypted form.' },
          password: { type: 'string', maxLength: APP_INFO_LIMITS.password, description: 'Encrypted (IV + Base64 of AES); the limit counts the encrypted form.' },
          memo: { type: 'string', maxLength: APP_INFO_LIMITS.memo, description: 'Non-ASCII sent as \\uXXXX escapes; the limit counts them escaped.' },
        },
      },
      InstanceInfo: {
        type: 'object',
        required: ['instanceId'],
        additionalProperties: false,
        properties: { instanceId: { type: 'string' }, appInfo: ref('AppInfo'), usage: {} },
      },
      SaasAnswer: {
        type: 'object',
        description:
          'Every production-interface answer, refusals included: resultCode and resultMsg; newInstance adds instanceId (and, in V1, encryptType and appInfo); queryInstance adds encryptType and info once an instance is ready. Non-ASCII characters are sent as \\uXXXX escapes.',
        required: ['resultCode', 'resultMsg'],
        additionalProperties: false,
        properties: {
          resultCode: ref('ResultCode'),
          resultMsg: { type: 'string' },
          instanceId: { type: 'string', maxLength: 64 },
          encryptType: { type: 'string', enum: ['1', '2'], description: '1: AES-256-CBC; 2: AES-128-CBC.' },
          appInfo: ref('AppInfo'),
          info: { type: 'array', minItems: 1, items: ref('InstanceInfo') },
        },
      },
      ...v1,
      V1Request: {
        type: 'object',
        description: 'V1 query parameters, by activity (all values are strings).',
        oneOf: Object.keys(v1).map(ref),
        discriminator: { propertyName: 'activity' },
      },
      ...v2,
      V2Request: {
        type: 'object',
        description: 'V2 JSON body, by activity.',
        oneOf: Object.keys(v2).map(ref),
        discriminator: { propertyName: 'activity' },
      },
    },
    headers: {
      BodySign: {
        description: `HMAC-SHA256 signature of the exact response body bytes with the access key. The header name is exactly \`${BODY_SIGN_HEADER}\` (case-sensitive for the marketplace).`,
        required: true,
        schema: { type: 'string', pattern: '^sign_type="HMAC-SHA256", signature= "[A-Za-z0-9+/]+=*"$' },
      },
    },
    responses: {
      SaasAnswer: {
        description: 'The answer (HTTP 200 whatever the outcome; the result code tells).',
        headers: { [BODY_SIGN_HEADER]: { $ref: '#/components/headers/BodySign' } },
        content: json(ref('SaasAnswer')),
      },
    },
    securitySchemes: {
      v1AuthToken: {
        type: 'apiKey',
        in: 'query',
        name: 'authToken',
        description:
          'V1: authToken = Base64(HMAC-SHA256(accessKey + timeStamp, every other parameter sorted by name and joined as name=value&…)); `timeStamp` (UTC yyyyMMddHHmmssSSS) must be within the tolerance.',
      },
      v2Signature: {
        type: 'apiKey',
        in: 'query',
        name: 'signature',
        description:
          'V2: signature = upper-case hex HMAC-SHA256(accessKey, accessKey + nonce + timestamp + hex HMAC-SHA256(accessKey, body)), with `timestamp` (Unix ms, within the tolerance) and `nonce` (used once) as query parameters.',
      },
      v2SignatureHeader: {
        type: 'apiKey',
        in: 'header',
        name: 'x-sign',
        description: 'V2, joint-operation variant: the same signature in `x-sign`, with `x-timestamp` and `x-nonce` headers.',
      },
    },
  };
}
