import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  V1_ACTIVITIES,
  V2_ACTIVITIES,
  parseV1Request,
  parseV2Request,
  splitInstanceIds,
  decodeSaasExtendParams,
  type V1Request,
  type V2Request,
} from '../../../src/koogallery/requests.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

interface Case {
  activity: string;
  sample: Record<string, unknown>;
  /** Max length per length-checked field. */
  limits: Record<string, number>;
  required: string[];
  /** Fields whose values must also match a format, so "exactly max length" is not a valid value. */
  formatted?: string[];
}

const V1_COMMON = { authToken: 'T9zJByss6TSnote1A5MY/uoxB6oc3F+rkE+BuSdz4ek=', timeStamp: '20200727073711903', testFlag: '1' };
const V1_COMMON_LIMITS = { authToken: 50, timeStamp: 20 };
const V1_COMMON_REQUIRED = ['authToken', 'timeStamp'];

const V1_CASES: Case[] = [
  {
    activity: 'newInstance',
    sample: {
      activity: 'newInstance',
      ...V1_COMMON,
      customerId: '68cbc86abc2018ab880d92f36422fa0e',
      customerName: 'buyer01',
      userId: 'u-1',
      userName: 'iam-user',
      mobilePhone: 'a1B2c3D4e5F6g7H8k0BudWgmiGTIOQUAptWNOA==',
      email: 'a1B2c3D4e5F6g7H85nUI0gwL0qTmolOM7o0QFw==',
      businessId: '61e834ba-7b97-4418-b8f7-e5345137278c',
      orderId: 'CS1906666666ABCDE',
      skuCode: 'sku-1',
      productId: '00301-666666-0--0',
      trialFlag: '0',
      expireTime: '20200727153156',
      chargingMode: '1',
      periodType: 'month',
      periodNumber: '12',
      orderAmount: '1200.000',
      provisionType: '1',
      saasExtendParams: b64('[{"name":"tenant","value":"acme"}]'),
      amount: '10',
      diskSize: '100',
      bandWidth: '10',
    },
    limits: {
      ...V1_COMMON_LIMITS,
      customerId: 100,
      customerName: 64,
      userId: 64,
      userName: 64,
      mobilePhone: 1024,
      email: 1024,
      businessId: 128,
      orderId: 64,
      skuCode: 64,
      productId: 64,
      trialFlag: 64,
      expireTime: 20,
      chargingMode: 64,
      periodType: 10,
      periodNumber: 2,
      orderAmount: 20,
      provisionType: 64,
      saasExtendParams: 2048,
      amount: 7,
      diskSize: 64,
      bandWidth: 64,
    },
    required: [...V1_COMMON_REQUIRED, 'customerId', 'businessId', 'orderId'],
    formatted: ['expireTime'],
  },
  {
    activity: 'refreshInstance',
    sample: {
      activity: 'refreshInstance',
      ...V1_COMMON,
      orderId: 'HWS001014ED483AA1E8',
      instanceId: '03pf80c2bae96vc49b80b917bea776d7',
      productId: '00301-666666-0--1',
      expireTime: '20180725000000',
      trialToFormal: '1',
      periodType: 'year',
      periodNumber: '1',
      orderAmount: '-100.5',
    },
    limits: { ...V1_COMMON_LIMITS, orderId: 64, instanceId: 64, productId: 64, expireTime: 20, trialToFormal: 2, periodType: 10, periodNumber: 2, orderAmount: 20 },
    required: [...V1_COMMON_REQUIRED, 'orderId', 'instanceId', 'expireTime'],
    formatted: ['expireTime'],
  },
  {
    activity: 'expireInstance',
    sample: { activity: 'expireInstance', ...V1_COMMON, instanceId: 'inst-1', orderId: 'CS1' },
    limits: { ...V1_COMMON_LIMITS, instanceId: 64, orderId: 64 },
    required: [...V1_COMMON_REQUIRED, 'instanceId', 'orderId'],
  },
  {
    activity: 'releaseInstance',
    sample: { activity: 'releaseInstance', ...V1_COMMON, instanceId: 'inst-1', orderId: 'CS1', orderAmount: '0' },
    limits: { ...V1_COMMON_LIMITS, instanceId: 64, orderId: 64, orderAmount: 20 },
    required: [...V1_COMMON_REQUIRED, 'instanceId', 'orderId'],
  },
  {
    activity: 'upgrade',
    sample: {
      activity: 'upgrade',
      ...V1_COMMON,
      instanceId: 'inst-1',
      orderId: 'CS2',
      skuCode: 'sku-2',
      productId: 'p-2',
      amount: '20',
      diskSize: '200',
      bandWidth: '20',
    },
    limits: { ...V1_COMMON_LIMITS, instanceId: 64, orderId: 64, skuCode: 64, productId: 64, amount: 4, diskSize: 64, bandWidth: 64 },
    required: [...V1_COMMON_REQUIRED, 'instanceId', 'orderId'],
  },
  {
    activity: 'instanceStatus',
    sample: { activity: 'instanceStatus', ...V1_COMMON, instanceId: 'inst-1', instanceStatus: 'FREEZE' },
    limits: { ...V1_COMMON_LIMITS, instanceId: 64 },
    required: [...V1_COMMON_REQUIRED, 'instanceId', 'instanceStatus'],
  },
  {
    activity: 'queryInstance',
    sample: { activity: 'queryInstance', ...V1_COMMON, instanceId: 'inst-1,inst-2' },
    limits: { ...V1_COMMON_LIMITS },
    required: [...V1_COMMON_REQUIRED, 'instanceId'],
  },
];

const V2_CASES: Case[] = [
  {
    activity: 'newInstance',
    sample: {
      activity: 'newInstance',
      businessId: '87b94795-0603-4e24-8ae5-69420d60e3c8',
      orderId: 'CS2211181819B4LVS',
      orderLineId: 'CS2211181819B4LVS-000001',
      testFlag: '1',
    },
    limits: { orderId: 64, orderLineId: 64, businessId: 64 },
    required: ['orderId', 'orderLineId', 'businessId'],
  },
  {
    activity: 'queryInstance',
    sample: { activity: 'queryInstance', instanceId: 'a,b,c', testFlag: '0' },
    limits: {},
    required: ['instanceId'],
  },
  {
    activity: 'refreshInstance',
    sample: {
      activity: 'refreshInstance',
      scene: 'RENEWAL',
      orderId: 'CS3',
      orderLineId: 'CS3-000001',
      instanceId: 'inst-1',
      productId: 'p-1',
      expireTime: '20221124023618256',
      testFlag: '1',
    },
    limits: { orderId: 64, orderLineId: 64, instanceId: 64, productId: 64, expireTime: 20 },
    required: ['orderId', 'orderLineId', 'instanceId', 'expireTime'],
    formatted: ['expireTime'],
  },
  {
    activity: 'updateInstanceStatus',
    sample: { activity: 'updateInstanceStatus', instanceId: 'inst-1', status: 'UNFREEZE', testFlag: '0' },
    limits: { instanceId: 64 },
    required: ['instanceId', 'status'],
  },
  {
    activity: 'releaseInstance',
    sample: { activity: 'releaseInstance', instanceId: 'inst-1', orderId: 'CS4', orderLineId: 'CS4-000001', testFlag: '1' },
    limits: { instanceId: 64, orderId: 64, orderLineId: 64 },
    required: ['instanceId'],
  },
  {
    activity: 'upgradeInstance',
    sample: { activity: 'upgradeInstance', instanceId: 'inst-1', orderId: 'CS5', orderLineId: 'CS5-000001', testFlag: '1' },
    limits: { instanceId: 64, orderId: 64, orderLineId: 64 },
    required: ['instanceId', 'orderId', 'orderLineId'],
  },
  {
    activity: 'changeInstanceCheck',
    sample: {
      activity: 'changeInstanceCheck',
      instanceId: 'inst-1',
      productInfo: { productId: 'p-9', skuCode: 's-9', linearValue: 5, nested: { any: ['thing'] } },
      testFlag: '1',
    },
    limits: { instanceId: 64 },
    required: ['instanceId', 'productInfo'],
  },
];

type Parser = (input: Record<string, unknown>) => ReturnType<typeof parseV2Request> | ReturnType<typeof parseV1Request>;
const v1: Parser = (input) => parseV1Request(input as Record<string, string>);
const v2: Parser = (input) => parseV2Request(input);

function expectFail(r: ReturnType<Parser>, field: string, reason?: RegExp) {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.code).toBe('000002');
  expect(r.field).toBe(field);
  expect(r.reason.length).toBeGreaterThan(0);
  if (reason) expect(r.reason).toMatch(reason);
}

function expectOk(r: ReturnType<Parser>) {
  if (!r.ok) expect.fail(`expected ok, got ${r.field}: ${r.reason}`);
  return r.request as Record<string, unknown>;
}

function runCases(version: string, cases: Case[], parse: Parser) {
  describe(`${version} activity parsers`, () => {
    for (const c of cases) {
      describe(c.activity, () => {
        it('accepts the valid sample and returns exactly its fields', () => {
          const request = expectOk(parse(c.sample));
          const { instanceIds, ...rest } = request;
          expect(rest).toEqual(c.sample);
          if (c.activity === 'queryInstance') expect(instanceIds).toEqual(String(c.sample['instanceId']).split(','));
          else expect(instanceIds).toBeUndefined();
        });

        it('accepts the sample with only the required fields', () => {
          const minimal: Record<string, unknown> = { activity: c.activity };
          for (const f of c.required) minimal[f] = c.sample[f];
          expect(expectOk(parse(minimal))['activity']).toBe(c.activity);
        });

        it('ignores unknown extra fields', () => {
          const request = expectOk(parse({ ...c.sample, unknownExtra: 'x', another: '1' }));
          expect(request).not.toHaveProperty('unknownExtra');
          expect(request).not.toHaveProperty('another');
        });

        for (const [field, max] of Object.entries(c.limits)) {
          it(`rejects ${field} longer than ${max} with 000002 naming it`, () => {
            expectFail(parse({ ...c.sample, [field]: 'x'.repeat(max + 1) }), field);
            expectFail(parse({ ...c.sample, [field]: '9'.repeat(max + 1) }), field);
          });
          if (!c.formatted?.includes(field)) {
            it(`accepts ${field} of exactly ${max} characters`, () => {
              expect(expectOk(parse({ ...c.sample, [field]: 'x'.repeat(max) }))[field]).toBe('x'.repeat(max));
            });
          }
        }

        for (const field of c.required) {
          it(`rejects a missing or empty ${field}`, () => {
            const { [field]: _omit, ...without } = c.sample;
            expectFail(parse(without), field, /required/);
            expectFail(parse({ ...c.sample, [field]: '' }), field, /required/);
          });
        }

        const optional = Object.keys(c.sample).filter((f) => f !== 'activity' && !c.required.includes(f));
        for (const field of optional) {
          it(`treats an empty ${field} as absent`, () => {
            expect(expectOk(parse({ ...c.sample, [field]: '' }))).not.toHaveProperty(field);
          });
        }

        it("rejects testFlag other than '0'/'1'", () => {
          expectFail(parse({ ...c.sample, testFlag: '2' }), 'testFlag');
          expectFail(parse({ ...c.sample, testFlag: 'true' }), 'testFlag');
        });

        it('rejects the activity name in another case', () => {
          expectFail(parse({ ...c.sample, activity: c.activity.toUpperCase() }), 'activity');
        });
      });
    }
  });
}

runCases('V1', V1_CASES, v1);
runCases('V2', V2_CASES, v2);

describe('activity dispatch', () => {
  it('lists the documented activities', () => {
    expect(V1_ACTIVITIES).toEqual(['newInstance', 'refreshInstance', 'expireInstance', 'releaseInstance', 'upgrade', 'instanceStatus', 'queryInstance']);
    expect(V2_ACTIVITIES).toEqual([
      'newInstance',
      'queryInstance',
      'refreshInstance',
      'updateInstanceStatus',
      'releaseInstance',
      'upgradeInstance',
      'changeInstanceCheck',
    ]);
    expect(V1_CASES.map((c) => c.activity)).toEqual([...V1_ACTIVITIES]);
    expect(V2_CASES.map((c) => c.activity)).toEqual([...V2_ACTIVITIES]);
  });

  it.each([
    ['unknown', 'deleteEverything'],
    ['V2-only name on V1', 'upgradeInstance'],
    ['prototype name', 'toString'],
    ['padded', ' newInstance'],
  ])('V1: %s activity → 000002 activity', (_l, activity) => {
    expectFail(v1({ ...V1_CASES[0]!.sample, activity }), 'activity', /unknown/);
  });

  it.each([
    ['unknown', 'getLicenseAsync'],
    ['V1-only name on V2', 'upgrade'],
    ['V1-only name on V2', 'expireInstance'],
    ['prototype name', '__proto__'],
  ])('V2: %s activity → 000002 activity', (_l, activity) => {
    expectFail(v2({ ...V2_CASES[0]!.sample, activity }), 'activity', /unknown/);
  });

  it('missing or non-string activity → 000002 activity', () => {
    const { activity: _a, ...noActivity } = V2_CASES[0]!.sample;
    expectFail(v1({ ...V1_CASES[0]!.sample, activity: '' }), 'activity', /required/);
    expectFail(v2(noActivity), 'activity', /required/);
    expectFail(v2({ ...noActivity, activity: null }), 'activity');
    expectFail(v2({ ...noActivity, activity: 1 }), 'activity');
    expectFail(v2({ ...noActivity, activity: ['newInstance'] }), 'activity');
  });

  it('a non-object V2 body → 000002 body', () => {
    for (const body of [null, undefined, 1, 'newInstance', [], [{ activity: 'newInstance' }], true]) {
      expectFail(parseV2Request(body), 'body');
    }
    expectFail(parseV1Request(null as unknown as Record<string, string>), 'query');
  });

  it('narrows on activity (compile-time and run-time)', () => {
    const r1 = parseV1Request(V1_CASES[0]!.sample as Record<string, string>);
    const r2 = parseV2Request(V2_CASES[6]!.sample);
    expect(r1.ok && r2.ok).toBe(true);
    if (r1.ok && r1.request.activity === 'newInstance') {
      const req: Extract<V1Request, { activity: 'newInstance' }> = r1.request;
      expect(req.customerId).toBe('68cbc86abc2018ab880d92f36422fa0e');
    }
    if (r2.ok && r2.request.activity === 'changeInstanceCheck') {
      const req: Extract<V2Request, { activity: 'changeInstanceCheck' }> = r2.request;
      expect(req.productInfo['productId']).toBe('p-9');
    }
  });
});

describe('field rules', () => {
  it('V1 instanceStatus accepts FREEZE/NORMAL only', () => {
    const base = V1_CASES.find((c) => c.activity === 'instanceStatus')!.sample;
    expect(expectOk(v1({ ...base, instanceStatus: 'NORMAL' }))['instanceStatus']).toBe('NORMAL');
    expectFail(v1({ ...base, instanceStatus: 'UNFREEZE' }), 'instanceStatus');
    expectFail(v1({ ...base, instanceStatus: 'freeze' }), 'instanceStatus');
  });

  it('V2 updateInstanceStatus accepts FREEZE/UNFREEZE only', () => {
    const base = V2_CASES.find((c) => c.activity === 'updateInstanceStatus')!.sample;
    expect(expectOk(v2({ ...base, status: 'FREEZE' }))['status']).toBe('FREEZE');
    expectFail(v2({ ...base, status: 'NORMAL' }), 'status');
    expectFail(v2({ ...base, status: 'X'.repeat(33) }), 'status');
  });

  it('V2 refreshInstance scene: the four documented values, optional', () => {
    const base = V2_CASES.find((c) => c.activity === 'refreshInstance')!.sample;
    for (const scene of ['TRIAL_TO_FORMAL', 'RENEWAL', 'UNSUBSCRIBE_RENEWAL_PERIOD', 'RENEWAL_CHANGE']) {
      expect(expectOk(v2({ ...base, scene }))['scene']).toBe(scene);
    }
    const { scene: _s, ...noScene } = base;
    expect(expectOk(v2(noScene))).not.toHaveProperty('scene');
    expectFail(v2({ ...base, scene: 'UPGRADE' }), 'scene');
    expectFail(v2({ ...base, scene: 'S'.repeat(65) }), 'scene');
  });

  it('expireTime: 14 or 17 digits and a real date', () => {
    const v2Base = V2_CASES.find((c) => c.activity === 'refreshInstance')!.sample;
    const v1Base = V1_CASES.find((c) => c.activity === 'refreshInstance')!.sample;
    expect(expectOk(v2({ ...v2Base, expireTime: '20221124023618' }))['expireTime']).toBe('20221124023618');
    expect(expectOk(v1({ ...v1Base, expireTime: '20221124023618256' }))['expireTime']).toBe('20221124023618256');
    for (const expireTime of ['2022112402361', '202211240236182', '20221324023618', '20220230000000', '2022-11-24T02:36:18Z']) {
      expectFail(v2({ ...v2Base, expireTime }), 'expireTime', /yyyyMMddHHmmss/);
      expectFail(v1({ ...v1Base, expireTime }), 'expireTime', /yyyyMMddHHmmss/);
    }
    const newInst = V1_CASES[0]!.sample;
    expectFail(v1({ ...newInst, expireTime: '20201301000000' }), 'expireTime');
  });

  it('V2 testFlag tolerates a JSON number 0/1 and normalises it to a string', () => {
    const base = V2_CASES[0]!.sample;
    expect(expectOk(v2({ ...base, testFlag: 1 }))['testFlag']).toBe('1');
    expect(expectOk(v2({ ...base, testFlag: 0 }))['testFlag']).toBe('0');
    expectFail(v2({ ...base, testFlag: 2 }), 'testFlag');
    expectFail(v2({ ...base, testFlag: true }), 'testFlag');
    expectFail(v2({ ...base, testFlag: 1.5 }), 'testFlag');
    expect(expectOk(v2({ ...base, testFlag: null }))).not.toHaveProperty('testFlag');
  });

  it('V2 other fields must be strings (no number coercion)', () => {
    const base = V2_CASES[0]!.sample;
    expectFail(v2({ ...base, orderId: 12345 }), 'orderId', /string/);
    expectFail(v2({ ...base, businessId: { id: 'x' } }), 'businessId');
    expectFail(v2({ ...base, orderLineId: ['a'] }), 'orderLineId');
    expectFail(v2({ ...base, orderId: null }), 'orderId', /required/);
  });

  it('V2 changeInstanceCheck productInfo must be a JSON object', () => {
    const base = V2_CASES.find((c) => c.activity === 'changeInstanceCheck')!.sample;
    expect(expectOk(v2({ ...base, productInfo: {} }))['productInfo']).toEqual({});
    for (const productInfo of ['{"a":1}', 1, [{ a: 1 }], true]) {
      expectFail(v2({ ...base, productInfo }), 'productInfo', /object/);
    }
  });

  it('a "__proto__" key in a JSON body cannot supply fields', () => {
    const body = JSON.parse('{"activity":"newInstance","__proto__":{"orderId":"a","orderLineId":"b","businessId":"c"}}');
    expectFail(parseV2Request(body), 'orderId', /required/);
  });

  describe('queryInstance id lists', () => {
    const ids = (n: number, len = 8) => Array.from({ length: n }, (_, i) => String(i).padStart(len, 'i')).join(',');

    it('accepts up to 100 ids of up to 64 chars, trimmed', () => {
      for (const [parse, base] of [
        [v1, V1_CASES[6]!.sample],
        [v2, V2_CASES[1]!.sample],
      ] as const) {
        const r = expectOk(parse({ ...base, instanceId: ids(100, 64) }));
        expect((r['instanceIds'] as string[]).length).toBe(100);
        expect(expectOk(parse({ ...base, instanceId: ' a , b ' }))['instanceIds']).toEqual(['a', 'b']);
        expect(expectOk(parse({ ...base, instanceId: 'single' }))['instanceIds']).toEqual(['single']);
      }
    });

    it('rejects 101 ids, a 65-char id, or an empty item', () => {
      for (const [parse, base] of [
        [v1, V1_CASES[6]!.sample],
        [v2, V2_CASES[1]!.sample],
      ] as const) {
        expectFail(parse({ ...base, instanceId: ids(101) }), 'instanceId');
        expectFail(parse({ ...base, instanceId: `a,${'x'.repeat(65)}` }), 'instanceId');
        expectFail(parse({ ...base, instanceId: 'a,,b' }), 'instanceId');
        expectFail(parse({ ...base, instanceId: 'a,' }), 'instanceId');
        expectFail(parse({ ...base, instanceId: ' ' }), 'instanceId');
      }
    });
  });
});

describe('splitInstanceIds', () => {
  it('splits and trims', () => {
    expect(splitInstanceIds('a,b , c')).toEqual(['a', 'b', 'c']);
    expect(splitInstanceIds('x')).toEqual(['x']);
  });

  it('enforces the limits', () => {
    expect(splitInstanceIds(Array.from({ length: 100 }, () => 'i').join(','))).toHaveLength(100);
    expect(splitInstanceIds(Array.from({ length: 101 }, () => 'i').join(','))).toBeUndefined();
    expect(splitInstanceIds('x'.repeat(64))).toEqual(['x'.repeat(64)]);
    expect(splitInstanceIds('x'.repeat(65))).toBeUndefined();
  });

  it.each(['', ',', 'a,', ',a', 'a,,b', ' , '])('rejects %j', (s) => {
    expect(splitInstanceIds(s)).toBeUndefined();
  });
});

describe('decodeSaasExtendParams', () => {
  const items = [
    { name: 'platformParams', value: '{"tenantName":"acme","tennantId":"t1","userId":"u1"}' },
    { name: '公司', value: '华为' },
  ];

  it('decodes Base64 of a JSON array of {name, value}', () => {
    expect(decodeSaasExtendParams(b64(JSON.stringify(items)))).toEqual(items);
    expect(decodeSaasExtendParams(b64('[]'))).toEqual([]);
  });

  it("tolerates '+' turned into spaces, URL-safe Base64, plain JSON and extra item fields", () => {
    const standard = b64(JSON.stringify([{ name: '>>>?', value: '~~~' }]));
    expect(standard).toMatch(/[+/]/);
    expect(decodeSaasExtendParams(standard.replace(/\+/g, ' '))).toEqual([{ name: '>>>?', value: '~~~' }]);
    expect(decodeSaasExtendParams(standard.replace(/\+/g, '-').replace(/\//g, '_'))).toEqual([{ name: '>>>?', value: '~~~' }]);
    expect(decodeSaasExtendParams('[{"name":"a","value":"b"}]')).toEqual([{ name: 'a', value: 'b' }]);
    expect(decodeSaasExtendParams(b64('[{"name":"a","value":"b","extra":1}]'))).toEqual([{ name: 'a', value: 'b' }]);
    expect(decodeSaasExtendParams(b64('[{"name":"n","value":5}]'))).toEqual([{ name: 'n', value: '5' }]);
  });

  it.each([
    ['empty', ''],
    ['not Base64', '!!!'],
    ['Base64 of non-JSON', b64('hello')],
    ['Base64 of an object', b64('{"name":"a","value":"b"}')],
    ['item without name', b64('[{"value":"b"}]')],
    ['item with object value', b64('[{"name":"a","value":{}}]')],
    ['item that is a string', b64('["a"]')],
    ['invalid UTF-8', Buffer.from([0x5b, 0xff, 0x5d]).toString('base64')],
    ['broken plain JSON', '[{"name":'],
  ])('returns undefined for %s', (_l, s) => {
    expect(decodeSaasExtendParams(s)).toBeUndefined();
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        const r = decodeSaasExtendParams(s);
        expect(r === undefined || Array.isArray(r)).toBe(true);
      }),
    );
  });
});

describe('parsers never throw (property)', () => {
  const anything = fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
    withUnicodeString: true,
  });
  const hugeString = fc
    .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }), fc.integer({ min: 1000, max: 50_000 }))
    .map(([s, n]) => s.repeat(n));
  const fieldNames = [
    'activity',
    'authToken',
    'timeStamp',
    'testFlag',
    'instanceId',
    'orderId',
    'orderLineId',
    'businessId',
    'customerId',
    'expireTime',
    'status',
    'instanceStatus',
    'scene',
    'productInfo',
    'saasExtendParams',
    '__proto__',
    'constructor',
  ];
  const value = fc.oneof(
    anything,
    hugeString,
    fc.string({ unit: 'binary' }),
    fc.integer(),
    fc.double(),
    fc.constantFrom(null, undefined, '', '0', '1', 1, 0, 'FREEZE', '20221124023618', 'a,b'),
  );
  const plausible = (activities: readonly string[]) =>
    fc
      .tuple(fc.constantFrom(...activities), fc.dictionary(fc.constantFrom(...fieldNames), value, { maxKeys: 12 }))
      .map(([activity, rest]) => ({ activity, ...rest }));
  const input = (activities: readonly string[]) =>
    fc.oneof(anything, hugeString, plausible(activities), fc.array(anything), fc.integer());

  const check = (r: ReturnType<Parser>) => {
    expect(typeof r.ok).toBe('boolean');
    if (!r.ok) {
      expect(r.code).toBe('000002');
      expect(typeof r.field).toBe('string');
      expect(typeof r.reason).toBe('string');
    }
  };

  it('parseV1Request', () => {
    fc.assert(
      fc.property(input(V1_ACTIVITIES), (x) => {
        check(parseV1Request(x as Record<string, string>));
      }),
      { numRuns: 500 },
    );
  });

  it('parseV2Request', () => {
    fc.assert(
      fc.property(input(V2_ACTIVITIES), (x) => {
        check(parseV2Request(x));
      }),
      { numRuns: 500 },
    );
  });

  it('valid V2 samples stay valid with arbitrary extra fields', () => {
    fc.assert(
      fc.property(fc.constantFrom(...V2_CASES), fc.dictionary(fc.string().filter((k) => !(k in V2_CASES[2]!.sample) && k !== 'instanceIds'), anything), (c, extra) => {
        const r = parseV2Request({ ...extra, ...c.sample });
        expect(r.ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('NUL characters', () => {
  it('when any V2 or V1 field carries U+0000, then it is refused with 000002 naming the field', () => {
    const v2 = parseV2Request({ activity: 'newInstance', orderId: 'CS1', orderLineId: 'CS1-000001', businessId: 'b\u0000x' });
    expect(v2).toMatchObject({ ok: false, code: '000002', field: 'businessId' });
    const v1 = parseV1Request({ activity: 'releaseInstance', authToken: 't', timeStamp: '20200727073711903', instanceId: 'i\u0000', orderId: 'o' });
    expect(v1).toMatchObject({ ok: false, code: '000002', field: 'instanceId' });
  });
});
