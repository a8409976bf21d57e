import { z } from 'zod';
import type { OrderPhase } from '../orders/contract.js';
import { DRIFT_KINDS, type DriftKind } from '../reconciliation/contract.js';
import { SUPERVISION_NODES, type SupervisionAction } from '../supervision/contract.js';
import { OpsError, OpsErrorCode } from './errors.js';

// Query parameters of the ops API, validated with zod. Every value arrives as a string (a repeated parameter as an
// array, which is refused); unknown parameters are refused, so a typo never silently widens a search.

/** Every order phase, for validation and the OpenAPI document. */
export const ORDER_PHASES = ['PROVISIONING', 'ACTIVE', 'FROZEN', 'RELEASED', 'FAILED', 'REJECTED'] as const satisfies readonly OrderPhase[];

/** Page size bounds of the list endpoints. */
export const PAGE_LIMIT = { default: 50, max: 200 } as const;

const once = (what: string) => ({ error: (iss: { input?: unknown }) => (Array.isArray(iss.input) ? 'must be given once' : `must be ${what}`) });

const text = (max: number) =>
  z
    .string(once('a string'))
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` });

const limit = z
  .string(once('an integer'))
  .regex(/^\d{1,4}$/, { error: `must be an integer from 1 to ${PAGE_LIMIT.max}` })
  .transform(Number)
  .pipe(z.number().int().min(1, { error: `must be an integer from 1 to ${PAGE_LIMIT.max}` }).max(PAGE_LIMIT.max, { error: `must be an integer from 1 to ${PAGE_LIMIT.max}` }));

const bool = z.enum(['true', 'false', '1', '0'], once('true or false')).transform((v) => v === 'true' || v === '1');

/** An opaque keyset cursor: base64url JSON of the last row's sort key. */
function cursorOf<T extends z.ZodType>(shape: T) {
  return z.string(once('a cursor')).transform((v, ctx) => {
    try {
      const parsed = shape.safeParse(JSON.parse(Buffer.from(v, 'base64url').toString('utf8')));
      if (parsed.success) return parsed.data as z.output<T>;
    } catch {
      /* not base64url JSON: reported below */
    }
    ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this endpoint' });
    return z.NEVER;
  });
}

/** Encodes a keyset cursor (see cursorOf). */
export function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Sort key of GET /ops/orders: updated_at (ISO text with microseconds) and instance_id. */
const OrdersCursor = z.strictObject({ u: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/), i: z.string().min(1).max(128) });
/** Sort key of GET /ops/drift: instance_id and kind. */
const DriftCursor = z.strictObject({ i: z.string().min(1).max(128), k: z.string().min(1).max(64) });

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

/** GET /ops/orders/:instanceId (path). */
export const orderPathParams = z.strictObject({ instanceId: text(128) });

/** GET /ops/drift */
export const listDriftParams = z.strictObject({
  status: z.enum(['open', 'resolved', 'all'], once('open, resolved or all')).optional(),
  kind: z.enum(DRIFT_KINDS as [DriftKind, ...DriftKind[]], once(`one of ${DRIFT_KINDS.join(', ')}`)).optional(),
  instanceId: text(128).optional(),
  limit: limit.optional(),
  cursor: cursorOf(DriftCursor).optional(),
});

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

/** Parses an action body and says who performed it: the merchant's own actions, else ops entering another side's. */
export function parseSupervisionAction(body: unknown): SupervisionAction {
  const a = parseParams(supervisionActionBody, body, 'body');
  const merchant = MERCHANT_ACTIONS.has(a.type) || (a.type === 'OPEN_APPEAL' && a.openedBy === 'MERCHANT');
  return { ...a, source: merchant ? 'MERCHANT' : 'OPS' } as SupervisionAction;
}

/** Parsed GET /ops/orders parameters. */
export type ListOrdersParams = z.output<typeof listOrdersParams>;
/** Parsed GET /ops/drift parameters. */
export type ListDriftParams = z.output<typeof listDriftParams>;

/** Validates `input` or throws an INVALID_REQUEST OpsError naming every offending parameter. */
export function parseParams<T extends z.ZodType>(schema: T, input: unknown, where: 'query' | 'path' | 'body' = 'query'): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown ${where} parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    const name = issue.path.map(String).join('.') || where;
    return `${name} ${issue.message}`;
  });
  throw new OpsError(OpsErrorCode.InvalidRequest, `invalid ${where} parameters: ${problems.join('; ')}`);
}
