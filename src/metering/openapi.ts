import { json, type OpenApiPart, pathItem, ref, requestSchema, responseRef, zodParameter, zodQueryParameters } from '../platform/http/openapi.js';
import { OPS_TAG, opsErrorResponses, opsSecurity } from '../platform/http/ops/openapi.js';
import {
  flaggedItemSchema,
  flaggedListSchema,
  listFlaggedParams,
  packagePathParams,
  pushNowBody,
  pushResultSchema,
  repurchaseFailedBody,
  repurchaseFailedResultSchema,
  requeueBody,
  requeueResultSchema,
} from './ops-routes.js';
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
      '/ops/metering/push': pathItem('internal', {
        post: {
          tags: [OPS_TAG, METERING_TAG],
          operationId: 'pushUsageNow',
          summary: 'Aggregate every ended hour and push all pending usage now',
          description:
            'Starts the push workflow (or joins the ops push already running) and waits up to 25 s for it. Items keep their metering_sn, so pushing again never bills twice.',
          security: opsSecurity,
          requestBody: { required: false, content: json(requestSchema(pushNowBody, 'Push options')) },
          responses: {
            '200': { description: 'The run finished', content: json(ref('MeteringPushRun')) },
            '202': { description: 'The run goes on', content: json(ref('MeteringPushRun')) },
            '503': responseRef('OpsUnavailable'),
            ...opsErrorResponses,
          },
        },
      }),
      '/ops/metering/flagged': pathItem('internal', {
        get: {
          tags: [OPS_TAG, METERING_TAG],
          operationId: 'listFlaggedUsage',
          summary: 'Usage push items the marketplace refused METERING_PUSH_MAX_ATTEMPTS times',
          security: opsSecurity,
          parameters: zodQueryParameters(listFlaggedParams, { limit: 'Page size (default 50).', cursor: 'The `nextCursor` of the previous page (opaque).' }),
          responses: { '200': { description: 'One page of flagged items', content: json(ref('FlaggedUsageList')) }, ...opsErrorResponses },
        },
      }),
      '/ops/metering/flagged/requeue': pathItem('internal', {
        post: {
          tags: [OPS_TAG, METERING_TAG],
          operationId: 'requeueFlaggedUsage',
          summary: 'Put flagged items back in the push queue (same metering_sn)',
          security: opsSecurity,
          requestBody: { required: true, content: json(requestSchema(requeueBody, 'The items to requeue')) },
          responses: { '200': { description: 'How many were requeued', content: json(ref('RequeueResult')) }, ...opsErrorResponses },
        },
      }),
      '/ops/metering/packages/{instanceId}/repurchase-failed': pathItem('internal', {
        post: {
          tags: [OPS_TAG, METERING_TAG],
          operationId: 'recordRepurchaseFailure',
          summary: "Record that the buyer's auto-repurchase of this package failed (the buyer is told at once)",
          security: opsSecurity,
          parameters: [zodParameter('instanceId', 'path', packagePathParams.shape.instanceId, 'The package instance.')],
          requestBody: { required: true, content: json(requestSchema(repurchaseFailedBody, 'What the marketplace reported')) },
          responses: {
            '200': { description: 'Recorded', content: json(ref('RepurchaseFailureRecorded')) },
            '404': responseRef('OpsNotFound'),
            '503': responseRef('OpsUnavailable'),
            ...opsErrorResponses,
          },
        },
      }),
    },
    responseSchemas: {
      RepurchaseFailureRecorded: repurchaseFailedResultSchema,
      UsageAnswer: usageAnswerSchema,
      UsageError: usageErrorSchema,
      MeteringPushRun: pushResultSchema,
      FlaggedUsageItem: flaggedItemSchema,
      FlaggedUsageList: flaggedListSchema,
      RequeueResult: requeueResultSchema,
    },
    securitySchemes: {
      meteringBearer: { type: 'http', scheme: 'bearer', description: 'METERING_API_TOKEN, compared in constant time.' },
    },
  };
}
