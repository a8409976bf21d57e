import { json, type Json, type OpenApiPart, pathItem, ref, requestSchema, responseRef, zodParameter, zodQueryParameters } from '../platform/http/openapi.js';
import { OPS_TAG, opsErrorResponses, opsSecurity } from '../platform/http/ops/openapi.js';
import type { STATEMENT_ACTION_TYPES } from './contract.js';
import {
  listStatementParams,
  runPeriodBody,
  runPeriodResultSchema,
  settlementTypeSchema,
  statementActionBody,
  statementConflictSchema,
  statementDetailSchema,
  statementListSchema,
  statementPathParams,
  statementStateSchema,
  statementStepSchema,
  statementSummaryRowSchema,
  unbilledWriteOffBody,
  unbilledWriteOffConflictSchema,
  unbilledWriteOffResultSchema,
} from './ops-schemas.js';

// Settlement in the OpenAPI document: the statements and the people's steps (internal listener), from the zod
// schemas the routes validate and answer with.

const ACTION_DESCRIPTIONS: Record<(typeof STATEMENT_ACTION_TYPES)[number], string> = {
  RECORD_MARKETPLACE_BILL: "The marketplace's bill (BILL_GENERATED → COUNTERSIGN_PENDING; no merchant bill confirmation since 2024-12-24). A difference to our statement is flagged to ops.",
  RECORD_INVOICE_NOTICE: 'Revenue split only: the invoice notice with its payment-request number (→ INVOICE_NOTICE_RECEIVED); the required VAT special invoices (one per tax rate, remark 申付单号 + 对账期次) are listed and the merchant contacts notified.',
  ISSUE_INVOICE: 'Revenue split only: one required invoice issued and mailed (all issued → INVOICES_ISSUED). An invoice number recorded on another payment request is refused.',
  RECORD_SIGN_FOR: "Revenue split only: Huawei signed for one invoice (all signed for → INVOICES_SIGNED_FOR).",
  RECORD_COUNTERSIGN: 'Countersign done (→ COUNTERSIGNED): for revenue split only once every invoice is issued and signed for; for general goods after the bill.',
  RECORD_PAYMENT: 'Paid (COUNTERSIGNED → PAID): the lines are paid, their payouts posted, their orders told; general goods: the platform-fee invoice request is prepared from the invoice template.',
  WRITE_OFF: "Before PAID: writes off the given unpaid lines (or all of them) with a reason, because their payment will not come. Each line's statement journals are reversed by a WRITE_OFF journal (statement and period still balance), its order workflow is told (a released order completes), and a payment later pays out only the other lines. Every line written off → WRITTEN_OFF and the statement ends. A line already written off, or no unpaid line matching, is refused (409).",
};

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function actionComponents(): Record<string, Json> {
  const components: Record<string, Json> = {};
  for (const option of statementActionBody.options) {
    const type = option.shape.type.value;
    components[`StatementAction${type.split('_').map((w) => pascal(w.toLowerCase())).join('')}`] = requestSchema(option, `${type}: ${ACTION_DESCRIPTIONS[type]}`);
  }
  return components;
}

/** The settlement's part of the document. */
export function settlementOpenApiPart(): OpenApiPart {
  const actions = actionComponents();
  const idParameter = [zodParameter('statementId', 'path', statementPathParams.shape.statementId, 'The statement (settlement-statement-<period>-<type>).')];
  return {
    paths: {
      '/ops/settlement/statements': pathItem('internal', {
        get: {
          tags: [OPS_TAG],
          operationId: 'listStatements',
          summary: 'Monthly settlement statements, newest period first',
          description: 'Newest period first, then settlement type and statement id; keyset pagination with `cursor`. Unknown parameters are refused.',
          security: opsSecurity,
          parameters: zodQueryParameters(listStatementParams, {
            period: 'Only this billing period (YYYY-MM).',
            flagged: "Only statements whose marketplace bill differs from ours (true).",
            limit: 'Page size (default 50).',
            cursor: 'The `nextCursor` of the previous page (opaque).',
          }),
          responses: { '200': { description: 'Statements', content: json(ref('StatementList')) }, ...opsErrorResponses },
        },
      }),
      '/ops/settlement/runs': pathItem('internal', {
        post: {
          tags: [OPS_TAG],
          operationId: 'runSettlementPeriod',
          summary: "Start a period's statements now (catch-up or simulation) instead of waiting for the schedule",
          description: 'Starts one statement per settlement type for the period (each once: an existing one is left as it is) and answers their ids.',
          security: opsSecurity,
          requestBody: { required: true, content: json(requestSchema(runPeriodBody, 'The period, and optionally one instance whose lines alone are billed.')) },
          responses: {
            '200': { description: 'The statements of the period', content: json(ref('SettlementRun')) },
            ...opsErrorResponses,
            '503': { description: 'The run did not finish in time; list the statements and retry.', content: json(ref('OpsError')) },
          },
        },
      }),
      '/ops/settlement/lines/write-off': pathItem('internal', {
        post: {
          tags: [OPS_TAG],
          operationId: 'writeOffUnbilledLines',
          summary: 'Write off lines that no statement holds and none ever will',
          description:
            "For a sale that will never be settled before it reached a statement (a supervision that will not end, a sale the marketplace cancelled): each given line not in a statement becomes WRITTEN_OFF with the reason and the operator, and its order workflow is told (a released order then completes). Such a line has no journal, so nothing is reversed. An eligible line (the next statement would have billed it) is written off too, and there is no undo. A line a statement holds is refused: write it off there (actOnStatement, WRITE_OFF). Idempotent: a repeated call answers the same lines and tells their orders again.",
          security: opsSecurity,
          requestBody: { required: true, content: json(requestSchema(unbilledWriteOffBody, 'The lines and why.')) },
          responses: {
            '200': { description: 'Written off (some lines may be refused, with the reason)', content: json(ref('UnbilledWriteOff')) },
            ...opsErrorResponses,
            '409': { description: 'No line written off: each is unknown or held by a statement (the body lists why, under `refused`).', content: json(ref('UnbilledWriteOffConflict')) },
            '503': { description: 'The lines may be written off but their orders not told; retry.', content: json(ref('OpsError')) },
          },
        },
      }),
      '/ops/settlement/statements/{statementId}': pathItem('internal', {
        get: {
          tags: [OPS_TAG],
          operationId: 'getStatement',
          summary: 'One statement: its row and its (live, when the workflow answers) state',
          security: opsSecurity,
          parameters: idParameter,
          responses: { '200': { description: 'The statement', content: json(ref('StatementDetail')) }, ...opsErrorResponses, '404': responseRef('OpsNoStatement') },
        },
      }),
      '/ops/settlement/statements/{statementId}/actions': pathItem('internal', {
        post: {
          tags: [OPS_TAG],
          operationId: 'actOnStatement',
          summary: "Apply one people's step to a statement",
          description: "The statement workflow's validated update, with the calling operator as its actor: a step out of order is refused with 409 and the reason, and nothing changes. Amounts are fen, rates parts per million.",
          security: opsSecurity,
          parameters: idParameter,
          requestBody: { required: true, content: json(ref('StatementAction')) },
          responses: {
            '200': { description: 'Applied; the state after it', content: json({ type: 'object', required: ['applied', 'state'], properties: { applied: { const: true }, state: ref('StatementState') } }) },
            ...opsErrorResponses,
            '404': responseRef('OpsNoStatement'),
            '409': { description: 'The step does not fit the statement now; nothing changed.', content: json(ref('StatementConflict')) },
            '503': { description: 'The statement workflow did not answer in time; read the statement and retry.', content: json(ref('OpsError')) },
          },
        },
      }),
    },
    schemas: {
      ...actions,
      StatementAction: { type: 'object', description: "One people's step, by `type`.", oneOf: Object.keys(actions).map(ref), discriminator: { propertyName: 'type' } },
    },
    responseSchemas: {
      SettlementType: settlementTypeSchema,
      StatementStep: statementStepSchema,
      StatementState: statementStateSchema,
      StatementRow: statementSummaryRowSchema,
      StatementList: statementListSchema,
      StatementDetail: statementDetailSchema,
      StatementConflict: statementConflictSchema,
      SettlementRun: runPeriodResultSchema,
      UnbilledWriteOff: unbilledWriteOffResultSchema,
      UnbilledWriteOffConflict: unbilledWriteOffConflictSchema,
    },
    responses: { OpsNoStatement: { description: 'No statement with this id.', content: json(ref('OpsError')) } },
  };
}
