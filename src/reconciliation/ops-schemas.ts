import { z } from 'zod';
import type { Answer } from '../platform/http/openapi.js';
import { cursorOf, limit, once, text } from '../platform/http/ops/params.js';
import { DRIFT_KINDS, type DriftKind } from './contract.js';

// GET /ops/drift as zod schemas: the parameters the route validates and the answer it gives (typed from these,
// documented from these by ./openapi.ts).

/** Sort key of GET /ops/drift: instance_id and kind. */
const DriftCursor = z.strictObject({ i: z.string().min(1).max(128), k: z.string().min(1).max(64) });

/** GET /ops/drift */
export const listDriftParams = z.strictObject({
  status: z.enum(['open', 'resolved', 'all'], once('open, resolved or all')).optional(),
  kind: z.enum(DRIFT_KINDS as [DriftKind, ...DriftKind[]], once(`one of ${DRIFT_KINDS.join(', ')}`)).optional(),
  instanceId: text(128).optional(),
  limit: limit.optional(),
  cursor: cursorOf(DriftCursor).optional(),
});

/** Parsed GET /ops/drift parameters. */
export type ListDriftParams = z.output<typeof listDriftParams>;

const time = z.string().meta({ format: 'date-time' });

/** A drift kind. */
export const driftKindSchema = z.enum(DRIFT_KINDS as [DriftKind, ...DriftKind[]]);

/** One finding: where the read model and an order workflow (or the marketplace) disagree. */
export const driftFindingSchema = z.object({
  instanceId: z.string(),
  kind: driftKindSchema,
  workflowId: z.string(),
  orderId: z.string(),
  details: z
    .record(z.string(), z.unknown())
    .describe('What each side said: readModelPhase/readModelSeq, workflowPhase/workflowSeq/workflowStatus, marketplace.'),
  firstSeenAt: time,
  lastSeenAt: time,
  resolvedAt: time.nullable(),
});

/** One reconciliation run. */
export const reconciliationRunSchema = z.object({
  runKey: z.string(),
  startedAt: time,
  finishedAt: time.nullable(),
  complete: z.boolean(),
  checked: z.number().int(),
  unchecked: z.number().int(),
  newFindings: z.number().int(),
  resolvedFindings: z.number().int(),
  openFindings: z.number().int(),
});

/** GET /ops/drift */
export const driftListSchema = z.object({
  findings: z.array(driftFindingSchema),
  lastRun: reconciliationRunSchema.nullable(),
  nextCursor: z.string().nullable(),
});

/** A finding as the ops API answers it. */
export type DriftFindingBody = Answer<typeof driftFindingSchema>;
/** GET /ops/drift's answer. */
export type DriftList = Answer<typeof driftListSchema>;
