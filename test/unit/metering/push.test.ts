import { describe, expect, it } from 'vitest';
import { formatUsageTime, readUsagePushAnswer, signUsagePush } from '../../../src/marketplace-api/usage-data-client.js';
import { meteringSn, usageDataRecordOf } from '../../../src/metering/push.js';
import { UsageLedger } from '../../../tools/simulator/usage-data.js';

// The spec's hypothetical docking key.
const KEY = 'TestAccessKey-0123456789';

describe('usage push signing (spec §2.5)', () => {
  it("when the spec's worked example is signed, then the signature is the spec's", () => {
    const record = {
      instance_id: '7f141bf1-aec8-4859-8323-fb3a8ad50721',
      record_time: '20220809T101000Z',
      begin_time: '20220809T090000Z',
      end_time: '20220809T100000Z',
      usage_value: 1.5,
      metering_sn: 'sn-0001',
    };
    const { body, headers } = signUsagePush([record], KEY, '1660040000000', 'abcdef0123456789');
    expect(body).toBe(
      '{"usage_records":[{"begin_time":"20220809T090000Z","end_time":"20220809T100000Z","instance_id":"7f141bf1-aec8-4859-8323-fb3a8ad50721","metering_sn":"sn-0001","record_time":"20220809T101000Z","usage_value":1.5}]}',
    );
    expect(headers).toMatchObject({ signature: 'a0tmj1e+RcFQ/jr50FPTA8fAB6oF8PT8IVsywopnjX0=', ts: '1660040000000', nonce: 'abcdef0123456789' });
  });

  it("when a time is formatted, then it is yyyyMMdd'T'HHmmss'Z' in UTC", () => {
    expect(formatUsageTime(new Date('2026-12-07T03:04:05.678+08:00'))).toBe('20261206T190405Z');
  });

  it('when the simulator checks a signed push, then it verifies ours and refuses a tampered body', () => {
    const ledger = new UsageLedger(KEY);
    const record = { instance_id: 'i', record_time: '20261207T010000Z', begin_time: '20261207T000000Z', end_time: '20261207T010000Z', usage_value: 2, metering_sn: 'sn-a' };
    const now = Date.parse('2026-12-07T02:00:00Z');
    const ok = signUsagePush([record], KEY, String(now), 'n1');
    expect(ledger.handle(ok.headers, Buffer.from(ok.body), now)).toMatchObject({ status: 200, body: { error_code: 'MKT.0000' } });
    const bad = signUsagePush([record], KEY, String(now), 'n2');
    expect(ledger.handle(bad.headers, Buffer.from(bad.body.replace('"usage_value":2', '"usage_value":3')), now).status).toBe(401);
    expect(ledger.totals().get('i')).toBe(2);
  });
});

describe('metering_sn', () => {
  it('when derived twice from the same instance, hour and revision, then it is the same; any change gives another', () => {
    const hour = new Date('2026-12-07T10:00:00Z');
    const sn = meteringSn('inst-1', hour, 0);
    expect(meteringSn('inst-1', new Date('2026-12-07T10:00:00Z'), 0)).toBe(sn);
    expect(sn).toMatch(/^koo-[0-9a-f]{40}$/);
    expect(new Set([sn, meteringSn('inst-2', hour, 0), meteringSn('inst-1', new Date('2026-12-07T11:00:00Z'), 0), meteringSn('inst-1', hour, 1)]).size).toBe(4);
  });

  it('when a package item becomes a record, then it names the package it consumes', () => {
    const item = { meteringSn: 's', instanceId: 'p', periodStart: new Date('2026-12-07T10:00:00Z'), periodEnd: new Date('2026-12-07T11:00:00Z'), recordTime: new Date('2026-12-07T11:05:00Z'), usageValue: '12.5000', relatePkgInstance: 'p', attempts: 0 };
    expect(usageDataRecordOf(item)).toEqual({ instance_id: 'p', record_time: '20261207T110500Z', begin_time: '20261207T100000Z', end_time: '20261207T110000Z', usage_value: 12.5, metering_sn: 's', relate_pkg_instance: 'p' });
  });
});

describe('usage-data answers', () => {
  it('when the answer is success with failed records, then those records are refused by sn', () => {
    const a = readUsagePushAnswer(200, { error_code: 'MKT.0000', error_msg: 'ok', fail_records: [{ metering_sn: 'x', error_code: '004', error_msg: 'too old' }] });
    expect(a).toMatchObject({ kind: 'answered', code: 'MKT.0000' });
    expect(a.kind === 'answered' && a.refused.get('x')).toEqual({ code: '004', message: 'too old' });
  });
  it.each([
    [503, { error_code: 'MKT.0000' }],
    [429, {}],
    [200, []],
    [200, { nothing: true }],
    [400, { error_code: 'APIGW.0308', error_msg: 'throttled' }],
  ])('when the answer is HTTP %i %j, then nothing is known (unavailable)', (status, body) => {
    expect(readUsagePushAnswer(status, body).kind).toBe('unavailable');
  });
});
