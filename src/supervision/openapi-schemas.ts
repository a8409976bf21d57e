import { z } from 'zod';
import { SUPERVISION_NODES, type SupervisionNode, type SupervisionState } from './contract.js';

// The supervision workflow's state as the ops API answers it (GET /ops/supervision/{orderId}, the actions' 200),
// written once as a zod schema for the OpenAPI document. The type check at the bottom makes `tsc` fail when this
// schema and `SupervisionState` (src/shared/supervision-contract.ts) differ in any field, optionality or enum value.

/** ISO-8601 times, as the workflow writes them (documented as `date-time`; not validated here: this is a response). */
const time = z.string().meta({ format: 'date-time' });
const texts = z.array(z.string());

/** Every supervision node, in flow order. */
export const supervisionNodeSchema = z.enum(SUPERVISION_NODES as [SupervisionNode, ...SupervisionNode[]]);
/** What the marketplace shows: PROCESSING (处理中) until acceptance, COMPLETED (已完成) after, or CLOSED. */
export const supervisionStatusSchema = z.enum(['PROCESSING', 'COMPLETED', 'CLOSED']);
/** Which flow a supervised product follows. */
export const supervisionKindSchema = z.enum(['GENERAL', 'HARDWARE']);
/** How a supervision ended. */
export const supervisionOutcomeSchema = z.enum(['ACCEPTED', 'AUTO_ACCEPTED', 'LICENSE_ACTIVATED', 'APPEAL_ACCEPTED', 'APPEAL_CLOSED', 'RELEASED']);

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
});

type DeepReadonly<T> = T extends readonly (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// A compile error here means the documented state no longer matches SupervisionState: update the schema above.
const documentedStateIsSupervisionState: Equal<DeepReadonly<z.output<typeof supervisionStateSchema>>, SupervisionState> = true;
void documentedStateIsSupervisionState;
