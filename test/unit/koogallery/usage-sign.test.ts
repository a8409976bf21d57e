import { describe, it, expect } from 'vitest';
import { sortedJson, usagePushSignature } from '../../../src/koogallery/usage-sign.js';

const KEY = 'TestAccessKey-0123456789';
// Spec §2.5 worked example.
const BODY =
  '{"usage_records":[{"begin_time":"20220809T090000Z","end_time":"20220809T100000Z","instance_id":"7f141bf1-aec8-4859-8323-fb3a8ad50721","metering_sn":"sn-0001","record_time":"20220809T101000Z","usage_value":1.5}]}';
const SIGNATURE = 'a0tmj1e+RcFQ/jr50FPTA8fAB6oF8PT8IVsywopnjX0=';

describe('§2.5 worked example', () => {
  it('signature over the documented body', () => {
    expect(usagePushSignature(KEY, '1660040000000', 'abcdef0123456789', BODY)).toBe(SIGNATURE);
  });

  it('sortedJson reproduces the body from unsorted input', () => {
    const records = {
      usage_records: [
        {
          usage_value: 1.5,
          record_time: '20220809T101000Z',
          metering_sn: 'sn-0001',
          instance_id: '7f141bf1-aec8-4859-8323-fb3a8ad50721',
          end_time: '20220809T100000Z',
          begin_time: '20220809T090000Z',
        },
      ],
    };
    expect(sortedJson(records)).toBe(BODY);
    expect(usagePushSignature(KEY, '1660040000000', 'abcdef0123456789', sortedJson(records))).toBe(SIGNATURE);
  });

  it('any change of ts, nonce, body or key changes the signature', () => {
    expect(usagePushSignature(KEY, '1660040000001', 'abcdef0123456789', BODY)).not.toBe(SIGNATURE);
    expect(usagePushSignature(KEY, '1660040000000', 'abcdef012345678a', BODY)).not.toBe(SIGNATURE);
    expect(usagePushSignature(KEY, '1660040000000', 'abcdef0123456789', BODY.replace('1.5', '1.50'))).not.toBe(SIGNATURE);
    expect(usagePushSignature(`${KEY}x`, '1660040000000', 'abcdef0123456789', BODY)).not.toBe(SIGNATURE);
  });
});

describe('sortedJson', () => {
  it('sorts keys recursively and keeps array order', () => {
    expect(sortedJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('sorts by code unit (upper case first)', () => {
    expect(sortedJson({ b: 1, B: 2, _: 3, a: 4 })).toBe('{"B":2,"_":3,"a":4,"b":1}');
  });

  it('follows JSON.stringify for primitives, undefined and escapes', () => {
    expect(sortedJson({ u: undefined, s: 'a"b\\c\n中', n: Number.NaN, t: true })).toBe('{"n":null,"s":"a\\"b\\\\c\\n中","t":true}');
    expect(sortedJson([undefined, () => 1])).toBe('[null,null]');
    expect(sortedJson('x')).toBe('"x"');
    expect(sortedJson(null)).toBe('null');
    expect(sortedJson({ d: new Date('2022-08-09T09:00:00Z') })).toBe('{"d":"2022-08-09T09:00:00.000Z"}');
  });

  it('matches JSON.stringify when keys are already sorted', () => {
    const v = { a: [1, 'two', { b: false, c: [null] }], d: -0.5e-7 };
    expect(sortedJson(v)).toBe(JSON.stringify(v));
  });

  it('throws on values JSON cannot represent', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => sortedJson(cyclic)).toThrow(TypeError);
    expect(() => sortedJson({ n: 1n })).toThrow(TypeError);
    expect(() => sortedJson(undefined)).toThrow(TypeError);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(sortedJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});
