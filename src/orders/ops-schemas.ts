import { z } from 'zod';
import type { Answer } from '../platform/http/openapi.js';
import { bool, cursorOf, limit, once, text } from '../platform/http/ops/params.js';
import type { OrderPhase, OrderState } from './contract.js';

// The orders' ops endpoints as zod schemas: the parameters the routes validate, and the answers they give. The
// routes type their answers with these, and src/orders/openapi.ts documents both sides from them.

/** Every order phase. */
export const ORDER_PHASES = ['PROVISIONING', 'ACTIVE', 'FROZEN', 'RELEASED', 'FAILED', 'REJECTED'] as const satisfies readonly OrderPhase[];

/** Sort key of GET /ops/orders: updated_at (ISO text with microseconds) and instance_id. */
const OrdersCursor = z.strictObject({ u: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/), i: z.string().min(1).max(128) });

/** GET /ops/orders */
export const listOrdersParams = z.strictObject({
  orderId: text(128).optional(),
  customerId: text(128).optional(),
  productId: text(128).optional(),
  phase: z.enum(ORDER_PHASES, once(`one of ${ORDER_PHASES.join(', ')}`)).optional(),
  testOrder: bool.optional(),
  limit: limit.optional(),
  cursor: cursorOf(OrdersCursor).optional(),
});

/** Parsed GET /ops/orders parameters. */
export type ListOrdersParams = z.output<typeof listOrdersParams>;

/** GET /ops/orders/:instanceId (path). */
export const orderPathParams = z.strictObject({ instanceId: text(128) });

// Answers. Times are ISO-8601 text (the read model's keep microseconds: the keyset cursor carries them exactly).
const time = z.string().meta({ format: 'date-time' });
const maybe = z.string().nullable();

/** An order phase. */
export const orderPhaseSchema = z.enum(ORDER_PHASES);

const summaryFields = {
  instanceId: z.string(),
  workflowId: z.string(),
  interfaceVersion: z.enum(['V1', 'V2']),
  orderId: z.string(),
  orderLineId: maybe,
  customerId: maybe,
  productId: maybe,
  skuCode: maybe,
  chargingMode: maybe,
  phase: orderPhaseSchema,
  resultCode: maybe,
  trial: z.boolean(),
  testOrder: z.boolean(),
  expireTime: time.nullable(),
  seq: z.number().int(),
  createdAt: time,
  updatedAt: time,
};

/** One instance of the read model, as searches list it. */
export const orderSummarySchema = z.object(summaryFields).describe('One instance of the read model. Credentials are never part of it.');

/** One instance with what ops may see of its access (still no credentials). */
export const orderDetailSchema = z
  .object({
    ...summaryFields,
    spec: z.record(z.string(), z.unknown()),
    frontEndUrl: maybe,
    adminUrl: maybe,
    memo: maybe,
    credentialsStored: z.boolean().describe('Whether sealed credentials are stored (they are never shown).'),
  })
  .describe('The instance with its access URLs; sealed credentials are only reported as stored or not.');

/** GET /ops/orders */
export const orderListSchema = z.object({ items: z.array(orderSummarySchema), nextCursor: maybe });

/** One transition of an instance's timeline. */
export const timelineTransitionSchema = z.object({ seq: z.number().int(), phase: z.string(), event: z.string(), detail: z.record(z.string(), z.unknown()), at: time });

/** One marketplace call about the instance or its order. */
export const marketplaceCallSchema = z
  .object({
    id: z.number().int(),
    receivedAt: time,
    interfaceVersion: z.enum(['V1', 'V2']).nullable(),
    activity: maybe,
    businessId: maybe,
    orderId: maybe,
    orderLineId: maybe,
    instanceId: maybe,
    testFlag: z.boolean().nullable(),
    resultCode: z.string(),
    httpStatus: z.number().int(),
    latencyMs: z.number().int(),
    refusal: maybe,
  })
  .describe('A marketplace call we answered (or refused). The request body is never stored, only its hash.');

/**
 * The order workflow's state: typed as the workflow's own OrderState, documented by hand (its main fields; it is
 * the workflow's, not built from a schema here).
 */
export const orderStateSchema = z.custom<OrderState>().meta({
  type: 'object',
  description: "The order workflow's state (getOrderQuery while open; the workflow's result once completed).",
  required: ['instanceId', 'phase', 'seq'],
  properties: {
    instanceId: { type: 'string' },
    key: { type: 'object' },
    interfaceVersion: { type: 'string', enum: ['V1', 'V2'] },
    testOrder: { type: 'boolean' },
    phase: { $ref: '#/components/schemas/OrderPhase' },
    details: { type: 'object' },
    freezeReasons: { type: 'array', items: { type: 'string' } },
    appliedOrderIds: { type: 'array', items: { type: 'string' } },
    seq: { type: 'integer' },
    failureCode: { type: 'string' },
    failureReason: { type: 'string' },
    frontEndUrl: { type: 'string' },
    supervision: { type: 'object' },
  },
});

/** The live workflow part of an order's story. */
export const workflowSectionSchema = z
  .union([
    z.object({ workflowId: z.string(), available: z.literal(true), open: z.boolean(), status: z.string(), state: orderStateSchema }),
    z.object({ workflowId: z.string(), available: z.literal(false), status: z.string().optional(), reason: z.string() }),
  ])
  .describe('The order workflow as Temporal sees it now, or why it cannot be read (not found, no worker, timeout).');

/** The live workflow part of GET /ops/orders/:instanceId. */
export type WorkflowSection = Answer<typeof workflowSectionSchema>;

/** What GET /ops/orders/:instanceId tells from this context's own tables and workflow. */
const orderStoryCoreSchema = z.object({
  instance: orderDetailSchema,
  timeline: z.object({ transitions: z.array(timelineTransitionSchema), marketplaceCalls: z.array(marketplaceCallSchema) }),
  workflow: workflowSectionSchema,
});

/**
 * GET /ops/orders/:instanceId: the instance, its timeline and live workflow, and what other contexts know about it
 * (`related`: open drift findings, its supervision), documented by their own schemas.
 */
export function orderStorySchema(related: { readonly drift: z.ZodType; readonly supervision: z.ZodType }) {
  return orderStoryCoreSchema.extend({
    drift: z.array(related.drift).describe('Open reconciliation findings of this instance.'),
    supervision: related.supervision.nullable().describe('For a supervised order: where its supervision stands; null otherwise.'),
  });
}

/** GET /ops/orders/:instanceId's answer; D and S are the related contexts' answers (see orderStorySchema). */
export type OrderStory<D, S> = Answer<typeof orderStoryCoreSchema> & { readonly drift: readonly D[]; readonly supervision: S | null };

/** One instance in a search result. */
export type OrderSummary = Answer<typeof orderSummarySchema>;
/** One instance with everything ops may see (still no credentials). */
export type OrderDetail = Answer<typeof orderDetailSchema>;
/** GET /ops/orders */
export type OrderList = Answer<typeof orderListSchema>;
/** One transition of the timeline. */
export type TimelineTransition = Answer<typeof timelineTransitionSchema>;
/** One marketplace call we answered. */
export type MarketplaceCall = Answer<typeof marketplaceCallSchema>;
