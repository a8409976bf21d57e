import { z } from 'zod';
import type { Answer, DeepReadonly } from '../platform/http/openapi.js';
import { OpsErrorCode } from '../platform/http/ops/errors.js';
import { bool, cursorOf, limit, once, parseParams, text } from '../platform/http/ops/params.js';
import { SUPERVISION_NODES, type SupervisionAction, type SupervisionNode, type SupervisionState } from './contract.js';

// The supervision's ops endpoints as zod schemas: the parameters and action bodies the routes validate, and the
// answers they give (typed from these, documented from these by ./openapi.ts). The supervision workflow's state is
// written here once; the type check below makes `tsc` fail when this schema and `SupervisionState`
// (./contract.ts) differ in any field, optionality or enum value.

/** ISO-8601 times, as the workflow writes them (documented as `date-time`; not validated here: this is a response). */
const time = z.string().meta({ format: 'date-time' });
const texts = z.array(z.string());

/** Every supervision node, in flow order. */
export const supervisionNodeSchema = z
  .enum(SUPERVISION_NODES as [SupervisionNode, ...SupervisionNode[]])
  .describe('Where the supervision stands, in flow order; COMPLETED and CLOSED are final.');
/** What the marketplace shows: PROCESSING (处理中) until acceptance, COMPLETED (已完成) after, or CLOSED. */
export const supervisionStatusSchema = z
  .enum(['PROCESSING', 'COMPLETED', 'CLOSED'])
  .describe('What the marketplace shows: PROCESSING until acceptance, then COMPLETED; or CLOSED.');
/** Which flow a supervised product follows. */
export const supervisionKindSchema = z
  .enum(['GENERAL', 'HARDWARE'])
  .describe('GENERAL: requirement → confirmation → implementation → acceptance. HARDWARE: starts at implementation (shipment).');
/** How a supervision ended. */
export const supervisionOutcomeSchema = z
  .enum(['ACCEPTED', 'AUTO_ACCEPTED', 'LICENSE_ACTIVATED', 'APPEAL_ACCEPTED', 'APPEAL_CLOSED', 'RELEASED'])
  .describe('How a supervision ended.');

/** The supervision's whole state (SupervisionState). */
export const supervisionStateSchema = z.object({
  kind: supervisionKindSchema,
  node: supervisionNodeSchema,
  status: supervisionStatusSchema,
  startedAt: time.describe('When the supervision started (the reminder clock counts from here).'),
  appeal: z
    .object({ openedBy: z.enum(['USER', 'MERCHANT']), openedAt: time, reason: z.string(), evidence: texts.optional() })
    .optional()
    .describe('An open appeal: the flow is frozen until it is decided.'),
  requirement: z.object({ submittedAt: time, attachments: texts, note: z.string().optional() }).optional(),
  requirementRejections: z.number().int().nonnegative(),
  implementation: z.object({ completedAt: time, acceptanceReport: z.string().optional(), actualServiceStartTime: time.optional() }).optional(),
  shipment: z
    .object({ carrier: z.string(), trackingNumber: z.string(), remark: z.string().optional(), deliveryDocuments: texts, shippedAt: time })
    .optional()
    .describe("A hardware order's shipment."),
  signFor: z
    .object({
      at: time,
      phoneMismatch: z.boolean().describe("True when the consignee's phone differs from the user's: no automatic acceptance then."),
      clockFrom: time.optional().describe('Where the automatic-acceptance clock counts from (the sign-for, or the end of an appeal).'),
    })
    .optional()
    .describe("The courier's sign-for of a hardware shipment."),
  acceptanceRejections: z.number().int().nonnegative(),
  lastRejectionReason: z.string().optional(),
  acceptedAt: time.optional(),
  validity: z
    .object({ start: time, end: time, startedFrom: z.enum(['ACTUAL_START_TIME', 'ACCEPTANCE']) })
    .optional()
    .describe("A period order's validity, computed at acceptance."),
  outcome: supervisionOutcomeSchema.optional(),
  endedAt: time.optional(),
  remindersSent: z.number().int().nonnegative(),
  lastReminderAt: time.optional(),
  appliedEventIds: texts.describe('Event ids already applied (bounded): an action repeating one is answered without effect.'),
  seq: z.number().int().nonnegative().describe('Monotonic transition counter.'),
}).describe("The supervision workflow's state (the live getSupervision query, or the state last written to the read model).");

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// A compile error here means the documented state no longer matches SupervisionState: update the schema above.
const documentedStateIsSupervisionState: Equal<DeepReadonly<z.output<typeof supervisionStateSchema>>, SupervisionState> = true;
void documentedStateIsSupervisionState;

// ---------------------------------------------------------------------------------------------------------------
// Parameters and action bodies
// ---------------------------------------------------------------------------------------------------------------

/** Sort key of GET /ops/supervision: started_at (ISO) and workflow id. */
const SupervisionCursor = z.strictObject({ s: z.string().min(1).max(40), w: z.string().min(1).max(300) });

/** GET /ops/supervision */
export const listSupervisionParams = z.strictObject({
  node: z.enum(SUPERVISION_NODES as [string, ...string[]], once(`one of ${SUPERVISION_NODES.join(', ')}`)).optional(),
  status: z.enum(['PROCESSING', 'COMPLETED', 'CLOSED'], once('PROCESSING, COMPLETED or CLOSED')).optional(),
  kind: z.enum(['GENERAL', 'HARDWARE'], once('GENERAL or HARDWARE')).optional(),
  orderId: text(128).optional(),
  appealOpen: bool.optional(),
  /** Only orders unaccepted for more than this many days (e.g. 180: the ones the reminders are about). */
  unacceptedForDays: z
    .string(once('an integer'))
    .regex(/^\d{1,5}$/, { error: 'must be a number of days' })
    .transform(Number)
    .optional(),
  limit: limit.optional(),
  cursor: cursorOf(SupervisionCursor).optional(),
});

/** GET/POST /ops/supervision/:orderId (path and query). */
export const supervisionPathParams = z.strictObject({ orderId: text(128) });
export const supervisionLineParams = z.strictObject({ orderLineId: text(128).optional() });

const eventFields = {
  eventId: text(128).optional(),
  at: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time with a zone' }).optional(),
};
const reason = z.string().trim().min(1, { error: 'is required' }).max(2000);
const refs = z.array(z.string().min(1).max(500)).max(50);

/** The body of POST /ops/supervision/:orderId/actions: one action (the server sets who performed it). */
export const supervisionActionBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('CONFIRM_REQUIREMENT'), ...eventFields }),
  z.strictObject({ type: z.literal('REJECT_REQUIREMENT'), reason, ...eventFields }),
  z.strictObject({
    type: z.literal('COMPLETE_IMPLEMENTATION'),
    acceptanceReport: z.string().trim().min(1, { error: 'is required (the delivery/acceptance report reference)' }).max(500),
    actualServiceStartTime: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time with a zone' }).optional(),
    ...eventFields,
  }),
  z.strictObject({
    type: z.literal('RECORD_SHIPMENT'),
    carrier: z.string().trim().min(1, { error: 'is required' }).max(100),
    trackingNumber: z.string().trim().min(1, { error: 'is required' }).max(100),
    remark: z.string().max(1000).optional(),
    deliveryDocuments: refs.optional(),
    ...eventFields,
  }),
  // User-side events and appeal decisions, entered by ops (e.g. from the Seller Console) when no notification came.
  z.strictObject({ type: z.literal('SUBMIT_REQUIREMENT'), attachments: refs.optional(), note: z.string().max(2000).optional(), ...eventFields }),
  z.strictObject({ type: z.literal('ACCEPT'), ...eventFields }),
  z.strictObject({ type: z.literal('REJECT_ACCEPTANCE'), reason, ...eventFields }),
  z.strictObject({ type: z.literal('SIGN_FOR'), consigneePhone: z.string().max(40).optional(), userPhone: z.string().max(40).optional(), ...eventFields }),
  z.strictObject({ type: z.literal('ACTIVATE_LICENSE'), ...eventFields }),
  z.strictObject({ type: z.literal('OPEN_APPEAL'), openedBy: z.enum(['USER', 'MERCHANT']), reason, evidence: refs.optional(), ...eventFields }),
  z.strictObject({ type: z.literal('DECIDE_APPEAL'), decision: z.enum(['RESUME', 'ACCEPT', 'CLOSE']), note: z.string().max(2000).optional(), ...eventFields }),
]);

const MERCHANT_ACTIONS = new Set(['CONFIRM_REQUIREMENT', 'REJECT_REQUIREMENT', 'COMPLETE_IMPLEMENTATION', 'RECORD_SHIPMENT']);

/** Parses an action body and says on whose side it was: the merchant's own actions, else ops entering another side's. */
export function parseSupervisionAction(body: unknown): SupervisionAction {
  const a = parseParams(supervisionActionBody, body, 'body');
  const merchant = MERCHANT_ACTIONS.has(a.type) || (a.type === 'OPEN_APPEAL' && a.openedBy === 'MERCHANT');
  return { ...a, source: merchant ? 'MERCHANT' : 'OPS' };
}

// ---------------------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------------------

/** One supervised order line in the supervision read model. */
export const supervisionSummarySchema = z
  .object({
    workflowId: z.string().describe('The supervision workflow (supervision-<order workflow id>).'),
    orderWorkflowId: z.string(),
    instanceId: z.string(),
    orderId: z.string(),
    orderLineId: z.string().nullable(),
    customerId: z.string().nullable(),
    productId: z.string().nullable(),
    kind: supervisionKindSchema,
    node: supervisionNodeSchema,
    status: supervisionStatusSchema,
    appealOpen: z.boolean(),
    testOrder: z.boolean(),
    startedAt: time,
    acceptedAt: time.nullable(),
    outcome: supervisionOutcomeSchema.nullable(),
    validity: z.object({ start: time, end: time }).nullable(),
    remindersSent: z.number().int().nonnegative(),
    lastReminderAt: time.nullable(),
    updatedAt: time,
  })
  .describe('One supervised order line in the supervision read model.');

/** GET /ops/supervision */
export const supervisionListSchema = z.object({ items: z.array(supervisionSummarySchema), nextCursor: z.string().nullable() });

/** One transition of a supervision's timeline. */
export const supervisionEventSchema = z.object({
  seq: z.number().int(),
  node: supervisionNodeSchema,
  event: z.string().describe('SUPERVISION_STARTED, or the action type that made the transition.'),
  detail: z.record(z.string(), z.unknown()).describe('status, and the appeal and outcome when there are.'),
  actor: z.string().nullable().describe('The ops operator who entered the action (their named token); null for the marketplace and the workflow itself.'),
  at: time,
});

/** GET /ops/supervision/:orderId */
export const supervisionDetailSchema = z
  .object({
    workflowId: z.string(),
    supervision: supervisionSummarySchema.nullable(),
    state: supervisionStateSchema,
    live: z.boolean(),
    events: z.array(supervisionEventSchema).describe('The transitions, oldest first.'),
  })
  .describe(
    'One supervision. `state` is the live workflow state when the workflow answered (`live` true), else the state last written to the read model; `supervision` is null while a just-started supervision has written nothing yet (its state is then the live one).',
  );

/** POST /ops/supervision/:orderId/actions, 200 */
export const supervisionActionResultSchema = z.object({
  applied: z.boolean().describe('false when the eventId had been applied before (nothing changed).'),
  workflowId: z.string(),
  state: supervisionStateSchema,
});

/** 409: the action does not fit the supervision now. */
export const supervisionConflictSchema = z
  .object({
    error: z.literal(OpsErrorCode.Conflict),
    message: z.string().describe('Why: the current node and what it waits for, a frozen appeal, or an ended supervision.'),
    workflowId: z.string(),
    node: supervisionNodeSchema.optional(),
    status: supervisionStatusSchema.optional(),
  })
  .describe('The action does not fit the supervision now; nothing changed. `node` and `status` are its unchanged state when it could be read.');

/** 400: the order has several supervised lines. */
export const supervisionLineRequiredSchema = z
  .object({ error: z.literal(OpsErrorCode.InvalidRequest), message: z.string(), orderLineIds: z.array(z.string()) })
  .describe('The order has several supervised lines: name one with `orderLineId`.');

/** A supervision as the ops API answers it. */
export type SupervisionSummary = Answer<typeof supervisionSummarySchema>;
/** GET /ops/supervision's answer. */
export type SupervisionList = Answer<typeof supervisionListSchema>;
/** GET /ops/supervision/:orderId's answer. */
export type SupervisionDetail = Answer<typeof supervisionDetailSchema>;
/** POST /ops/supervision/:orderId/actions' answer. */
export type SupervisionActionAnswer = Answer<typeof supervisionActionResultSchema>;
