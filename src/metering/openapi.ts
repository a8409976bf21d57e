import { json, type OpenApiPart, pathItem, ref, requestSchema } from '../platform/http/openapi.js';
import { usageBatchSchema } from './intake.js';
import { usageAnswerSchema, usageErrorSchema } from './routes.js';

// Metering in the OpenAPI document: the usage intake the merchant's product calls (internal listener).

/** The tag of the metering operations. */
export const METERING_TAG = 'metering';

/** Metering's part of the document. */
export function meteringOpenApiPart(): OpenApiPart {
  const error = (description: string) => ({ description, content: json(ref('UsageError')) });
  return {
    tags: [
      {
        name: METERING_TAG,
        description:
          'Usage of on-demand and package instances, reported by the merchant\'s own product (`Authorization: Bearer <METERING_API_TOKEN>`), pushed hourly to the marketplace\'s usage-data API.',
      },
    ],
    paths: {
      '/metering/usage': pathItem('internal', {
        post: {
          tags: [METERING_TAG],
          operationId: 'reportUsage',
          summary: 'Report usage records (up to 1,000 per call), idempotent by recordId',
          description:
            'Each record is answered: accepted, duplicate (its recordId was stored before, or earlier in this batch), or refused with a reason. Times are ISO-8601 with an offset; usageValue is a number or decimal string > 0 with at most 4 decimals; beginTime may be at most 21 days old. A body that is not a batch of records is refused as a whole (400) and nothing is stored.',
          security: [{ meteringBearer: [] }],
          requestBody: { required: true, content: json(requestSchema(usageBatchSchema, 'A batch of usage records')) },
          responses: {
            '200': { description: 'Every record answered, in the order sent', content: json(ref('UsageAnswer')) },
            '400': error('Not a batch of records (the issues name the fields), or not JSON.'),
            '401': error('No token or a wrong one (or intake not configured).'),
            '413': error('Body larger than METERING_MAX_BODY_BYTES.'),
            '415': error('Not application/json.'),
          },
        },
      }),
    },
    responseSchemas: { UsageAnswer: usageAnswerSchema, UsageError: usageErrorSchema },
    securitySchemes: {
      meteringBearer: { type: 'http', scheme: 'bearer', description: 'METERING_API_TOKEN, compared in constant time.' },
    },
  };
}
