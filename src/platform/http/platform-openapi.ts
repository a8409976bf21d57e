import { z } from 'zod';
import { json, pathItem, ref, type OpenApiPart } from './openapi.js';
import { readinessReportSchema } from './readiness.js';

// The platform endpoints createApp serves on the internal listener, in the OpenAPI document.

/** GET /healthz's answer. */
export const healthSchema = z.object({ status: z.literal('ok') });

/** The platform's part of the document. */
export function platformOpenApiPart(): OpenApiPart {
  const tags = ['platform'];
  return {
    tags: [{ name: 'platform', description: 'Health, readiness, metrics and this document, on the internal listener (INTERNAL_PORT).' }],
    paths: {
      '/healthz': pathItem('internal', {
        get: {
          tags,
          operationId: 'health',
          summary: 'Liveness: the process answers (it says nothing about dependencies or the drain)',
          security: [],
          responses: { '200': { description: 'Alive', content: json(ref('Health')) } },
        },
      }),
      '/readyz': pathItem('internal', {
        get: {
          tags,
          operationId: 'readiness',
          summary: 'Readiness: PostgreSQL, migrations and Temporal reachable, and not draining',
          description: 'Turns 503 `draining` as soon as the process starts its drain (SIGTERM), while it still answers calls for DRAIN_DELAY_MS.',
          security: [],
          responses: {
            '200': { description: 'Ready', content: json(ref('Readiness')) },
            '503': { description: 'Not ready (`checks` says why, each under its name) or draining', content: json(ref('Readiness')) },
          },
        },
      }),
      '/metrics': pathItem('internal', {
        get: {
          tags,
          operationId: 'metrics',
          summary: 'Prometheus metrics of the API (see docs/metrics.md)',
          security: [],
          responses: {
            '200': { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      }),
      '/openapi.json': pathItem('internal', {
        get: {
          tags,
          operationId: 'openApiDocument',
          summary: 'This document',
          security: [],
          responses: {
            '200': {
              description: 'OpenAPI 3.1 document',
              content: json({ type: 'object', required: ['openapi', 'paths'], properties: { openapi: { const: '3.1.0' }, paths: { type: 'object' } } }),
            },
          },
        },
      }),
    },
    responseSchemas: { Health: healthSchema, Readiness: readinessReportSchema },
  };
}
