import { z } from 'zod';
import type { Answer } from '../platform/http/openapi.js';
import { OpsErrorCode } from '../platform/http/ops/errors.js';
import { bool, cursorOf, limit, once, text } from '../platform/http/ops/params.js';
import { GOODS_TYPES, SETTLEMENT_TYPES, STATEMENT_STEPS, type GoodsType, type SettlementType, type StatementStep } from './contract.js';

// The settlement's ops endpoints as zod schemas: parameters, the action bodies the routes validate, the answers.
// Amounts are integer fen (`…Minor`) and rates integer parts per million (`…Ppm`), as everywhere in settlement.

const time = z.string().meta({ format: 'date-time' });
const minor = z.number().int().describe('Amount in fen (1/100 yuan).');
const ppm = z.number().int().min(0).max(1_000_000).describe('Rate in parts per million (6 % = 60000).');
const id = z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, _ or -');

export const statementStepSchema = z.enum(STATEMENT_STEPS as [StatementStep, ...StatementStep[]]).describe('Where a statement stands, in flow order.');
export const settlementTypeSchema = z.enum(SETTLEMENT_TYPES as [SettlementType, ...SettlementType[]]).describe('PLATFORM_FEE: general goods; REVENUE_SPLIT: joint-operation, Huawei, 严选.');
const goodsSchema = z.enum(GOODS_TYPES as [GoodsType, ...GoodsType[]]);

/** Sort key of GET /ops/settlement/statements: period, settlement type, statement id. */
const StatementsCursor = z.strictObject({ p: z.string().regex(/^\d{4}-\d{2}$/), t: z.string().min(1).max(64), s: z.string().min(1).max(200) });

/** GET /ops/settlement/statements */
export const listStatementParams = z.strictObject({
  period: z.string().regex(/^\d{4}-\d{2}$/, 'must be YYYY-MM').optional(),
  flagged: bool.optional(),
  limit: limit.optional(),
  cursor: cursorOf(StatementsCursor).optional(),
});

/** The body of POST /ops/settlement/runs. */
export const runPeriodBody = z.strictObject({
  period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM').describe('The billing period.'),
  instanceId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be an instance id').optional().describe("Bill only this instance's lines (a simulation, or settling one order apart)."),
});

/** POST /ops/settlement/runs, 200 */
export const runPeriodResultSchema = z.object({ period: z.string(), statementIds: z.array(z.string()).describe('One per settlement type.'), started: z.array(z.string()).describe('Those this call started (the others existed).') });

/** The body of POST /ops/settlement/lines/write-off. */
export const unbilledWriteOffBody = z.strictObject({
  lineKeys: z
    .array(z.string().min(1).max(300))
    .min(1)
    .max(1000)
    .describe('Lines no statement holds (`<instanceId>:<orderId>:<kind>`); SettlementState and the order\'s query name them.'),
  reason: text(500).describe('Why the line will never be settled (recorded with the operator).'),
});

/** POST /ops/settlement/lines/write-off, 200 */
export const unbilledWriteOffResultSchema = z.object({
  writtenOff: z.array(z.string()).describe('Written off, by this call or before (a repeated call answers the same).'),
  refused: z.array(z.object({ lineKey: z.string(), reason: z.string() })).describe('Not written off: no such line, or a statement holds it (write it off there).'),
  ordersTold: z.number().int().describe('Order workflows told (the others had closed).'),
});

/** POST /ops/settlement/lines/write-off, 409 */
export const unbilledWriteOffConflictSchema = z
  .object({ error: z.literal(OpsErrorCode.Conflict), message: z.string(), refused: unbilledWriteOffResultSchema.shape.refused })
  .describe('No line written off: each given line is unknown or held by a statement; nothing changed.');

/** The path of one statement. */
export const statementPathParams = z.strictObject({ statementId: z.string().regex(/^settlement-statement-[A-Za-z0-9:._-]{1,160}$/, once('a statement id (settlement-statement-…)')) });

/** The body of POST /ops/settlement/statements/:statementId/actions (the operator is the actor). */
export const statementActionBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('RECORD_MARKETPLACE_BILL'), amountMinor: minor.describe("The marketplace bill's amount, in fen.") }),
  z.strictObject({ type: z.literal('RECORD_INVOICE_NOTICE'), paymentRequestNo: id.describe('申付单号: the payment-request number of the invoice notice.') }),
  z.strictObject({ type: z.literal('ISSUE_INVOICE'), taxRatePpm: ppm, invoiceNo: id.describe('The VAT special invoice number.'), mailedTo: text(200).describe('The mailbox (e-invoice) or address (paper) it went to.') }),
  z.strictObject({ type: z.literal('RECORD_SIGN_FOR'), invoiceNo: id }),
  z.strictObject({ type: z.literal('RECORD_COUNTERSIGN') }),
  z.strictObject({ type: z.literal('RECORD_PAYMENT') }),
  z.strictObject({
    type: z.literal('WRITE_OFF'),
    reason: text(500).describe('Why the payment will not come (recorded with the operator).'),
    lineKeys: z.array(z.string().min(1).max(300)).min(1).max(1000).optional().describe("The statement's lines to write off; absent: every unpaid line."),
  }),
]);

const groupSchema = z.object({ goods: goodsSchema, taxRatePpm: ppm, lines: z.number().int(), grossMinor: minor, shareMinor: minor, netMinor: minor, taxMinor: minor });
const summarySchema = z.object({
  statementId: z.string(),
  period: z.string(),
  settlementType: settlementTypeSchema,
  groups: z.array(groupSchema).describe('Per goods type and tax rate.'),
  lines: z.number().int(),
  grossMinor: minor,
  shareMinor: minor.describe('Marketplace share (revenue split) or platform fee (general goods), negatives netted.'),
  netMinor: minor,
  taxMinor: minor.describe('VAT contained in net.'),
});

/** The statement workflow's state. */
export const statementStateSchema = z.object({
  statementId: z.string(),
  period: z.string(),
  settlementType: settlementTypeSchema,
  step: statementStepSchema,
  summary: summarySchema.optional(),
  marketplaceBillMinor: minor.optional(),
  differenceMinor: minor.optional().describe("Marketplace bill − our net: not zero is flagged to ops."),
  paymentRequestNo: z.string().optional(),
  invoices: z.array(
    z.object({
      taxRatePpm: ppm,
      amountMinor: minor,
      remark: z.string().describe('Carries 申付单号 and 对账期次.'),
      invoiceNo: z.string().optional(),
      issuedAt: time.optional(),
      mailedTo: z.string().optional(),
      signedForAt: time.optional(),
    }),
  ),
  paidAt: time.optional(),
  platformFeeInvoice: z.object({ requested: z.boolean(), error: z.string().optional() }).optional(),
  writeOffs: z.array(z.object({ lineKeys: z.array(z.string()), reason: z.string(), at: time, actor: z.string(), netMinor: minor })).optional().describe('Lines written off by ops, reversed in the ledger.'),
  history: z.array(z.object({ step: statementStepSchema, at: time, actor: z.string() })),
});

/** One statement row. */
export const statementSummaryRowSchema = z.object({
  statementId: z.string(),
  period: z.string(),
  settlementType: settlementTypeSchema,
  step: z.string(),
  lines: z.number().int().nullable(),
  netMinor: minor.nullable(),
  marketplaceBillMinor: minor.nullable(),
  differenceMinor: minor.nullable(),
  flagged: z.boolean().describe("The marketplace's bill differs from our statement."),
  paymentRequestNo: z.string().nullable(),
  updatedAt: time,
});

/** GET /ops/settlement/statements */
export const statementListSchema = z.object({ items: z.array(statementSummaryRowSchema), nextCursor: z.string().nullable().describe('The next page (pass as `cursor`); null on the last.') });

/** GET /ops/settlement/statements/:id */
export const statementDetailSchema = z.object({ statement: statementSummaryRowSchema, state: statementStateSchema.nullable(), live: z.boolean() });

/** 409 */
export const statementConflictSchema = z
  .object({ error: z.literal(OpsErrorCode.Conflict), message: z.string().describe('Why the step does not fit now.'), step: statementStepSchema.optional() })
  .describe('The step does not fit the statement now; nothing changed.');

export type StatementList = Answer<typeof statementListSchema>;
export type StatementDetail = Answer<typeof statementDetailSchema>;
export type StatementSummaryRow = Answer<typeof statementSummaryRowSchema>;
export type UnbilledWriteOffResult = Answer<typeof unbilledWriteOffResultSchema>;
