import { mergeParts } from '../platform/http/openapi.js';
import { opsOpenApiPart } from '../platform/http/ops/openapi.js';
import { platformOpenApiPart } from '../platform/http/platform-openapi.js';
import { licensesOpenApiPart } from '../licenses/openapi.js';
import { ordersOpenApiPart } from '../orders/openapi.js';
import { productionInterfaceOpenApiPart } from '../production-interface/openapi.js';
import { reconciliationOpenApiPart } from '../reconciliation/openapi.js';
import { driftFindingSchema } from '../reconciliation/ops-schemas.js';
import { settlementOpenApiPart } from '../settlement/openapi.js';
import { supervisionOpenApiPart } from '../supervision/openapi.js';
import { supervisionSummarySchema } from '../supervision/ops-schemas.js';
import { meteringOpenApiPart } from '../metering/openapi.js';

// The service's OpenAPI 3.1 document, served at GET /openapi.json on the internal listener. Each context writes
// its own paths (its openapi.ts, next to its routes, from the zod schemas its routes validate and answer with);
// this assembles them, as the composition root assembles the routes. Every path item says which listener serves
// it (`x-listener`: public or internal); test/integration/ops/openapi.test.ts checks both against the apps.

/** The OpenAPI 3.1 document of every endpoint the API process serves, on both listeners. */
export function buildOpenApiDocument(): Record<string, unknown> {
  const { tags, paths, components } = mergeParts([
    productionInterfaceOpenApiPart(),
    platformOpenApiPart(),
    opsOpenApiPart(),
    // An order's story carries what reconciliation and supervision know about it, documented by their schemas.
    ordersOpenApiPart({ drift: driftFindingSchema, supervision: supervisionSummarySchema }),
    reconciliationOpenApiPart(),
    supervisionOpenApiPart(),
    licensesOpenApiPart(),
    settlementOpenApiPart(),
    meteringOpenApiPart(),
  ]);
  return {
    openapi: '3.1.0',
    info: {
      title: 'KooGallery order orchestration',
      version: '1.0.0',
      summary: 'The SaaS production interface KooGallery calls, health and metrics, and the merchant operations API.',
      description:
        'Two listeners. The public one (PORT) serves only what the marketplace calls (/koogallery/*): every answer there is HTTP 200 JSON with a `Body-Sign` header (HMAC-SHA256 with the access key over the exact body bytes) and a marketplace result code. The internal one (INTERNAL_PORT) serves health, readiness, metrics, this document and the operations API under /ops, which needs `Authorization: Bearer <operator token>`. Each path item states its listener in `x-listener`.',
    },
    servers: [{ url: '/', description: 'This service (the listener of each path: `x-listener`)' }],
    tags,
    paths,
    components,
  };
}

let cached: string | undefined;

/** The document serialised once per process. */
export function openApiJson(): string {
  cached ??= JSON.stringify(buildOpenApiDocument());
  return cached;
}
