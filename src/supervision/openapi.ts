import { BODY_SIGN_HEADER, ResultCode } from '../koogallery/index.js';
import { json, type Json, type OpenApiPart, pathItem, ref, requestSchema, responseRef, zodParameter, zodQueryParameters } from '../platform/http/openapi.js';
import { OPS_TAG, opsErrorResponses, opsSecurity } from '../platform/http/ops/openapi.js';
import { PRODUCTION_INTERFACE_TAG, v2CredentialParameters, v2Security } from '../production-interface/openapi.js';
import type { SupervisionActionType } from './contract.js';
import { ORDER_NOTIFICATION_PATH } from './notification-routes.js';
import {
  listSupervisionParams,
  supervisionActionBody,
  supervisionActionResultSchema,
  supervisionConflictSchema,
  supervisionDetailSchema,
  supervisionEventSchema,
  supervisionKindSchema,
  supervisionLineParams,
  supervisionLineRequiredSchema,
  supervisionListSchema,
  supervisionNodeSchema,
  supervisionOutcomeSchema,
  supervisionPathParams,
  supervisionStateSchema,
  supervisionStatusSchema,
  supervisionSummarySchema,
} from './ops-schemas.js';

// Service supervision in the OpenAPI document: its ops endpoints (internal listener) and the marketplace's order
// notification (public listener). Parameters, action bodies and answers come from the zod schemas the routes use.

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const ACTION_DESCRIPTIONS: Record<SupervisionActionType, string> = {
  CONFIRM_REQUIREMENT: 'Merchant: confirm the submitted requirement (REQUIREMENT_CONFIRMATION → IMPLEMENTATION).',
  REJECT_REQUIREMENT: 'Merchant: reject the submitted requirement with a reason (REQUIREMENT_CONFIRMATION → REQUIREMENT_SUBMISSION).',
  COMPLETE_IMPLEMENTATION: 'Merchant, GENERAL orders: the service is implemented (IMPLEMENTATION → USER_ACCEPTANCE); `actualServiceStartTime` starts a period order\'s validity.',
  RECORD_SHIPMENT: 'Merchant, HARDWARE orders: the hardware is shipped (IMPLEMENTATION → USER_ACCEPTANCE).',
  SUBMIT_REQUIREMENT: 'User side, entered by ops: the requirement was submitted (REQUIREMENT_SUBMISSION → REQUIREMENT_CONFIRMATION).',
  ACCEPT: 'User side, entered by ops: accepted (USER_ACCEPTANCE → COMPLETED).',
  REJECT_ACCEPTANCE: 'User side, entered by ops: acceptance rejected with a reason (USER_ACCEPTANCE → IMPLEMENTATION).',
  SIGN_FOR: "User side, entered by ops, HARDWARE orders: the courier's sign-for at USER_ACCEPTANCE (starts the automatic-acceptance clock unless the phones differ).",
  ACTIVATE_LICENSE: 'User side, entered by ops: the license was activated (→ COMPLETED from any open node).',
  OPEN_APPEAL: 'Either side: an appeal freezes the flow until it is decided (openedBy MERCHANT is the merchant\'s own action).',
  DECIDE_APPEAL: "The marketplace's decision on the open appeal, entered by ops: RESUME the flow, ACCEPT (→ COMPLETED) or CLOSE (→ CLOSED).",
};

const LIST_DESCRIPTIONS: Record<keyof typeof listSupervisionParams.shape, string> = {
  node: 'Only supervisions at this node.',
  status: 'Only supervisions with this status.',
  kind: 'Only GENERAL or only HARDWARE supervisions.',
  orderId: 'Purchase order id.',
  appealOpen: 'Only supervisions with (true) or without (false) an open appeal.',
  unacceptedForDays:
    'Only supervisions still PROCESSING that started more than this many days ago (e.g. 180: the ones the reminders are about). With `status` other than PROCESSING it is refused (400).',
  limit: 'Page size (default 50).',
  cursor: 'The `nextCursor` of the previous page (opaque).',
};

/** One component per supervision action, named SupervisionAction<Type> (CONFIRM_REQUIREMENT → ConfirmRequirement). */
function actionComponents(): Record<string, Json> {
  const components: Record<string, Json> = {};
  for (const option of supervisionActionBody.options) {
    const type = option.shape.type.value;
    const name = `SupervisionAction${type.split('_').map((w) => pascal(w.toLowerCase())).join('')}`;
    components[name] = requestSchema(option, `${type}: ${ACTION_DESCRIPTIONS[type]}`);
  }
  return components;
}

/** An id in an order notification: printable ASCII up to 64 characters (surrounding spaces trimmed), or an integer. */
function notificationId(description: string): Json {
  return {
    description,
    oneOf: [
      { type: 'string', pattern: '^\\s*[\\x21-\\x7e]{1,64}\\s*$' },
      { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
    ],
  };
}

/** The supervision's part of the document. */
export function supervisionOpenApiPart(): OpenApiPart {
  const actions = actionComponents();
  const parameters = [
    zodParameter('orderId', 'path', supervisionPathParams.shape.orderId, 'Purchase order id.'),
    zodParameter('orderLineId', 'query', supervisionLineParams.shape.orderLineId, 'The order line; needed when the order has several supervised lines.'),
  ];
  return {
    paths: {
      '/ops/supervision': pathItem('internal', {
        get: {
          tags: [OPS_TAG],
          operationId: 'listSupervisions',
          summary: 'Search supervised orders (service supervision)',
          description: 'Oldest start first (the longest-waiting orders are the ones to chase); keyset pagination by (startedAt, workflowId) with `cursor`. Unknown parameters are refused.',
          security: opsSecurity,
          parameters: zodQueryParameters(listSupervisionParams, LIST_DESCRIPTIONS),
          responses: { '200': { description: 'One page of supervisions', content: json(ref('SupervisionList')) }, ...opsErrorResponses },
        },
      }),
      '/ops/supervision/{orderId}': pathItem('internal', {
        get: {
          tags: [OPS_TAG],
          operationId: 'getSupervision',
          summary: "One order line's supervision: the read-model row, the live state and its transitions (with who entered each action)",
          security: opsSecurity,
          parameters,
          responses: {
            '200': { description: 'The supervision', content: json(ref('SupervisionDetail')) },
            ...opsErrorResponses,
            '400': responseRef('SupervisionInvalidRequest'),
            '404': responseRef('OpsNoSupervision'),
          },
        },
      }),
      '/ops/supervision/{orderId}/actions': pathItem('internal', {
        post: {
          tags: [OPS_TAG],
          operationId: 'actOnSupervision',
          summary: "Apply one action to an order line's supervision (the merchant's own, or another side's entered by ops)",
          description:
            "Applied by the supervision workflow's validated update, which carries the calling operator's name as its `actor` (recorded in the event timeline): an action that does not fit the current node is refused with 409 and changes nothing. Unknown query parameters and body fields are refused.",
          security: opsSecurity,
          parameters,
          requestBody: { required: true, content: json(ref('SupervisionAction')) },
          responses: {
            '200': { description: 'Applied (or an eventId applied before: `applied` false); the state after it', content: json(ref('SupervisionActionResult')) },
            ...opsErrorResponses,
            '400': responseRef('SupervisionInvalidRequest'),
            '404': responseRef('OpsNoSupervision'),
            '409': responseRef('OpsConflict'),
            '503': responseRef('OpsUnavailable'),
          },
        },
      }),
      [ORDER_NOTIFICATION_PATH]: pathItem('public', {
        post: {
          tags: [PRODUCTION_INTERFACE_TAG],
          operationId: 'orderNotification',
          summary: "Order notification: an order's data changed (POST, JSON body, signed like V2)",
          description:
            "The marketplace names an order; we read it with Query Order and apply its service-supervision events (requirement submitted, sign-for, acceptance, rejection, license activation, appeals) to the order line's supervision. A repeated notification is harmless: each event is applied once. A nonce is accepted once within the signature window.",
          security: v2Security,
          parameters: v2CredentialParameters,
          requestBody: { required: true, content: json(ref('OrderNotification')) },
          responses: { '200': responseRef('NotificationAnswer') },
        },
      }),
    },
    schemas: {
      ...actions,
      SupervisionAction: {
        type: 'object',
        description:
          "One action, by `type`. Who performed it is set by the server: the side (MERCHANT for the merchant's own actions, OPS for another side's entered by ops) and the operator (the name of the bearer token's operator). Text fields are trimmed, and a blank required one is refused. An `eventId` already applied is answered with `applied: false` and the state as it is, so a retry with the same eventId is safe.",
        oneOf: Object.keys(actions).map(ref),
        discriminator: { propertyName: 'type' },
      },
      OrderNotification: {
        type: 'object',
        description:
          'Read tolerantly (the marketplace documents only that it POSTs the orderId): `orderId` (string or integer) at the top level, or else inside `orderInfo` or `data`; `orderLineId` from the same place, optional (without it every line of the order is considered); `testFlag` recorded when present; every other field is ignored. The order itself, with its supervision events, is then read with Query Order.',
        anyOf: [
          ref('NotificationOrderRef'),
          { required: ['orderInfo'], properties: { orderInfo: ref('NotificationOrderRef') } },
          { required: ['data'], properties: { data: ref('NotificationOrderRef') } },
        ],
        properties: { testFlag: { description: "'1' or 1: a marketplace test order; '0' or 0: not. Any other value is ignored." } },
      },
      NotificationOrderRef: {
        type: 'object',
        description: 'Printable ASCII ids up to 64 characters (surrounding spaces trimmed), or integers.',
        required: ['orderId'],
        properties: { orderId: notificationId('Purchase order id.'), orderLineId: notificationId('Order line id.') },
      },
      NotificationAnswer: {
        type: 'object',
        description: `The order notification's answer: ${ResultCode.Success} once every supervision event was handed over (events the supervision refuses are logged, not retried), ${ResultCode.AuthFailed} for a bad signature or a replayed nonce, ${ResultCode.InvalidParameter} for an unreadable body or an order Query Order does not know, ${ResultCode.InternalError} (retry) when Query Order or Temporal failed.`,
        required: ['resultCode', 'resultMsg'],
        additionalProperties: false,
        properties: {
          resultCode: { type: 'string', enum: [ResultCode.Success, ResultCode.AuthFailed, ResultCode.InvalidParameter, ResultCode.InternalError] },
          resultMsg: { type: 'string' },
        },
      },
    },
    responseSchemas: {
      SupervisionKind: supervisionKindSchema,
      SupervisionNode: supervisionNodeSchema,
      SupervisionStatus: supervisionStatusSchema,
      SupervisionOutcome: supervisionOutcomeSchema,
      SupervisionState: supervisionStateSchema,
      SupervisionSummary: supervisionSummarySchema,
      SupervisionList: supervisionListSchema,
      SupervisionEvent: supervisionEventSchema,
      SupervisionDetail: supervisionDetailSchema,
      SupervisionActionResult: supervisionActionResultSchema,
      SupervisionConflict: supervisionConflictSchema,
      SupervisionLineRequired: supervisionLineRequiredSchema,
    },
    responses: {
      NotificationAnswer: {
        description: 'The answer (HTTP 200 whatever the outcome; the result code tells).',
        headers: { [BODY_SIGN_HEADER]: { $ref: '#/components/headers/BodySign' } },
        content: json(ref('NotificationAnswer')),
      },
      OpsNoSupervision: {
        description: 'No supervised order (line) with this id: unknown, not a supervised product, or its supervision not started yet.',
        content: json(ref('OpsError')),
      },
      SupervisionInvalidRequest: {
        description: 'A parameter or the body is invalid or unknown (the message names it), or the order has several supervised lines and no `orderLineId`.',
        content: json({ oneOf: [ref('OpsError'), ref('SupervisionLineRequired')] }),
      },
      OpsConflict: { description: 'The action does not fit the supervision now; nothing changed.', content: json(ref('SupervisionConflict')) },
      OpsUnavailable: {
        description:
          'The supervision workflow did not answer in time (Temporal or its worker unavailable); the action may or may not have been applied. Retry it (with an eventId, a retry is applied once).',
        content: json(ref('OpsError')),
      },
    },
  };
}
