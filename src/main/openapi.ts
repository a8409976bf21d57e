import { z } from 'zod';
import { APP_INFO_LIMITS, BODY_SIGN_HEADER, ResultCode, V1_ACTIVITIES, V2_ACTIVITIES, defaultResultMessage, v1RequestSchemas, v2RequestSchemas } from '../koogallery/index.js';
import { DRIFT_KINDS } from '../reconciliation/contract.js';
import type { SupervisionActionType } from '../supervision/contract.js';
import { ORDER_NOTIFICATION_PATH } from '../supervision/notification-routes.js';
import { OpsErrorCode } from '../ops-api/errors.js';
import { ORDER_PHASES, PAGE_LIMIT, listSupervisionParams, supervisionActionBody, supervisionLineParams, supervisionPathParams } from '../ops-api/params.js';
import { supervisionKindSchema, supervisionNodeSchema, supervisionOutcomeSchema, supervisionStateSchema, supervisionStatusSchema } from '../supervision/openapi-schemas.js';

// The service's OpenAPI 3.1 document, served at GET /openapi.json. Request schemas of the production interface and
// of the supervision actions, and the supervision endpoints' parameters, are generated from the zod schemas that
// validate them (src/koogallery/requests.ts, src/api/ops/params.ts), so the document cannot drift from what the code
// accepts; response schemas are written here (the supervision state in ./supervision-state.ts, type-checked against
// SupervisionState) and checked against real answers by test/integration/ops/openapi.test.ts.

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string): Json => ({ $ref: `#/components/responses/${name}` });
const json = (schema: Json): Json => ({ 'application/json': { schema } });
const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** JSON Schema of a zod schema's input or output side, without the `$schema` header. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  return rest;
}

/** JSON Schema of what a zod request schema accepts (its input side). */
function requestSchema(schema: z.ZodType, description: string): Json {
  const rest = jsonSchemaOf(schema, 'input');
  const properties = rest['properties'] as Record<string, Json> | undefined;
  // The refinements zod cannot express: compact UTC times.
  for (const name of ['expireTime'] as const) {
    const p = properties?.[name];
    if (p) properties![name] = { ...p, pattern: '^\\d{14}(\\d{3})?$', description: 'UTC time yyyyMMddHHmmss (17 digits with milliseconds accepted)' };
  }
  return { ...rest, description };
}

/** JSON Schema of what a zod response schema describes (its output side). */
function responseSchema(schema: z.ZodType, description: string): Json {
  return { ...jsonSchemaOf(schema, 'output'), description };
}

/** A query or path parameter documented from the zod schema that validates it (its input side: a string). */
function zodParameter(name: string, where: 'query' | 'path', schema: z.ZodType, description: string): Json {
  return { name, in: where, required: !schema.safeParse(undefined).success, description, schema: jsonSchemaOf(schema, 'input') };
}

const RESULT_CODE_TABLE = Object.values(ResultCode)
  .map((c) => `- \`${c}\`: ${defaultResultMessage(c)}`)
  .join('\n');

const V1_DESCRIPTIONS: Record<(typeof V1_ACTIVITIES)[number], string> = {
  newInstance:
    "Purchase: create the instance (inline order details; mobilePhone/email AES-encrypted, passed to the provisioner for the tenant's admin account); answers instanceId and encrypted appInfo, or 000101/000102 when the buyer's mobile number / e-mail is refused.",
  refreshInstance: 'Renewal, renewal refund (negative orderAmount) or trial conversion (trialToFormal=1).',
  expireInstance: 'Expiry: freeze the instance (data kept).',
  releaseInstance: 'Release: delete the instance; releasing a released instance succeeds.',
  upgrade: 'Paid spec change, inline.',
  instanceStatus: 'Freeze (FREEZE) or resume (NORMAL) for arrears.',
  queryInstance: 'Instance readiness and appInfo for a comma-separated instanceId list.',
};

const V2_DESCRIPTIONS: Record<(typeof V2_ACTIVITIES)[number], string> = {
  newInstance: 'Purchase: the order is pulled with Query Order; answers 000000 with the instanceId, or 000004 while provisioning.',
  queryInstance: 'Instance readiness and appInfo (polled after a 000004).',
  refreshInstance: 'Renewal, renewal refund, trial conversion or renewal with change (scene).',
  updateInstanceStatus: 'Freeze or unfreeze.',
  releaseInstance: 'Release: delete the instance.',
  upgradeInstance: 'Paid spec change; the change order is pulled with Query Order.',
  changeInstanceCheck: 'May this instance be renewed with a change?',
};

const SUPERVISION_ACTION_DESCRIPTIONS: Record<SupervisionActionType, string> = {
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

const SUPERVISION_LIST_DESCRIPTIONS: Record<Exclude<keyof typeof listSupervisionParams.shape, 'limit' | 'cursor'>, string> = {
  node: 'Only supervisions at this node.',
  status: 'Only supervisions with this status.',
  kind: 'Only GENERAL or only HARDWARE supervisions.',
  orderId: 'Purchase order id.',
  appealOpen: 'Only supervisions with (true) or without (false) an open appeal.',
  unacceptedForDays:
    'Only supervisions still PROCESSING that started more than this many days ago (e.g. 180: the ones the reminders are about). With `status` other than PROCESSING it is refused (400).',
};

/** One component per supervision action, named SupervisionAction<Type> (CONFIRM_REQUIREMENT → ConfirmRequirement). */
function supervisionActionComponents() {
  const components: Record<string, Json> = {};
  for (const option of supervisionActionBody.options) {
    const type = option.shape.type.value;
    const name = `SupervisionAction${type.split('_').map((w) => pascal(w.toLowerCase())).join('')}`;
    components[name] = requestSchema(option, `${type}: ${SUPERVISION_ACTION_DESCRIPTIONS[type]}`);
  }
  return components;
}

function activityComponents(prefix: 'V1' | 'V2', activities: readonly string[], schemas: Record<string, z.ZodType>, descriptions: Record<string, string>) {
  const components: Record<string, Json> = {};
  for (const a of activities) components[`${prefix}${pascal(a)}${prefix === 'V1' ? 'Query' : 'Request'}`] = requestSchema(schemas[a]!, `${a}: ${descriptions[a]!}`);
  return components;
}

const timestamp = { type: 'string', format: 'date-time' };
const nullable = (schema: Json): Json => ({ oneOf: [schema, { type: 'null' }] });
const nullableString = { type: ['string', 'null'] };

const opsErrorResponses = {
  '400': responseRef('OpsInvalidRequest'),
  '401': responseRef('OpsUnauthorized'),
  '500': responseRef('OpsInternal'),
};

const opsText = (name: string, description: string): Json => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type: 'string', minLength: 1, maxLength: 128 },
});
const opsLimit: Json = {
  name: 'limit',
  in: 'query',
  required: false,
  description: `Page size (default ${PAGE_LIMIT.default}).`,
  schema: { type: 'integer', minimum: 1, maximum: PAGE_LIMIT.max, default: PAGE_LIMIT.default },
};
const opsCursor: Json = {
  name: 'cursor',
  in: 'query',
  required: false,
  description: 'The `nextCursor` of the previous page (opaque).',
  schema: { type: 'string' },
};

/** The OpenAPI 3.1 document of every endpoint the app serves. */
export function buildOpenApiDocument(): Json {
  const v1 = activityComponents('V1', V1_ACTIVITIES, v1RequestSchemas, V1_DESCRIPTIONS);
  const v2 = activityComponents('V2', V2_ACTIVITIES, v2RequestSchemas, V2_DESCRIPTIONS);
  const v1Names = Object.keys(v1);
  const v2Names = Object.keys(v2);
  const actions = supervisionActionComponents();

  const schemas: Record<string, Json> = {
    ResultCode: {
      type: 'string',
      enum: Object.values(ResultCode),
      description: `Marketplace result code, always answered with HTTP 200:\n${RESULT_CODE_TABLE}`,
    },
    AppInfo: {
      type: 'object',
      description: 'How the buyer reaches the instance. userName and password are AES-encrypted with the access key (encryptType).',
      required: ['frontEndUrl'],
      additionalProperties: false,
      properties: {
        frontEndUrl: { type: 'string', maxLength: APP_INFO_LIMITS.frontEndUrl },
        adminUrl: { type: 'string', maxLength: APP_INFO_LIMITS.adminUrl },
        userName: { type: 'string', maxLength: APP_INFO_LIMITS.userName, description: 'Encrypted (IV + Base64 of AES); the limit counts the encrypted form.' },
        password: { type: 'string', maxLength: APP_INFO_LIMITS.password, description: 'Encrypted (IV + Base64 of AES); the limit counts the encrypted form.' },
        memo: { type: 'string', maxLength: APP_INFO_LIMITS.memo, description: 'Non-ASCII sent as \\uXXXX escapes; the limit counts them escaped.' },
      },
    },
    InstanceInfo: {
      type: 'object',
      required: ['instanceId'],
      additionalProperties: false,
      properties: { instanceId: { type: 'string' }, appInfo: ref('AppInfo'), usage: {} },
    },
    SaasAnswer: {
      type: 'object',
      description:
        'Every production-interface answer, refusals included: resultCode and resultMsg; newInstance adds instanceId (and, in V1, encryptType and appInfo); queryInstance adds encryptType and info once an instance is ready. Non-ASCII characters are sent as \\uXXXX escapes.',
      required: ['resultCode', 'resultMsg'],
      additionalProperties: false,
      properties: {
        resultCode: ref('ResultCode'),
        resultMsg: { type: 'string' },
        instanceId: { type: 'string', maxLength: 64 },
        encryptType: { type: 'string', enum: ['1', '2'], description: '1: AES-256-CBC; 2: AES-128-CBC.' },
        appInfo: ref('AppInfo'),
        info: { type: 'array', minItems: 1, items: ref('InstanceInfo') },
      },
    },
    ...v1,
    V1Request: {
      type: 'object',
      description: 'V1 query parameters, by activity (all values are strings).',
      oneOf: v1Names.map(ref),
      discriminator: { propertyName: 'activity' },
    },
    ...v2,
    V2Request: {
      type: 'object',
      description: 'V2 JSON body, by activity.',
      oneOf: v2Names.map(ref),
      discriminator: { propertyName: 'activity' },
    },
    Health: { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { const: 'ok' } } },
    Readiness: {
      type: 'object',
      required: ['status', 'checks'],
      additionalProperties: false,
      properties: {
        status: { type: 'string', enum: ['ready', 'not ready'] },
        checks: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'ok'],
            additionalProperties: false,
            properties: { name: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' } },
          },
        },
      },
    },
    OpsError: {
      type: 'object',
      required: ['error', 'message'],
      additionalProperties: false,
      properties: { error: { type: 'string', enum: Object.values(OpsErrorCode) }, message: { type: 'string' } },
    },
    OrderPhase: { type: 'string', enum: [...ORDER_PHASES] },
    OrderSummary: {
      type: 'object',
      description: 'One instance of the read model. Credentials are never part of it.',
      required: ['instanceId', 'workflowId', 'interfaceVersion', 'orderId', 'phase', 'trial', 'testOrder', 'seq', 'createdAt', 'updatedAt'],
      additionalProperties: false,
      properties: orderSummaryProperties(),
    },
    OrderDetail: {
      type: 'object',
      description: 'The instance with its access URLs; sealed credentials are only reported as stored or not.',
      required: ['instanceId', 'workflowId', 'interfaceVersion', 'orderId', 'phase', 'trial', 'testOrder', 'seq', 'createdAt', 'updatedAt', 'spec', 'credentialsStored'],
      additionalProperties: false,
      properties: {
        ...orderSummaryProperties(),
        spec: { type: 'object' },
        frontEndUrl: nullableString,
        adminUrl: nullableString,
        memo: nullableString,
        credentialsStored: { type: 'boolean' },
      },
    },
    OrderList: {
      type: 'object',
      required: ['items', 'nextCursor'],
      additionalProperties: false,
      properties: { items: { type: 'array', items: ref('OrderSummary') }, nextCursor: nullableString },
    },
    TimelineTransition: {
      type: 'object',
      required: ['seq', 'phase', 'event', 'detail', 'at'],
      additionalProperties: false,
      properties: { seq: { type: 'integer' }, phase: { type: 'string' }, event: { type: 'string' }, detail: { type: 'object' }, at: timestamp },
    },
    MarketplaceCall: {
      type: 'object',
      description: 'A marketplace call we answered (or refused). The request body is never stored, only its hash.',
      required: ['id', 'receivedAt', 'resultCode', 'httpStatus', 'latencyMs'],
      additionalProperties: false,
      properties: {
        id: { type: 'integer' },
        receivedAt: timestamp,
        interfaceVersion: { type: ['string', 'null'], enum: ['V1', 'V2', null] },
        activity: nullableString,
        businessId: nullableString,
        orderId: nullableString,
        orderLineId: nullableString,
        instanceId: nullableString,
        testFlag: { type: ['boolean', 'null'] },
        resultCode: { type: 'string' },
        httpStatus: { type: 'integer' },
        latencyMs: { type: 'integer' },
        refusal: nullableString,
      },
    },
    OrderState: {
      type: 'object',
      description: "The order workflow's state (getOrderQuery while open; the workflow's result once completed).",
      required: ['instanceId', 'phase', 'seq'],
      properties: {
        instanceId: { type: 'string' },
        key: { type: 'object' },
        interfaceVersion: { type: 'string', enum: ['V1', 'V2'] },
        testOrder: { type: 'boolean' },
        phase: ref('OrderPhase'),
        details: { type: 'object' },
        freezeReasons: { type: 'array', items: { type: 'string' } },
        appliedOrderIds: { type: 'array', items: { type: 'string' } },
        seq: { type: 'integer' },
        failureCode: { type: 'string' },
        failureReason: { type: 'string' },
        frontEndUrl: { type: 'string' },
      },
    },
    WorkflowSection: {
      description: 'The order workflow as Temporal sees it now, or why it cannot be read (not found, no worker, timeout).',
      oneOf: [
        {
          type: 'object',
          required: ['workflowId', 'available', 'open', 'status', 'state'],
          additionalProperties: false,
          properties: { workflowId: { type: 'string' }, available: { const: true }, open: { type: 'boolean' }, status: { type: 'string' }, state: ref('OrderState') },
        },
        {
          type: 'object',
          required: ['workflowId', 'available', 'reason'],
          additionalProperties: false,
          properties: { workflowId: { type: 'string' }, available: { const: false }, status: { type: 'string' }, reason: { type: 'string' } },
        },
      ],
    },
    DriftKind: { type: 'string', enum: [...DRIFT_KINDS] },
    DriftFinding: {
      type: 'object',
      required: ['instanceId', 'kind', 'workflowId', 'orderId', 'details', 'firstSeenAt', 'lastSeenAt', 'resolvedAt'],
      additionalProperties: false,
      properties: {
        instanceId: { type: 'string' },
        kind: ref('DriftKind'),
        workflowId: { type: 'string' },
        orderId: { type: 'string' },
        details: { type: 'object', description: 'What each side said: readModelPhase/readModelSeq, workflowPhase/workflowSeq/workflowStatus, marketplace.' },
        firstSeenAt: timestamp,
        lastSeenAt: timestamp,
        resolvedAt: nullable(timestamp),
      },
    },
    OrderStory: {
      type: 'object',
      required: ['instance', 'timeline', 'workflow', 'drift', 'supervision'],
      additionalProperties: false,
      properties: {
        instance: ref('OrderDetail'),
        timeline: {
          type: 'object',
          required: ['transitions', 'marketplaceCalls'],
          additionalProperties: false,
          properties: { transitions: { type: 'array', items: ref('TimelineTransition') }, marketplaceCalls: { type: 'array', items: ref('MarketplaceCall') } },
        },
        workflow: ref('WorkflowSection'),
        drift: { type: 'array', items: ref('DriftFinding'), description: 'Open reconciliation findings of this instance.' },
        supervision: { ...nullable(ref('SupervisionSummary')), description: 'For a supervised order: where its supervision stands; null otherwise.' },
      },
    },
    ReconciliationRun: {
      type: 'object',
      required: ['runKey', 'startedAt', 'finishedAt', 'complete', 'checked', 'unchecked', 'newFindings', 'resolvedFindings', 'openFindings'],
      additionalProperties: false,
      properties: {
        runKey: { type: 'string' },
        startedAt: timestamp,
        finishedAt: nullable(timestamp),
        complete: { type: 'boolean' },
        checked: { type: 'integer' },
        unchecked: { type: 'integer' },
        newFindings: { type: 'integer' },
        resolvedFindings: { type: 'integer' },
        openFindings: { type: 'integer' },
      },
    },
    DriftList: {
      type: 'object',
      required: ['findings', 'lastRun', 'nextCursor'],
      additionalProperties: false,
      properties: {
        findings: { type: 'array', items: ref('DriftFinding') },
        lastRun: { oneOf: [ref('ReconciliationRun'), { type: 'null' }] },
        nextCursor: nullableString,
      },
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
    SupervisionKind: responseSchema(supervisionKindSchema, 'GENERAL: requirement → confirmation → implementation → acceptance. HARDWARE: starts at implementation (shipment).'),
    SupervisionNode: responseSchema(supervisionNodeSchema, 'Where the supervision stands, in flow order; COMPLETED and CLOSED are final.'),
    SupervisionStatus: responseSchema(supervisionStatusSchema, 'What the marketplace shows: PROCESSING until acceptance, then COMPLETED; or CLOSED.'),
    SupervisionOutcome: responseSchema(supervisionOutcomeSchema, 'How a supervision ended.'),
    SupervisionState: responseSchema(supervisionStateSchema, "The supervision workflow's state (the live getSupervision query, or the state last written to the read model)."),
    SupervisionSummary: {
      type: 'object',
      description: 'One supervised order line in the supervision read model.',
      required: [
        'workflowId', 'orderWorkflowId', 'instanceId', 'orderId', 'orderLineId', 'customerId', 'productId', 'kind', 'node', 'status', 'appealOpen',
        'testOrder', 'startedAt', 'acceptedAt', 'outcome', 'validity', 'remindersSent', 'lastReminderAt', 'updatedAt',
      ],
      additionalProperties: false,
      properties: {
        workflowId: { type: 'string', description: 'The supervision workflow (supervision-<order workflow id>).' },
        orderWorkflowId: { type: 'string' },
        instanceId: { type: 'string' },
        orderId: { type: 'string' },
        orderLineId: nullableString,
        customerId: nullableString,
        productId: nullableString,
        kind: ref('SupervisionKind'),
        node: ref('SupervisionNode'),
        status: ref('SupervisionStatus'),
        appealOpen: { type: 'boolean' },
        testOrder: { type: 'boolean' },
        startedAt: timestamp,
        acceptedAt: nullable(timestamp),
        outcome: nullable(ref('SupervisionOutcome')),
        validity: nullable({ type: 'object', required: ['start', 'end'], additionalProperties: false, properties: { start: timestamp, end: timestamp } }),
        remindersSent: { type: 'integer', minimum: 0 },
        lastReminderAt: nullable(timestamp),
        updatedAt: timestamp,
      },
    },
    SupervisionList: {
      type: 'object',
      required: ['items', 'nextCursor'],
      additionalProperties: false,
      properties: { items: { type: 'array', items: ref('SupervisionSummary') }, nextCursor: nullableString },
    },
    SupervisionEvent: {
      type: 'object',
      required: ['seq', 'node', 'event', 'detail', 'at'],
      additionalProperties: false,
      properties: {
        seq: { type: 'integer' },
        node: ref('SupervisionNode'),
        event: { type: 'string', description: 'SUPERVISION_STARTED, or the action type that made the transition.' },
        detail: { type: 'object', description: 'status, and the appeal and outcome when there are.' },
        at: timestamp,
      },
    },
    SupervisionDetail: {
      type: 'object',
      description:
        'One supervision. `state` is the live workflow state when the workflow answered (`live` true), else the state last written to the read model; `supervision` is null while a just-started supervision has written nothing yet (its state is then the live one).',
      required: ['workflowId', 'supervision', 'state', 'live', 'events'],
      additionalProperties: false,
      properties: {
        workflowId: { type: 'string' },
        supervision: nullable(ref('SupervisionSummary')),
        state: ref('SupervisionState'),
        live: { type: 'boolean' },
        events: { type: 'array', items: ref('SupervisionEvent'), description: 'The transitions, oldest first.' },
      },
    },
    ...actions,
    SupervisionAction: {
      type: 'object',
      description: 'One action, by `type`. Who performed it is set by the server (MERCHANT for the merchant\'s own actions, OPS for another side\'s entered by ops). Text fields are trimmed, and a blank required one is refused. An `eventId` already applied is answered with `applied: false` and the state as it is, so a retry with the same eventId is safe.',
      oneOf: Object.keys(actions).map(ref),
      discriminator: { propertyName: 'type' },
    },
    SupervisionActionResult: {
      type: 'object',
      required: ['applied', 'workflowId', 'state'],
      additionalProperties: false,
      properties: {
        applied: { type: 'boolean', description: 'false when the eventId had been applied before (nothing changed).' },
        workflowId: { type: 'string' },
        state: ref('SupervisionState'),
      },
    },
    SupervisionConflict: {
      type: 'object',
      description: 'The action does not fit the supervision now; nothing changed. `node` and `status` are its unchanged state when it could be read.',
      required: ['error', 'message', 'workflowId'],
      additionalProperties: false,
      properties: {
        error: { const: OpsErrorCode.Conflict },
        message: { type: 'string', description: 'Why: the current node and what it waits for, a frozen appeal, or an ended supervision.' },
        workflowId: { type: 'string' },
        node: ref('SupervisionNode'),
        status: ref('SupervisionStatus'),
      },
    },
    SupervisionLineRequired: {
      type: 'object',
      description: 'The order has several supervised lines: name one with `orderLineId`.',
      required: ['error', 'message', 'orderLineIds'],
      additionalProperties: false,
      properties: { error: { const: OpsErrorCode.InvalidRequest }, message: { type: 'string' }, orderLineIds: { type: 'array', items: { type: 'string' } } },
    },
  };

  const saasAnswer = responseRef('SaasAnswer');
  const supervisionParameters = [
    zodParameter('orderId', 'path', supervisionPathParams.shape.orderId, 'Purchase order id.'),
    zodParameter('orderLineId', 'query', supervisionLineParams.shape.orderLineId, 'The order line; needed when the order has several supervised lines.'),
  ];
  const v2CredentialParams = ['signature', 'timestamp', 'nonce'].map((name) => ({
    name,
    in: 'query',
    required: false,
    description: `V2 ${name} (or the x-${name === 'signature' ? 'sign' : name} header). See the v2Signature security scheme.`,
    schema: { type: 'string', maxLength: 128 },
  }));
  const v2CredentialHeaders = ['x-sign', 'x-timestamp', 'x-nonce'].map((name) => ({
    name,
    in: 'header',
    required: false,
    description: 'Joint-operation variant of the signature/timestamp/nonce query parameters.',
    schema: { type: 'string', maxLength: 128 },
  }));

  return {
    openapi: '3.1.0',
    info: {
      title: 'KooGallery order orchestration',
      version: '1.0.0',
      summary: 'The SaaS production interface KooGallery calls, health and metrics, and the merchant operations API.',
      description:
        'Every production-interface answer is HTTP 200 JSON with a `Body-Sign` header (HMAC-SHA256 with the access key over the exact body bytes) and a marketplace result code; HTTP statuses other than 200 are never used there. The operations API under /ops needs `Authorization: Bearer <OPS_API_TOKEN>`.',
    },
    servers: [{ url: '/', description: 'This service' }],
    tags: [
      {
        name: 'production interface',
        description: `Called by KooGallery: the SaaS production interface (V1 and V2) and the order notification. Any other method on /koogallery/saas or ${ORDER_NOTIFICATION_PATH} is answered like bad input: HTTP 200, Body-Signed, resultCode 000002.`,
      },
      { name: 'operations', description: 'Merchant operations API.' },
      { name: 'platform', description: 'Health, readiness, metrics, this document.' },
    ],
    paths: {
      '/koogallery/saas': {
        get: {
          tags: ['production interface'],
          operationId: 'saasV1',
          summary: 'Production interface V1 (GET, every parameter in the query string)',
          description: `One URL for every activity, chosen by the \`activity\` parameter:\n${V1_ACTIVITIES.map((a) => `- \`${a}\`: ${V1_DESCRIPTIONS[a]}`).join('\n')}`,
          security: [{ v1AuthToken: [] }],
          parameters: [
            {
              name: 'request',
              in: 'query',
              required: true,
              style: 'form',
              explode: true,
              description: 'The activity\'s parameters, each a query parameter of its own (form style, exploded).',
              schema: ref('V1Request'),
            },
          ],
          responses: { '200': saasAnswer },
        },
        post: {
          tags: ['production interface'],
          operationId: 'saasV2',
          summary: 'Production interface V2 (POST, JSON body, signed)',
          description: `One URL for every activity, chosen by the body's \`activity\`:\n${V2_ACTIVITIES.map((a) => `- \`${a}\`: ${V2_DESCRIPTIONS[a]}`).join('\n')}\n\nA nonce is accepted once within the signature window.`,
          security: [{ v2Signature: [] }, { v2SignatureHeader: [] }],
          parameters: [...v2CredentialParams, ...v2CredentialHeaders],
          requestBody: { required: true, content: json(ref('V2Request')) },
          responses: { '200': saasAnswer },
        },
      },
      [ORDER_NOTIFICATION_PATH]: {
        post: {
          tags: ['production interface'],
          operationId: 'orderNotification',
          summary: "Order notification: an order's data changed (POST, JSON body, signed like V2)",
          description:
            "The marketplace names an order; we read it with Query Order and apply its service-supervision events (requirement submitted, sign-for, acceptance, rejection, license activation, appeals) to the order line's supervision. A repeated notification is harmless: each event is applied once. A nonce is accepted once within the signature window.",
          security: [{ v2Signature: [] }, { v2SignatureHeader: [] }],
          parameters: [...v2CredentialParams, ...v2CredentialHeaders],
          requestBody: { required: true, content: json(ref('OrderNotification')) },
          responses: { '200': responseRef('NotificationAnswer') },
        },
      },
      '/healthz': {
        get: {
          tags: ['platform'],
          operationId: 'health',
          summary: 'Liveness: the process answers',
          security: [],
          responses: { '200': { description: 'Alive', content: json(ref('Health')) } },
        },
      },
      '/readyz': {
        get: {
          tags: ['platform'],
          operationId: 'readiness',
          summary: 'Readiness: PostgreSQL, migrations and Temporal reachable',
          security: [],
          responses: {
            '200': { description: 'Ready', content: json(ref('Readiness')) },
            '503': { description: 'Not ready; `checks` says why', content: json(ref('Readiness')) },
          },
        },
      },
      '/metrics': {
        get: {
          tags: ['platform'],
          operationId: 'metrics',
          summary: 'Prometheus metrics of the API (see docs/metrics.md)',
          security: [],
          responses: {
            '200': { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
      '/openapi.json': {
        get: {
          tags: ['platform'],
          operationId: 'openApiDocument',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1 document', content: json({ type: 'object', required: ['openapi', 'paths'], properties: { openapi: { const: '3.1.0' }, paths: { type: 'object' } } }) } },
        },
      },
      '/ops/orders': {
        get: {
          tags: ['operations'],
          operationId: 'listOrders',
          summary: 'Search instances in the read model',
          description: 'Newest change first; keyset pagination by (updatedAt, instanceId) with `cursor`. Unknown parameters are refused.',
          security: [{ opsBearer: [] }],
          parameters: [
            opsText('orderId', 'Purchase order id.'),
            opsText('customerId', "Buyer's Huawei Cloud account id."),
            opsText('productId', 'Product id.'),
            { name: 'phase', in: 'query', required: false, schema: ref('OrderPhase') },
            { name: 'testOrder', in: 'query', required: false, description: 'Only (true) or no (false) marketplace test orders.', schema: { type: 'string', enum: ['true', 'false', '1', '0'] } },
            opsLimit,
            opsCursor,
          ],
          responses: { '200': { description: 'One page of instances', content: json(ref('OrderList')) }, ...opsErrorResponses },
        },
      },
      '/ops/orders/{instanceId}': {
        get: {
          tags: ['operations'],
          operationId: 'getOrder',
          summary: "One order's story: the instance, its transitions, the marketplace's calls, the live workflow state",
          security: [{ opsBearer: [] }],
          parameters: [{ name: 'instanceId', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 128 } }],
          responses: {
            '200': { description: 'The order', content: json(ref('OrderStory')) },
            '404': responseRef('OpsNotFound'),
            ...opsErrorResponses,
          },
        },
      },
      '/ops/drift': {
        get: {
          tags: ['operations'],
          operationId: 'listDrift',
          summary: 'Reconciliation findings: where the read model and the order workflows disagree',
          description: 'Ordered by (instanceId, kind); `lastRun` is the most recent reconciliation run.',
          security: [{ opsBearer: [] }],
          parameters: [
            { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: ['open', 'resolved', 'all'], default: 'open' } },
            { name: 'kind', in: 'query', required: false, schema: ref('DriftKind') },
            opsText('instanceId', 'Only this instance.'),
            opsLimit,
            opsCursor,
          ],
          responses: { '200': { description: 'One page of findings', content: json(ref('DriftList')) }, ...opsErrorResponses },
        },
      },
      '/ops/supervision': {
        get: {
          tags: ['operations'],
          operationId: 'listSupervisions',
          summary: 'Search supervised orders (service supervision)',
          description: 'Oldest start first (the longest-waiting orders are the ones to chase); keyset pagination by (startedAt, workflowId) with `cursor`. Unknown parameters are refused.',
          security: [{ opsBearer: [] }],
          parameters: [
            ...Object.entries(SUPERVISION_LIST_DESCRIPTIONS).map(([name, description]) =>
              zodParameter(name, 'query', listSupervisionParams.shape[name as keyof typeof SUPERVISION_LIST_DESCRIPTIONS], description),
            ),
            opsLimit,
            opsCursor,
          ],
          responses: { '200': { description: 'One page of supervisions', content: json(ref('SupervisionList')) }, ...opsErrorResponses },
        },
      },
      '/ops/supervision/{orderId}': {
        get: {
          tags: ['operations'],
          operationId: 'getSupervision',
          summary: "One order line's supervision: the read-model row, the live state and its transitions",
          security: [{ opsBearer: [] }],
          parameters: supervisionParameters,
          responses: {
            '200': { description: 'The supervision', content: json(ref('SupervisionDetail')) },
            ...opsErrorResponses,
            '400': responseRef('SupervisionInvalidRequest'),
            '404': responseRef('OpsNoSupervision'),
          },
        },
      },
      '/ops/supervision/{orderId}/actions': {
        post: {
          tags: ['operations'],
          operationId: 'actOnSupervision',
          summary: "Apply one action to an order line's supervision (the merchant's own, or another side's entered by ops)",
          description:
            "Applied by the supervision workflow's validated update: an action that does not fit the current node is refused with 409 and changes nothing. Unknown query parameters and body fields are refused.",
          security: [{ opsBearer: [] }],
          parameters: supervisionParameters,
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
      },
    },
    components: {
      schemas,
      headers: {
        BodySign: {
          description: `HMAC-SHA256 signature of the exact response body bytes with the access key. The header name is exactly \`${BODY_SIGN_HEADER}\` (case-sensitive for the marketplace).`,
          required: true,
          schema: { type: 'string', pattern: '^sign_type="HMAC-SHA256", signature= "[A-Za-z0-9+/]+=*"$' },
        },
      },
      responses: {
        SaasAnswer: {
          description: 'The answer (HTTP 200 whatever the outcome; the result code tells).',
          headers: { [BODY_SIGN_HEADER]: { $ref: '#/components/headers/BodySign' } },
          content: json(ref('SaasAnswer')),
        },
        NotificationAnswer: {
          description: 'The answer (HTTP 200 whatever the outcome; the result code tells).',
          headers: { [BODY_SIGN_HEADER]: { $ref: '#/components/headers/BodySign' } },
          content: json(ref('NotificationAnswer')),
        },
        OpsInvalidRequest: { description: 'A parameter is invalid or unknown; the message names it.', content: json(ref('OpsError')) },
        OpsUnauthorized: {
          description: 'No or a wrong bearer token.',
          headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
          content: json(ref('OpsError')),
        },
        OpsNotFound: { description: 'No such instance.', content: json(ref('OpsError')) },
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
          description: 'The supervision workflow did not answer in time (Temporal or its worker unavailable); the action may or may not have been applied. Retry it (with an eventId, a retry is applied once).',
          content: json(ref('OpsError')),
        },
        OpsInternal: { description: 'Unexpected failure (details are logged, not returned).', content: json(ref('OpsError')) },
      },
      securitySchemes: {
        v1AuthToken: {
          type: 'apiKey',
          in: 'query',
          name: 'authToken',
          description:
            'V1: authToken = Base64(HMAC-SHA256(accessKey + timeStamp, every other parameter sorted by name and joined as name=value&…)); `timeStamp` (UTC yyyyMMddHHmmssSSS) must be within the tolerance.',
        },
        v2Signature: {
          type: 'apiKey',
          in: 'query',
          name: 'signature',
          description:
            'V2: signature = upper-case hex HMAC-SHA256(accessKey, accessKey + nonce + timestamp + hex HMAC-SHA256(accessKey, body)), with `timestamp` (Unix ms, within the tolerance) and `nonce` (used once) as query parameters.',
        },
        v2SignatureHeader: {
          type: 'apiKey',
          in: 'header',
          name: 'x-sign',
          description: 'V2, joint-operation variant: the same signature in `x-sign`, with `x-timestamp` and `x-nonce` headers.',
        },
        opsBearer: { type: 'http', scheme: 'bearer', description: 'OPS_API_TOKEN, compared in constant time.' },
      },
    },
  };
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

function orderSummaryProperties(): Record<string, Json> {
  return {
    instanceId: { type: 'string' },
    workflowId: { type: 'string' },
    interfaceVersion: { type: 'string', enum: ['V1', 'V2'] },
    orderId: { type: 'string' },
    orderLineId: nullableString,
    customerId: nullableString,
    productId: nullableString,
    skuCode: nullableString,
    chargingMode: nullableString,
    phase: ref('OrderPhase'),
    resultCode: nullableString,
    trial: { type: 'boolean' },
    testOrder: { type: 'boolean' },
    expireTime: nullable(timestamp),
    seq: { type: 'integer' },
    createdAt: timestamp,
    updatedAt: timestamp,
  };
}

let cached: string | undefined;

/** The document serialised once per process. */
export function openApiJson(): string {
  cached ??= JSON.stringify(buildOpenApiDocument());
  return cached;
}
