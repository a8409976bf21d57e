import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ProductionCommand } from '../../../src/koogallery/index.js';
import { answerFor, answerForFailure } from '../../../src/orders/answers.js';
import type { OrderOutcome } from '../../../src/orders/service.js';

// The production interface's one mapper: every outcome of every command becomes a result code and a body here.

const ids = { instanceId: 'inst-1', workflowId: 'order-CS1', orderId: 'CS1' };
const appInfo = { frontEndUrl: 'https://t.example', userName: 'IVIVIVIVIVIVIVIVenc', password: 'IVIVIVIVIVIVIVIVenc2' };
const v1Purchase: ProductionCommand = { kind: 'purchase', interfaceVersion: 'V1', testOrder: false, key: { kind: 'v1-order', orderId: 'CS1' }, businessId: 'b' };
const v2Purchase: ProductionCommand = { kind: 'purchase', interfaceVersion: 'V2', testOrder: false, key: { kind: 'v2-line', orderId: 'CS1', orderLineId: 'L1' }, businessId: 'b' };
const renew: ProductionCommand = { kind: 'renew', interfaceVersion: 'V2', testOrder: false, instanceId: 'inst-1', orderId: 'R1', scene: 'RENEWAL', expireTime: '2030-01-01T00:00:00.000Z' };
const query: ProductionCommand = { kind: 'query', interfaceVersion: 'V2', testOrder: false, instanceIds: ['inst-1'] };

describe('answerFor', () => {
  it('when a V1 purchase succeeds, then the answer carries instanceId, encryptType and appInfo; a V2 one only the instanceId', () => {
    const outcome: OrderOutcome = { kind: 'answered', code: '000000', ids, appInfo };
    expect(answerFor(v1Purchase, outcome)).toEqual({
      code: '000000',
      ids,
      body: { resultCode: '000000', resultMsg: 'success.', instanceId: 'inst-1', encryptType: '1', appInfo },
    });
    expect(answerFor(v2Purchase, outcome).body).toEqual({ resultCode: '000000', resultMsg: 'success.', instanceId: 'inst-1' });
  });

  it('when a purchase is still provisioning after the budget, then V2 answers 000004 with the instance and V1 a retryable 000005', () => {
    const outcome: OrderOutcome = { kind: 'provisioning', ids };
    expect(answerFor(v2Purchase, outcome).body).toEqual({ resultCode: '000004', resultMsg: 'provisioning', instanceId: 'inst-1' });
    expect(answerFor(v1Purchase, outcome).body).toEqual({ resultCode: '000005', resultMsg: 'provisioning in progress; please retry.', instanceId: 'inst-1' });
    // The workflow's own 000004 is read the same way for V1.
    expect(answerFor(v1Purchase, { kind: 'answered', code: '000004', ids }).code).toBe('000005');
  });

  it('when a purchase failed for the buyer\'s contact, then the workflow\'s 000101/000102 go out with its reason', () => {
    expect(answerFor(v2Purchase, { kind: 'answered', code: '000101', message: 'mobile rejected', ids }).body).toEqual({ resultCode: '000101', resultMsg: 'mobile rejected', instanceId: 'inst-1' });
    expect(answerFor(v1Purchase, { kind: 'answered', code: '000102', ids }).body).toEqual({ resultCode: '000102', resultMsg: 'email is missing, invalid or already used.', instanceId: 'inst-1' });
  });

  it('when an operation is refused, unknown, or must be retried, then 000005/000003/000005', () => {
    expect(answerFor(renew, { kind: 'refused', code: '000005', message: 'refresh without orderId or expireTime', ids }).body).toEqual({ resultCode: '000005', resultMsg: 'refresh without orderId or expireTime' });
    expect(answerFor(renew, { kind: 'instance-not-found', message: 'instance released', ids })).toMatchObject({ code: '000003', body: { resultCode: '000003', resultMsg: 'instance released' } });
    expect(answerFor(renew, { kind: 'retry-later', message: 'still processing; retry', ids }).body).toEqual({ resultCode: '000005', resultMsg: 'still processing; retry' });
    expect(answerFor(renew, { kind: 'answered', code: '000000', ids }).body).toEqual({ resultCode: '000000', resultMsg: 'success.' });
  });

  it('when instances are queried, then ready ones are listed, provisioning ones answer 000004 and no info', () => {
    const info = [{ instanceId: 'inst-1', appInfo }];
    expect(answerFor(query, { kind: 'instances', info }).body).toEqual({ resultCode: '000000', resultMsg: 'success.', encryptType: '1', info });
    expect(answerFor(query, { kind: 'provisioning' }).body).toEqual({ resultCode: '000004', resultMsg: 'provisioning', encryptType: '1' });
    expect(answerFor(query, { kind: 'instance-not-found', message: 'instance not found' }).body).toEqual({ resultCode: '000003', resultMsg: 'instance not found', encryptType: '1' });
  });
});

describe('answerForFailure', () => {
  it('when a command could not be run, then the answer is a retryable 000005 without details, and an unreachable Temporal is told apart', () => {
    const down = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: status.UNAVAILABLE, details: 'connection refused', metadata: new Metadata() });
    expect(answerForFailure(down)).toEqual({ code: '000005', body: { resultCode: '000005', resultMsg: 'internal error; please retry.' }, temporalUnavailable: true });
    expect(answerForFailure(new TypeError('x is undefined')).temporalUnavailable).toBe(false);
  });
});
