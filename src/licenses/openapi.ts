import { BODY_SIGN_HEADER } from '../koogallery/index.js';
import { licenseCodeRequestSchemas, onlineLicenseRequestSchemas, v1LicenseRequestSchemas } from '../koogallery/license-requests.js';
import { json as jsonContent, pathItem, requestSchema as accepts, type Json, type OpenApiPart } from '../platform/http/openapi.js';
import { PRODUCTION_INTERFACE_TAG, v2CredentialParameters } from '../production-interface/openapi.js';
import { LICENSE_CODE_PATH } from './code-routes.js';
import { LICENSE_JWKS_PATH, LICENSE_PATH } from './routes.js';

// The License interfaces' part of the OpenAPI document (src/main/openapi.ts merges it with the others). Request
// schemas come from the zod schemas that validate them; answers are written here and refer to the production
// interface's shared components (ResultCode, SaasAnswer, V2Request, BodySign, the security schemes). All public.

const component = (kind: string, name: string): Json => ({ $ref: `#/components/${kind}/${name}` });

const signed = (description: string, schema: Json): Json => ({
  description,
  headers: { [BODY_SIGN_HEADER]: component('headers', 'BodySign') },
  content: jsonContent(schema),
});

const licenseAnswer = (extra: Record<string, Json>, description: string): Json => ({
  type: 'object',
  description,
  required: ['resultCode', 'resultMsg'],
  additionalProperties: false,
  properties: {
    resultCode: component('schemas', 'ResultCode'),
    resultMsg: { type: 'string' },
    license: { type: 'string', description: 'The license: a compact JWS (EdDSA, Ed25519) to verify with the JWKS.' },
    ...extra,
  },
});

const codeClientAnswer: Json = {
  type: 'object',
  required: ['outcome'],
  properties: {
    outcome: { type: 'string', enum: ['ACTIVE', 'REFUSED', 'OTHER_DEVICE', 'NOT_ACTIVATED', 'FROZEN', 'RELEASED', 'RETRY', 'INVALID'] },
    license: { type: 'string', description: 'Only with ACTIVE: the compact JWS of the current term.' },
    expireTime: { type: 'string', format: 'date-time' },
    message: { type: 'string' },
  },
};
const codeClientBody: Json = {
  type: 'object',
  required: ['licenseCode'],
  properties: { licenseCode: { type: 'string', pattern: '^[\\x21-\\x7e]{1,64}$' }, deviceFingerprint: { type: 'string', minLength: 1, maxLength: 1024 } },
};
const codeClientResponses: Json = {
  '200': { description: 'ACTIVE: the license', content: jsonContent(codeClientAnswer) },
  '400': { description: 'INVALID body', content: jsonContent(codeClientAnswer) },
  '403': { description: 'REFUSED by the marketplace (license/activate)', content: jsonContent(codeClientAnswer) },
  '404': { description: 'NOT_ACTIVATED here (heartbeat)', content: jsonContent(codeClientAnswer) },
  '409': { description: 'OTHER_DEVICE: the code is active on another device', content: jsonContent(codeClientAnswer) },
  '410': { description: 'RELEASED', content: jsonContent(codeClientAnswer) },
  '423': { description: 'FROZEN: no license until the marketplace unfreezes the code', content: jsonContent(codeClientAnswer) },
  '503': { description: 'RETRY: the marketplace or the workflow did not answer in time', content: jsonContent(codeClientAnswer) },
};
const v2Security = [{ v2Signature: [] }, { v2SignatureHeader: [] }];
const LICENSES_TAG = 'licenses';

/** The License paths of the OpenAPI document. */
function licensePaths(): Record<string, Json> {
  return {
    [LICENSE_PATH]: {
      post: {
        tags: [PRODUCTION_INTERFACE_TAG],
        operationId: 'onlineLicense',
        summary: 'Online License (POST, V2 signature): the SaaS V2 activities, and getLicenseAsync',
        description:
          'newInstance, refreshInstance, updateInstanceStatus, releaseInstance, queryInstance and upgradeInstance are answered as on /koogallery/saas (their bodies are the V2 requests there); the instance is a license instance. getLicenseAsync issues the license of (instanceId, eventId, deviceFingerprint), the same bytes every time it is asked again: 000900 when the quota (the sum of linearValue over the effective orders, 1 by default) is used up, 000901 while the instance is frozen, 000003 once it is released. Credentials as for /koogallery/saas POST.',
        security: v2Security,
        parameters: v2CredentialParameters,
        requestBody: { required: true, content: jsonContent({ anyOf: [component('schemas', 'V2Request'), accepts(onlineLicenseRequestSchemas.getLicenseAsync, 'getLicenseAsync')] }) },
        responses: { '200': signed('HTTP 200 whatever the outcome; the result code tells.', { anyOf: [component('schemas', 'SaasAnswer'), licenseAnswer({}, 'getLicenseAsync answer')] }) },
      },
      get: {
        tags: [PRODUCTION_INTERFACE_TAG],
        operationId: 'licenseV1',
        summary: 'V1 License (GET, authToken): getLicense, refreshLicense, expireLicense, releaseLicense',
        description: 'getLicense buys (or finds) the order and answers its one license (the same bytes for every repeat of the order) with the instanceId the other three name; those mirror the SaaS V1 calls. Each activity\'s parameters are query parameters (see the schema).',
        security: [{ v1AuthToken: [] }],
        // Every parameter of the activity its own query parameter: the object, form-style and exploded.
        parameters: [{ name: 'request', in: 'query', required: true, style: 'form', explode: true, schema: { oneOf: Object.entries(v1LicenseRequestSchemas).map(([a, s]) => accepts(s, a)) } }],
        responses: { '200': signed('HTTP 200 whatever the outcome.', licenseAnswer({ instanceId: { type: 'string', maxLength: 64 } }, 'V1 License answer')) },
      },
    },
    [LICENSE_JWKS_PATH]: {
      get: {
        tags: [PRODUCTION_INTERFACE_TAG],
        operationId: 'licenseJwks',
        summary: 'The public keys that verify every license (JWKS, RFC 7517), retired keys included',
        security: [],
        responses: {
          '200': {
            description: 'JSON Web Key Set',
            content: jsonContent({
              type: 'object',
              required: ['keys'],
              properties: { keys: { type: 'array', items: { type: 'object', required: ['kty', 'crv', 'kid', 'x'], properties: { kty: { const: 'OKP' }, crv: { const: 'Ed25519' }, kid: { type: 'string' }, x: { type: 'string' }, alg: { const: 'EdDSA' }, use: { const: 'sig' } } } } },
            }),
          },
        },
      },
    },
    [LICENSE_CODE_PATH]: {
      post: {
        tags: [PRODUCTION_INTERFACE_TAG],
        operationId: 'licenseCode',
        summary: 'License code 2.0 (POST, V2 signature): refreshLicenseCode, updateLicenseCodeStatus, releaseLicenseCode',
        description: 'On a code activated through this service; an unknown code is 000003, a repeated release 000000.',
        security: v2Security,
        parameters: v2CredentialParameters,
        requestBody: { required: true, content: jsonContent({ oneOf: Object.entries(licenseCodeRequestSchemas).map(([a, s]) => accepts(s, a)) }) },
        responses: { '200': signed('HTTP 200 whatever the outcome.', component('schemas', 'SaasAnswer')) },
      },
    },
    [`${LICENSE_CODE_PATH}/activate`]: {
      post: {
        tags: [LICENSES_TAG],
        operationId: 'activateLicenseCode',
        summary: "The merchant's client software activates a code (license/activate at the marketplace) and gets its license",
        security: [],
        requestBody: { required: true, content: jsonContent(codeClientBody) },
        responses: codeClientResponses,
      },
    },
    [`${LICENSE_CODE_PATH}/heartbeat`]: {
      post: {
        tags: [LICENSES_TAG],
        operationId: 'heartbeatLicenseCode',
        summary: 'The client software reports an activated code alive (license/heartbeat) and gets its current license',
        security: [],
        requestBody: { required: true, content: jsonContent(codeClientBody) },
        responses: codeClientResponses,
      },
    },
  };
}

/** The licenses context's part of the document: every License path, on the public listener. */
export function licensesOpenApiPart(): OpenApiPart {
  const paths = Object.fromEntries(Object.entries(licensePaths()).map(([path, operations]) => [path, pathItem('public', operations)]));
  return {
    tags: [{ name: LICENSES_TAG, description: "License code 2.0: the merchant's client software activating codes and reporting them alive (not the marketplace's interface: plain JSON, HTTP statuses, no Body-Sign)." }],
    paths,
  };
}
