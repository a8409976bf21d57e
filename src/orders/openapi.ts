import type { z } from 'zod';
import { json, type OpenApiPart, pathItem, ref, responseRef, zodParameter, zodQueryParameters } from '../platform/http/openapi.js';
import { OPS_TAG, opsErrorResponses, opsSecurity } from '../platform/http/ops/openapi.js';
import {
  listOrdersParams,
  marketplaceCallSchema,
  orderDetailSchema,
  orderListSchema,
  orderPathParams,
  orderPhaseSchema,
  orderStateSchema,
  orderStorySchema,
  orderSummarySchema,
  timelineTransitionSchema,
  workflowSectionSchema,
} from './ops-schemas.js';

// The orders' ops endpoints in the OpenAPI document, from the zod schemas the routes validate and answer with.

const LIST_DESCRIPTIONS: Record<keyof typeof listOrdersParams.shape, string> = {
  orderId: 'Purchase order id.',
  customerId: "Buyer's Huawei Cloud account id.",
  productId: 'Product id.',
  phase: 'Only instances in this phase.',
  testOrder: 'Only (true) or no (false) marketplace test orders.',
  limit: 'Page size (default 50).',
  cursor: 'The `nextCursor` of the previous page (opaque).',
};

/** The orders' part of the document; the story's related sections are documented by their contexts' schemas. */
export function ordersOpenApiPart(related: { readonly drift: z.ZodType; readonly supervision: z.ZodType }): OpenApiPart {
  return {
    paths: {
      '/ops/orders': pathItem('internal', {
        get: {
          tags: [OPS_TAG],
          operationId: 'listOrders',
          summary: 'Search instances in the read model',
          description: 'Newest change first; keyset pagination by (updatedAt, instanceId) with `cursor`. Unknown parameters are refused.',
          security: opsSecurity,
          parameters: zodQueryParameters(listOrdersParams, LIST_DESCRIPTIONS),
          responses: { '200': { description: 'One page of instances', content: json(ref('OrderList')) }, ...opsErrorResponses },
        },
      }),
      '/ops/orders/{instanceId}': pathItem('internal', {
        get: {
          tags: [OPS_TAG],
          operationId: 'getOrder',
          summary: "One order's story: the instance, its transitions, the marketplace's calls, the live workflow state",
          security: opsSecurity,
          parameters: [zodParameter('instanceId', 'path', orderPathParams.shape.instanceId, 'The instance id.')],
          responses: {
            '200': { description: 'The order', content: json(ref('OrderStory')) },
            '404': responseRef('OpsNotFound'),
            ...opsErrorResponses,
          },
        },
      }),
    },
    responseSchemas: {
      OrderPhase: orderPhaseSchema,
      OrderSummary: orderSummarySchema,
      OrderDetail: orderDetailSchema,
      OrderList: orderListSchema,
      TimelineTransition: timelineTransitionSchema,
      MarketplaceCall: marketplaceCallSchema,
      OrderState: orderStateSchema,
      WorkflowSection: workflowSectionSchema,
      OrderStory: orderStorySchema(related),
    },
  };
}
