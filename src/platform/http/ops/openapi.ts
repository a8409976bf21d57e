import { json, ref, responseRef, type Json, type OpenApiPart } from '../openapi.js';
import { opsErrorSchema } from './errors.js';

// What every ops endpoint shares in the OpenAPI document: the bearer scheme, the error body and the answers the
// door gives (400, 401, 404, 500), and the tag. Each context's openapi.ts uses these for its own /ops paths.

/** The tag of every ops operation. */
export const OPS_TAG = 'operations';

/** The security requirement of every ops operation. */
export const opsSecurity = [{ opsBearer: [] }];

/** The answers every ops operation may give: an invalid parameter, no or a bad token, an unexpected failure. */
export const opsErrorResponses: Json = {
  '400': responseRef('OpsInvalidRequest'),
  '401': responseRef('OpsUnauthorized'),
  '500': responseRef('OpsInternal'),
};

/** The shared part of the document. */
export function opsOpenApiPart(): OpenApiPart {
  return {
    tags: [
      {
        name: OPS_TAG,
        description:
          'Merchant operations API, on the internal listener (INTERNAL_PORT). Every call needs `Authorization: Bearer <token>` of a named operator (OPS_OPERATORS, or OPS_API_TOKEN as the operator `ops`); the operator is recorded with every action.',
      },
    ],
    paths: {},
    responseSchemas: { OpsError: opsErrorSchema },
    responses: {
      OpsInvalidRequest: { description: 'A parameter is invalid or unknown; the message names it.', content: json(ref('OpsError')) },
      OpsUnauthorized: {
        description: 'No token, an unknown token, or a revoked one (the message says so).',
        headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
        content: json(ref('OpsError')),
      },
      OpsNotFound: { description: 'Nothing with this id.', content: json(ref('OpsError')) },
      OpsInternal: { description: 'Unexpected failure (details are logged, not returned).', content: json(ref('OpsError')) },
    },
    securitySchemes: {
      opsBearer: {
        type: 'http',
        scheme: 'bearer',
        description: "A named operator's token. Configuration holds only its SHA-256 (OPS_OPERATORS); a presented token is hashed and compared in constant time.",
      },
    },
  };
}
