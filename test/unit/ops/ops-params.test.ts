import { describe, expect, it } from 'vitest';
import { OpsError } from '../../../src/platform/http/ops/errors.js';
import { encodeCursor, parseParams } from '../../../src/platform/http/ops/params.js';
import { listOrdersParams } from '../../../src/orders/ops-schemas.js';
import { listDriftParams } from '../../../src/reconciliation/ops-schemas.js';

// Query parameters of the ops API: what is accepted, what it becomes, and the message a refusal carries.

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OpsError);
    expect((err as OpsError).code).toBe('INVALID_REQUEST');
    return (err as OpsError).message;
  }
  throw new Error('expected a refusal');
}

describe('GET /ops/orders parameters', () => {
  it('when every filter is given, then they are typed (testOrder boolean, limit number, cursor decoded)', () => {
    const cursor = encodeCursor({ u: '2026-01-02T03:04:05.123456Z', i: 'inst-9' });
    expect(
      parseParams(listOrdersParams, { orderId: 'CS1', customerId: 'c1', productId: 'p1', phase: 'ACTIVE', testOrder: 'false', limit: '25', cursor }),
    ).toEqual({ orderId: 'CS1', customerId: 'c1', productId: 'p1', phase: 'ACTIVE', testOrder: false, limit: 25, cursor: { u: '2026-01-02T03:04:05.123456Z', i: 'inst-9' } });
    expect(parseParams(listOrdersParams, { testOrder: '1' })).toEqual({ testOrder: true });
    expect(parseParams(listOrdersParams, {})).toEqual({});
  });

  it('when the limit is out of bounds, then the message names the bounds', () => {
    for (const limit of ['0', '201', '-1', '1.5', '99999']) expect(refusal(() => parseParams(listOrdersParams, { limit }))).toContain('limit must be an integer from 1 to 200');
    expect(parseParams(listOrdersParams, { limit: '200' }).limit).toBe(200);
  });

  it('when several parameters are wrong, then every one is named in one message', () => {
    const msg = refusal(() => parseParams(listOrdersParams, { phase: 'x', limit: '0', extra: '1' }));
    expect(msg).toMatch(/^invalid query parameters: /);
    expect(msg).toContain('unknown query parameter extra');
    expect(msg).toContain('phase must be one of');
    expect(msg).toContain('limit must be an integer');
  });

  it('when a cursor was not made by the endpoint (tampered, other endpoint, garbage), then it is refused', () => {
    const drift = encodeCursor({ i: 'a', k: 'PHASE_MISMATCH' });
    for (const cursor of ['%%%', 'eyJ1IjoxfQ', drift, encodeCursor({ u: '2026-01-02T03:04:05Z', i: 'x' })]) {
      expect(refusal(() => parseParams(listOrdersParams, { cursor }))).toContain('cursor is not a cursor returned by this endpoint');
    }
  });

  it('when an empty value is given, then it is refused rather than read as "no filter"', () => {
    expect(refusal(() => parseParams(listOrdersParams, { orderId: '' }))).toContain('orderId must not be empty');
  });
});

describe('GET /ops/drift parameters', () => {
  it('when status, kind and a cursor are given, then they are typed', () => {
    const cursor = encodeCursor({ i: 'inst-1', k: 'PHASE_MISMATCH' });
    expect(parseParams(listDriftParams, { status: 'all', kind: 'WORKFLOW_MISSING', cursor, limit: '3' })).toEqual({
      status: 'all',
      kind: 'WORKFLOW_MISSING',
      limit: 3,
      cursor: { i: 'inst-1', k: 'PHASE_MISMATCH' },
    });
  });

  it('when the kind is unknown, then the known kinds are listed', () => {
    expect(refusal(() => parseParams(listDriftParams, { kind: 'nope' }))).toContain('PHASE_MISMATCH, READ_MODEL_STALE');
  });
});
