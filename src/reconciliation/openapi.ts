import { json, type OpenApiPart, pathItem, ref, zodQueryParameters } from '../platform/http/openapi.js';
import { OPS_TAG, opsErrorResponses, opsSecurity } from '../platform/http/ops/openapi.js';
import { driftFindingSchema, driftKindSchema, driftListSchema, listDriftParams, reconciliationRunSchema } from './ops-schemas.js';

// GET /ops/drift in the OpenAPI document, from the zod schemas the route validates and answers with.

const PARAM_DESCRIPTIONS: Record<keyof typeof listDriftParams.shape, string> = {
  status: 'open (default), resolved or all.',
  kind: 'Only findings of this kind.',
  instanceId: 'Only this instance.',
  limit: 'Page size (default 50).',
  cursor: 'The `nextCursor` of the previous page (opaque).',
};

/** The reconciliation's part of the document. */
export function reconciliationOpenApiPart(): OpenApiPart {
  return {
    paths: {
      '/ops/drift': pathItem('internal', {
        get: {
          tags: [OPS_TAG],
          operationId: 'listDrift',
          summary: 'Reconciliation findings: where the read model and the order workflows disagree',
          description: 'Ordered by (instanceId, kind); `lastRun` is the most recent reconciliation run.',
          security: opsSecurity,
          parameters: zodQueryParameters(listDriftParams, PARAM_DESCRIPTIONS),
          responses: { '200': { description: 'One page of findings', content: json(ref('DriftList')) }, ...opsErrorResponses },
        },
      }),
    },
    responseSchemas: {
      DriftKind: driftKindSchema,
      DriftFinding: driftFindingSchema,
      ReconciliationRun: reconciliationRunSchema,
      DriftList: driftListSchema,
    },
  };
}
