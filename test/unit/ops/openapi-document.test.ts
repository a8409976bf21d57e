import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../../src/api/openapi/document.js';
import { listDriftParams, listOrdersParams } from '../../../src/api/ops/params.js';
import { parseV1Request, parseV2Request } from '../../../src/koogallery/index.js';
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
    expect(ids.length).toBeGreaterThanOrEqual(9);
    expect(new Set(ids).size).toBe(ids.length);
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
