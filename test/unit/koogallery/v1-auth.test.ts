import { describe, it, expect } from 'vitest';
import {
  parseRawQuery,
  canonicalV1,
  computeV1AuthToken,
  verifyV1AuthToken,
} from '../../../src/koogallery/v1-auth.js';

const KEY = 'TestAccessKey-0123456789';

// Spec §2.1 worked example.
const EXAMPLE: Record<string, string> = {
  activity: 'newInstance',
  businessId: '61e834ba-7b97-4418-b8f7-e5345137278c',
  customerId: '68cbc86abc2018ab880d92f36422fa0e',
  expireTime: '20200727153156',
  orderId: 'CS1906666666ABCDE',
  productId: '00301-666666-0--0',
  testFlag: '1',
  timeStamp: '20200727073711903',
};
const EXAMPLE_CANONICAL =
  'activity=newInstance&businessId=61e834ba-7b97-4418-b8f7-e5345137278c&customerId=68cbc86abc2018ab880d92f36422fa0e&expireTime=20200727153156&orderId=CS1906666666ABCDE&productId=00301-666666-0--0&testFlag=1&timeStamp=20200727073711903';
const EXAMPLE_TOKEN = 'T9zJByss6TSnote1A5MY/uoxB6oc3F+rkE+BuSdz4ek=';
const EXAMPLE_NOW = Date.UTC(2020, 6, 27, 7, 37, 11, 903);
const OPTS = { nowMs: EXAMPLE_NOW, toleranceMs: 60_000 };

/** Builds a raw query the way the marketplace does: every value URL-encoded. */
function encodeQuery(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

function signedQuery(params: Record<string, string>, key = KEY): string {
  return `${encodeQuery(params)}&authToken=${encodeURIComponent(computeV1AuthToken(key, params))}`;
}

function verifyRaw(raw: string, opts = OPTS, key = KEY) {
  const parsed = parseRawQuery(raw);
  expect(parsed).toBeDefined();
  return verifyV1AuthToken(key, parsed!, opts);
}

describe('§2.1 worked example', () => {
  it('canonical string', () => {
    expect(canonicalV1(EXAMPLE)).toBe(EXAMPLE_CANONICAL);
  });

  it('authToken', () => {
    expect(computeV1AuthToken(KEY, EXAMPLE)).toBe(EXAMPLE_TOKEN);
  });

  it('ignores authToken itself and parameter order', () => {
    const shuffled = Object.fromEntries(Object.entries(EXAMPLE).reverse());
    expect(computeV1AuthToken(KEY, { ...shuffled, authToken: 'anything' })).toBe(EXAMPLE_TOKEN);
  });

  it('verifies when received URL-encoded (%2F, %2B, %3D)', () => {
    const raw = `${encodeQuery(EXAMPLE)}&authToken=T9zJByss6TSnote1A5MY%2FuoxB6oc3F%2BrkE%2BBuSdz4ek%3D`;
    expect(verifyRaw(raw)).toMatchObject({ ok: true });
  });

  it("verifies when the token's '+' arrived un-encoded", () => {
    const raw = `${encodeQuery(EXAMPLE)}&authToken=${EXAMPLE_TOKEN}`;
    expect(raw).toContain('F+rkE+Bu');
    expect(verifyRaw(raw)).toMatchObject({ ok: true });
  });

  it("verifies when the token's '+' was turned into a space upstream", () => {
    const parsed = { params: { ...EXAMPLE, authToken: EXAMPLE_TOKEN.replace(/\+/g, ' ') }, plusVariants: {} };
    expect(verifyV1AuthToken(KEY, parsed, OPTS)).toMatchObject({ ok: true });
  });
});

describe('canonicalV1', () => {
  it('sorts by ASCII code (upper case before lower case, like Java TreeMap)', () => {
    expect(canonicalV1({ b: '1', B: '2', a: '3', _x: '4', '1': '5' })).toBe('1=5&B=2&_x=4&a=3&b=1');
  });

  it('uses decoded values verbatim and keeps empty values', () => {
    expect(canonicalV1({ z: 'a b&c=d', y: '', authToken: 'x' })).toBe('y=&z=a b&c=d');
  });
});

describe('parseRawQuery', () => {
  it('splits, decodes names and values, and keeps empty values', () => {
    const p = parseRawQuery('a=1&b=%E4%BD%A0%E5%A5%BD&c=&d&e%20f=x%3Dy');
    expect(p?.params).toEqual({ a: '1', b: '你好', c: '', d: '', 'e f': 'x=y' });
    expect(p?.duplicates).toEqual([]);
    expect(p?.plusVariants).toEqual({});
  });

  it('splits on the first = only', () => {
    expect(parseRawQuery('a=b=c==')?.params).toEqual({ a: 'b=c==' });
  });

  it('skips empty segments', () => {
    expect(parseRawQuery('&&a=1&&')?.params).toEqual({ a: '1' });
    expect(parseRawQuery('')?.params).toEqual({});
  });

  it('records duplicated names once and keeps the first value', () => {
    const p = parseRawQuery('a=1&b=2&a=3&a=4&b=5&c=6');
    expect(p?.params).toEqual({ a: '1', b: '2', c: '6' });
    expect(p?.duplicates).toEqual(['a', 'b']);
  });

  it("keeps a raw '+' literally and records the '+'-as-space reading", () => {
    const p = parseRawQuery('name=a+b%2Bc&other=x');
    expect(p?.params).toEqual({ name: 'a+b+c', other: 'x' });
    expect(p?.plusVariants).toEqual({ name: 'a b+c' });
  });

  it('does not record a plus variant for an encoded %2B', () => {
    expect(parseRawQuery('a=%2B')?.plusVariants).toEqual({});
  });

  it.each(['a=%', 'a=%2', 'a=%zz', 'a=ok&b=%E4%BD', 'a=%C3%28', '%ZZ=1', 'a=%u0041'])(
    'fails the whole parse on a malformed escape: %j',
    (raw) => {
      expect(parseRawQuery(raw)).toBeUndefined();
    },
  );

  it('treats prototype names as plain data', () => {
    const p = parseRawQuery('__proto__=x&constructor=y&toString=z&toString=w');
    expect(p).toBeDefined();
    expect(Object.keys(p!.params)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(p!.params['__proto__']).toBe('x');
    expect(p!.duplicates).toEqual(['toString']);
  });
});

describe('verifyV1AuthToken', () => {
  const params = { ...EXAMPLE, customerName: 'Zhang San 张三', userName: 'a&b=c' };

  it('accepts a correctly signed request (sign → verify)', () => {
    expect(verifyRaw(signedQuery(params))).toMatchObject({ ok: true });
  });

  it('rejects a wrong key', () => {
    expect(verifyRaw(signedQuery(params), OPTS, 'TestAccessKey-0123456788')).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyRaw(signedQuery(params, 'other-key'))).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects any tampered parameter value', () => {
    for (const name of Object.keys(params)) {
      if (name === 'timeStamp') continue;
      const token = computeV1AuthToken(KEY, params);
      const tampered = { ...params, [name]: `${params[name as keyof typeof params]}x`, authToken: token };
      expect(verifyV1AuthToken(KEY, { params: tampered, plusVariants: {} }, OPTS), name).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    }
  });

  it('rejects an added or removed parameter', () => {
    const token = computeV1AuthToken(KEY, params);
    expect(verifyV1AuthToken(KEY, { params: { ...params, extra: '1', authToken: token }, plusVariants: {} }, OPTS).ok).toBe(false);
    const { userName: _drop, ...fewer } = params;
    expect(verifyV1AuthToken(KEY, { params: { ...fewer, authToken: token }, plusVariants: {} }, OPTS).ok).toBe(false);
  });

  it('rejects every single-character change of the token', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';
    for (let i = 0; i < EXAMPLE_TOKEN.length; i++) {
      const c = EXAMPLE_TOKEN[i]!;
      const replacement = alphabet[(alphabet.indexOf(c) + 1) % alphabet.length]!;
      const token = EXAMPLE_TOKEN.slice(0, i) + replacement + EXAMPLE_TOKEN.slice(i + 1);
      expect(verifyV1AuthToken(KEY, { params: { ...EXAMPLE, authToken: token }, plusVariants: {} }, OPTS)).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    }
  });

  it('rejects a truncated or extended token', () => {
    for (const token of [EXAMPLE_TOKEN.slice(0, -1), `${EXAMPLE_TOKEN}A`, 'x']) {
      expect(verifyV1AuthToken(KEY, { params: { ...EXAMPLE, authToken: token }, plusVariants: {} }, OPTS)).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    }
  });

  it('reports a missing authToken or timeStamp', () => {
    const { timeStamp: _t, ...noTs } = EXAMPLE;
    expect(verifyV1AuthToken(KEY, { params: EXAMPLE, plusVariants: {} }, OPTS)).toEqual({ ok: false, reason: 'missing' });
    expect(verifyV1AuthToken(KEY, { params: { ...EXAMPLE, authToken: '' }, plusVariants: {} }, OPTS)).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(verifyV1AuthToken(KEY, { params: { ...noTs, authToken: EXAMPLE_TOKEN }, plusVariants: {} }, OPTS)).toEqual({
      ok: false,
      reason: 'missing',
    });
  });

  it.each(['2020', '1595835431903', '20201327073711903', '20200230073711903', 'now'])(
    'reports a malformed timeStamp %j',
    (timeStamp) => {
      const p = { ...EXAMPLE, timeStamp };
      const r = verifyV1AuthToken(KEY, { params: { ...p, authToken: computeV1AuthToken(KEY, p) }, plusVariants: {} }, OPTS);
      expect(r).toEqual({ ok: false, reason: 'bad-timestamp' });
    },
  );

  it('accepts a timeStamp 59 s in the past or future and rejects 61 s', () => {
    const raw = signedQuery(EXAMPLE);
    expect(verifyRaw(raw, { nowMs: EXAMPLE_NOW + 59_000, toleranceMs: 60_000 })).toMatchObject({ ok: true });
    expect(verifyRaw(raw, { nowMs: EXAMPLE_NOW - 59_000, toleranceMs: 60_000 })).toMatchObject({ ok: true });
    expect(verifyRaw(raw, { nowMs: EXAMPLE_NOW + 61_000, toleranceMs: 60_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyRaw(raw, { nowMs: EXAMPLE_NOW - 61_000, toleranceMs: 60_000 })).toEqual({ ok: false, reason: 'stale' });
  });

  it('honours the caller-supplied tolerance (e.g. a 5 min policy)', () => {
    const raw = signedQuery(EXAMPLE);
    expect(verifyRaw(raw, { nowMs: EXAMPLE_NOW + 299_000, toleranceMs: 300_000 })).toMatchObject({ ok: true });
    expect(verifyRaw(raw, { nowMs: EXAMPLE_NOW + 301_000, toleranceMs: 300_000 }).ok).toBe(false);
  });

  it('accepts a 14-digit timeStamp', () => {
    const p = { ...EXAMPLE, timeStamp: '20200727073711' };
    expect(verifyRaw(signedQuery(p), { nowMs: Date.UTC(2020, 6, 27, 7, 37, 11), toleranceMs: 1000 })).toMatchObject({ ok: true });
  });

  describe("un-encoded '+' in a value (UNCONFIRMED reading)", () => {
    const base = { ...EXAMPLE, customerName: 'Li+Lei' };
    const raw = (token: string) =>
      `${encodeQuery({ ...EXAMPLE })}&customerName=Li+Lei&authToken=${encodeURIComponent(token)}`;

    it("accepts a token computed over the literal '+', and the request's values are the literal ones", () => {
      const r = verifyRaw(raw(computeV1AuthToken(KEY, base)));
      expect(r).toMatchObject({ ok: true });
      expect(r.ok && r.params.customerName).toBe('Li+Lei');
    });

    it("accepts a token computed over '+' read as a space, and the request's values are the ones signed", () => {
      const r = verifyRaw(raw(computeV1AuthToken(KEY, { ...base, customerName: 'Li Lei' })));
      expect(r).toMatchObject({ ok: true });
      // Acting on the literal reading would process values nobody signed.
      expect(r.ok && r.params.customerName).toBe('Li Lei');
    });

    it('rejects a token over any other value', () => {
      expect(verifyRaw(raw(computeV1AuthToken(KEY, { ...base, customerName: 'LiLei' })))).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    });

    it("an encoded %2B is only ever a '+'", () => {
      const q = `${encodeQuery(EXAMPLE)}&customerName=Li%2BLei&authToken=${encodeURIComponent(
        computeV1AuthToken(KEY, { ...base, customerName: 'Li Lei' }),
      )}`;
      expect(verifyRaw(q)).toEqual({ ok: false, reason: 'mismatch' });
    });
  });

  it('signs encrypted fields as ciphertext (decoded from URL encoding only)', () => {
    const p = { ...EXAMPLE, mobilePhone: 'a1B2c3D4e5F6g7H8k0BudWgmiGTIOQUAptWNOA==', email: 'a1B2c3D4e5F6g7H8x+y/z==' };
    expect(verifyRaw(signedQuery(p))).toMatchObject({ ok: true });
  });
});
