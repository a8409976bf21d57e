import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../../src/main/openapi.js';
import { OpsError } from '../../../src/platform/http/ops/errors.js';
import { listOrdersParams } from '../../../src/orders/ops-schemas.js';
import { listDriftParams } from '../../../src/reconciliation/ops-schemas.js';
import { listSupervisionParams, parseSupervisionAction, supervisionLineParams, supervisionPathParams } from '../../../src/supervision/ops-schemas.js';
import { ORDER_NOTIFICATION_PATH, parseOrderNotification } from '../../../src/supervision/notification-routes.js';
import { parseV1Request, parseV2Request } from '../../../src/koogallery/index.js';
import { SUPERVISION_ACTION_TYPES, type SupervisionState } from '../../../src/supervision/contract.js';
import { allRefs, deref, openApiAjv } from '../../support/ops/openapi-ajv.js';

// The document's own consistency, without a server: every reference resolves, every schema compiles under strict
// JSON Schema 2020-12, and the documented parameters and bodies are the ones the code validates.

type Json = Record<string, any>;
const doc = buildOpenApiDocument() as Json;
const { validator } = openApiAjv(doc);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operations(): Array<{ path: string; method: string; op: Json }> {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json)
      .filter(([m]) => HTTP_METHODS.includes(m))
      .map(([method, op]) => ({ path, method, op: op as Json })),
  );
}

describe('the OpenAPI document', () => {
  it('when built, then it is OpenAPI 3.1 with info, paths and unique operationIds', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const ids = operations().map((o) => o.op.operationId);
    expect(ids.length).toBeGreaterThanOrEqual(13);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('when the paths are read, then each states its listener, and the public one carries exactly the marketplace paths', () => {
    const byListener = (listener: string) => Object.keys(doc.paths).filter((p) => doc.paths[p]['x-listener'] === listener).sort();
    expect(byListener('public')).toEqual([
      '/koogallery/license',
      '/koogallery/license-code',
      '/koogallery/license-code/activate',
      '/koogallery/license-code/heartbeat',
      '/koogallery/license/jwks.json',
      '/koogallery/order-notification',
      '/koogallery/saas',
    ]);
    expect(byListener('internal').length + byListener('public').length).toBe(Object.keys(doc.paths).length);
    expect(byListener('internal')).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/openapi.json', '/ops/orders', '/ops/drift', '/ops/supervision']));
  });

  it('when any $ref is followed, then it resolves inside the document', () => {
    const refs = allRefs(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const r of refs) expect(() => deref(doc, { $ref: r }), r).not.toThrow();
  });

  it('when every operation is read, then each has described responses, declared path parameters and known security schemes', () => {
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
      for (const r of Object.values(op.responses)) {
        const response = deref(doc, r);
        expect(response.description, where).toEqual(expect.any(String));
        for (const [type, media] of Object.entries((response.content ?? {}) as Json)) {
          expect(() => validator(media.schema), `${where} ${type}`).not.toThrow();
        }
      }
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p: Json) => p.in === 'path');
      expect(declared.map((p: Json) => p.name).sort(), where).toEqual(pathParams.sort());
      for (const p of declared) expect(p.required, where).toBe(true);
      expect(Array.isArray(op.security), `${where} states its security (empty for none)`).toBe(true);
      for (const requirement of op.security) for (const name of Object.keys(requirement)) expect(schemes, where).toContain(name);
      for (const p of op.parameters ?? []) expect(() => validator(p.schema), `${where} parameter ${p.name}`).not.toThrow();
    }
  });

  it('when the production interface is read, then V2 has a oneOf per activity and every answer documents Body-Sign and the result codes', () => {
    const v2 = deref(doc, doc.paths['/koogallery/saas'].post.requestBody.content['application/json'].schema);
    expect(v2.oneOf).toHaveLength(7);
    for (const method of ['get', 'post']) {
      const answer = deref(doc, doc.paths['/koogallery/saas'][method].responses['200']);
      expect(deref(doc, answer.headers['Body-Sign']).required).toBe(true);
      expect(deref(doc, deref(doc, answer.content['application/json'].schema).properties.resultCode).enum).toContain('000004');
    }
  });

  it('when a valid V2 body of each activity is checked, then the document and the code both accept it; a body the code refuses, the document refuses', () => {
    const v2 = validator(doc.components.schemas.V2Request);
    const bodies = [
      { activity: 'newInstance', orderId: 'CS1', orderLineId: 'CS1-000001', businessId: 'b1', testFlag: '0' },
      { activity: 'queryInstance', instanceId: 'i1,i2' },
      { activity: 'refreshInstance', scene: 'RENEWAL', orderId: 'CS2', orderLineId: 'CS2-1', instanceId: 'i1', expireTime: '20270101000000' },
      { activity: 'updateInstanceStatus', instanceId: 'i1', status: 'FREEZE' },
      { activity: 'releaseInstance', instanceId: 'i1' },
      { activity: 'upgradeInstance', instanceId: 'i1', orderId: 'CS3', orderLineId: 'CS3-1' },
      { activity: 'changeInstanceCheck', instanceId: 'i1', productInfo: { skuCode: 's' } },
    ];
    for (const body of bodies) {
      expect(parseV2Request(body).ok, body.activity).toBe(true);
      expect(v2(body), `${body.activity}: ${JSON.stringify(v2.errors)}`).toBe(true);
    }
    for (const bad of [
      { activity: 'newInstance', orderId: 'CS1', businessId: 'b1' },
      { activity: 'updateInstanceStatus', instanceId: 'i1', status: 'PAUSE' },
      { activity: 'launchRocket' },
    ]) {
      expect(parseV2Request(bad).ok).toBe(false);
      expect(v2(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('when V1 parameters of an activity are checked, then the documented query object accepts what the code accepts', () => {
    const v1 = validator(doc.components.schemas.V1Request);
    const ok = { activity: 'expireInstance', authToken: 't', timeStamp: '20260101000000000', instanceId: 'i1', orderId: 'CS1' };
    expect(parseV1Request(ok).ok).toBe(true);
    expect(v1(ok), JSON.stringify(v1.errors)).toBe(true);
    const bad = { activity: 'instanceStatus', authToken: 't', timeStamp: '1', instanceId: 'i1', instanceStatus: 'PAUSED' };
    expect(parseV1Request(bad).ok).toBe(false);
    expect(v1(bad)).toBe(false);
  });

  it('when the ops endpoints are read, then their query parameters are exactly the ones the router validates', () => {
    const names = (path: string) => (doc.paths[path].get.parameters as Json[]).filter((p) => p.in === 'query').map((p) => p.name).sort();
    expect(names('/ops/orders')).toEqual(Object.keys(listOrdersParams.shape).sort());
    expect(names('/ops/drift')).toEqual(Object.keys(listDriftParams.shape).sort());
  });

  it('when an instance carries credentials, then the OrderDetail schema refuses it (credentials are never part of an answer)', () => {
    const detail = validator(doc.components.schemas.OrderDetail);
    const instance = {
      instanceId: 'i1', workflowId: 'w', interfaceVersion: 'V2', orderId: 'o', orderLineId: null, customerId: null, productId: null, skuCode: null,
      chargingMode: null, phase: 'ACTIVE', resultCode: null, trial: false, testOrder: false, expireTime: null, seq: 1,
      createdAt: '2026-01-01T00:00:00.000000Z', updatedAt: '2026-01-01T00:00:00.000000Z', spec: {}, frontEndUrl: null, adminUrl: null, memo: null, credentialsStored: true,
    };
    expect(detail(instance), JSON.stringify(detail.errors)).toBe(true);
    expect(detail({ ...instance, credentialsSealed: 'v1.abc' })).toBe(false);
  });
});

/** Whether `parseSupervisionAction` (what the router runs on the body) accepts `body`. */
function codeAcceptsAction(body: unknown): boolean {
  try {
    parseSupervisionAction(body);
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(OpsError);
    return false;
  }
}

/** A query value as the documented parameter schema sees it: an integer parameter's digits are its number. */
const asDocumented = (schema: Json, value: string): unknown => (deref(doc, schema).type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value);

describe('the supervision endpoints in the OpenAPI document', () => {
  it('when their parameters are read, then the query and path parameters are exactly the ones the router validates', () => {
    const names = (path: string, method: string, where: string) =>
      (doc.paths[path][method].parameters as Json[]).filter((p) => p.in === where).map((p) => p.name).sort();
    expect(names('/ops/supervision', 'get', 'query')).toEqual(Object.keys(listSupervisionParams.shape).sort());
    for (const [path, method] of [['/ops/supervision/{orderId}', 'get'], ['/ops/supervision/{orderId}/actions', 'post']] as const) {
      expect(names(path, method, 'query'), `${method} ${path}`).toEqual(Object.keys(supervisionLineParams.shape).sort());
      expect(names(path, method, 'path'), `${method} ${path}`).toEqual(Object.keys(supervisionPathParams.shape).sort());
    }
  });

  it('when sample values are checked, then each documented list parameter accepts exactly what the router accepts', () => {
    const samples: Record<string, string[]> = {
      node: ['IMPLEMENTATION', 'USER_ACCEPTANCE', 'SHIPPED', 'implementation', ''],
      status: ['PROCESSING', 'CLOSED', 'OPEN'],
      kind: ['GENERAL', 'HARDWARE', 'SOFTWARE'],
      orderId: ['CS1', 'x'.repeat(128), 'x'.repeat(129), ''],
      appealOpen: ['true', 'false', '1', '0', 'yes'],
      unacceptedForDays: ['0', '180', '99999', '100000', '-1', '1.5', 'many'],
      limit: ['1', '50', '200', '0', '201', 'ten'],
    };
    const params = doc.paths['/ops/supervision'].get.parameters as Json[];
    for (const [name, values] of Object.entries(samples)) {
      const p = params.find((x) => x.name === name)!;
      const documented = validator(p.schema);
      for (const value of values) {
        const code = listSupervisionParams.safeParse({ [name]: value }).success;
        expect(documented(asDocumented(p.schema, value)), `${name}=${value}: the router ${code ? 'accepts' : 'refuses'} it`).toBe(code);
      }
    }
    const orderId = doc.paths['/ops/supervision/{orderId}'].get.parameters.find((p: Json) => p.name === 'orderId');
    for (const value of ['CS1', '', 'x'.repeat(129)]) expect(validator(orderId.schema)(value), `orderId=${value}`).toBe(supervisionPathParams.safeParse({ orderId: value }).success);
  });

  it('when the action body is read, then it has one schema per action type, picked by `type`', () => {
    const post = doc.paths['/ops/supervision/{orderId}/actions'].post;
    expect(post.requestBody.required).toBe(true);
    const body = deref(doc, post.requestBody.content['application/json'].schema);
    expect(body.discriminator).toEqual({ propertyName: 'type' });
    const types = (body.oneOf as Json[]).map((r) => deref(doc, r).properties.type.const);
    expect(types.sort()).toEqual([...SUPERVISION_ACTION_TYPES].sort());
  });

  it('when action bodies are checked, then the documented body accepts what the router accepts and refuses what it refuses', () => {
    const action = validator(doc.paths['/ops/supervision/{orderId}/actions'].post.requestBody.content['application/json'].schema);
    const at = '2026-03-01T08:00:00+08:00';
    const valid = [
      { type: 'CONFIRM_REQUIREMENT' },
      { type: 'REJECT_REQUIREMENT', reason: 'incomplete', eventId: 'e-1' },
      { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'report-1', actualServiceStartTime: '2026-03-01T00:00:00Z' },
      { type: 'RECORD_SHIPMENT', carrier: 'SF Express', trackingNumber: 'SF1', remark: 'fragile', deliveryDocuments: ['note.pdf'], at },
      { type: 'SUBMIT_REQUIREMENT', attachments: ['req.docx'], note: 'by phone' },
      { type: 'ACCEPT', at },
      { type: 'REJECT_ACCEPTANCE', reason: 'broken' },
      { type: 'SIGN_FOR', consigneePhone: '138****1234', userPhone: '13800001234' },
      { type: 'ACTIVATE_LICENSE' },
      { type: 'OPEN_APPEAL', openedBy: 'MERCHANT', reason: 'user unreachable', evidence: ['call-log.pdf'] },
      { type: 'DECIDE_APPEAL', decision: 'RESUME', note: 'resumed' },
    ];
    expect(valid.map((b) => b.type).sort()).toEqual([...SUPERVISION_ACTION_TYPES].sort());
    for (const body of valid) {
      expect(codeAcceptsAction(body), `the router accepts ${body.type}`).toBe(true);
      expect(action(body), `${body.type}: ${JSON.stringify(action.errors)}`).toBe(true);
    }
    for (const bad of [
      { type: 'RECORD_SHIPMENT', carrier: 'SF Express' },
      { type: 'SHIP_IT' },
      {},
      { type: 'ACCEPT', source: 'MERCHANT' },
      { type: 'ACCEPT', at: '2026-03-01T08:00:00' },
      { type: 'OPEN_APPEAL', openedBy: 'OPS', reason: 'r' },
      { type: 'DECIDE_APPEAL', decision: 'MAYBE' },
      { type: 'REJECT_REQUIREMENT', reason: '' },
      { type: 'COMPLETE_IMPLEMENTATION', acceptanceReport: 'x'.repeat(501) },
      { type: 'RECORD_SHIPMENT', carrier: 'c', trackingNumber: 't', deliveryDocuments: Array.from({ length: 51 }, (_, i) => `d${i}`) },
    ]) {
      expect(codeAcceptsAction(bad), `the router refuses ${JSON.stringify(bad).slice(0, 80)}`).toBe(false);
      expect(action(bad), JSON.stringify(bad).slice(0, 80)).toBe(false);
    }
  });

  it('when a supervision state with every field is checked, then SupervisionState accepts it, and refuses an unknown field or node', () => {
    const t = '2026-03-01T00:00:00.000Z';
    const full: Required<SupervisionState> = {
      kind: 'HARDWARE',
      node: 'COMPLETED',
      status: 'COMPLETED',
      startedAt: t,
      appeal: { openedBy: 'USER', openedAt: t, reason: 'late', evidence: ['photo.jpg'] },
      requirement: { submittedAt: t, attachments: ['a.pdf'], note: 'n' },
      requirementRejections: 1,
      implementation: { completedAt: t, acceptanceReport: 'r', actualServiceStartTime: t },
      shipment: { carrier: 'SF', trackingNumber: 'SF1', remark: 'r', deliveryDocuments: ['d.pdf'], shippedAt: t },
      signFor: { at: t, phoneMismatch: false, clockFrom: t },
      acceptanceRejections: 0,
      lastRejectionReason: 'broken',
      acceptedAt: t,
      validity: { start: t, end: '2027-03-01T00:00:00.000Z', startedFrom: 'ACCEPTANCE' },
      outcome: 'ACCEPTED',
      endedAt: t,
      remindersSent: 2,
      lastReminderAt: t,
      appliedEventIds: ['e-1'],
      seq: 7,
    };
    const state = validator(doc.components.schemas.SupervisionState);
    expect(state(full), JSON.stringify(state.errors)).toBe(true);
    const { appeal: _a, requirement: _r, implementation: _i, shipment: _s, signFor: _f, lastRejectionReason: _l, acceptedAt: _t, validity: _v, outcome: _o, endedAt: _e, lastReminderAt: _lr, ...initial } = full;
    expect(state({ ...initial, node: 'IMPLEMENTATION', status: 'PROCESSING' }), JSON.stringify(state.errors)).toBe(true);
    expect(state({ ...full, credentials: 'x' })).toBe(false);
    expect(state({ ...full, node: 'SHIPPED' })).toBe(false);
    expect(state({ ...full, signFor: { at: t } })).toBe(false);
  });

  it('when the action answers are read, then 200 carries the state, 409 the unchanged node, 400 may list the order lines, 503 is documented', () => {
    const responses = doc.paths['/ops/supervision/{orderId}/actions'].post.responses as Json;
    expect(Object.keys(responses).sort()).toEqual(['200', '400', '401', '404', '409', '500', '503']);
    const schemaOf = (status: string) => validator(deref(doc, responses[status]).content['application/json'].schema);
    const state = { kind: 'HARDWARE', node: 'USER_ACCEPTANCE', status: 'PROCESSING', startedAt: '2026-03-01T00:00:00.000Z', requirementRejections: 0, acceptanceRejections: 0, remindersSent: 0, appliedEventIds: [], seq: 2 };
    expect(schemaOf('200')({ applied: true, workflowId: 'supervision-order-CS1-1', state })).toBe(true);
    expect(schemaOf('200')({ applied: true, workflowId: 'w', state: { ...state, seq: 'two' } })).toBe(false);
    const conflict = { error: 'CONFLICT', message: 'a shipment can only be recorded at node IMPLEMENTATION', workflowId: 'w', node: 'USER_ACCEPTANCE', status: 'PROCESSING' };
    expect(schemaOf('409')(conflict)).toBe(true);
    expect(schemaOf('409')({ error: 'CONFLICT', message: 'm', workflowId: 'w' })).toBe(true);
    expect(schemaOf('409')({ ...conflict, error: 'INVALID_REQUEST' })).toBe(false);
    expect(schemaOf('400')({ error: 'INVALID_REQUEST', message: 'invalid body parameters: trackingNumber must be a string' })).toBe(true);
    expect(schemaOf('400')({ error: 'INVALID_REQUEST', message: 'order CS1 has 2 supervised lines; name one with orderLineId', orderLineIds: ['L1', 'L2'] })).toBe(true);
    expect(schemaOf('400')({ error: 'INVALID_REQUEST', message: 'm', orderLineIds: 'L1' })).toBe(false);
    expect(schemaOf('503')({ error: 'UNAVAILABLE', message: 'retry' })).toBe(true);
  });

  it('when the order notification is read, then it is V2-signed, answers a Body-Signed result code, and its body schema reads what the code reads', () => {
    const op = doc.paths[ORDER_NOTIFICATION_PATH].post;
    expect(op.security).toEqual(doc.paths['/koogallery/saas'].post.security);
    expect(op.parameters).toEqual(doc.paths['/koogallery/saas'].post.parameters);
    expect(Object.keys(op.responses)).toEqual(['200']);
    const answer = deref(doc, op.responses['200']);
    expect(deref(doc, answer.headers['Body-Sign']).required).toBe(true);
    const answerSchema = validator(answer.content['application/json'].schema);
    expect(answerSchema({ resultCode: '000000', resultMsg: 'success.' })).toBe(true);
    expect(answerSchema({ resultCode: '000004', resultMsg: 'processing' })).toBe(false);
    expect(answerSchema({ resultCode: '000000', resultMsg: 'success.', instanceId: 'i1' })).toBe(false);
    const body = validator(op.requestBody.content['application/json'].schema);
    for (const sample of [
      { orderId: 'CS1' },
      { orderId: 12345, orderLineId: 'CS1-1', testFlag: 1 },
      { orderId: ' CS1 ' },
      { orderInfo: { orderId: 'CS1', orderLineId: 'L1' } },
      { data: { orderId: 'CS1' }, eventType: 'anything' },
      { orderId: '', data: { orderId: 'CS2' } },
      { orderId: 'CS1', testFlag: 'maybe' },
      {},
      { orderId: 'a b' },
      { orderId: 'x'.repeat(65) },
      { orderId: 1.5 },
      { orderInfo: { orderLineId: 'L1' } },
      { orderId: 'CS1', orderLineId: 'line one' },
      ['CS1'],
      'CS1',
    ]) {
      const code = parseOrderNotification(sample).ok;
      expect(body(sample), `${JSON.stringify(sample).slice(0, 60)}: the code ${code ? 'reads' : 'refuses'} it`).toBe(code);
    }
  });
});
