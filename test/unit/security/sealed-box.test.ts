import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createSealedBox, SealedBoxError } from '../../../src/platform/sealed-box.js';

const box = createSealedBox('unit-test-data-encryption-key-0001');

/** Replaces one character of a base64url string by a different base64url character. */
function flipChar(part: string, index: number): string {
  const c = part[index]!;
  const replacement = c === 'A' ? 'B' : 'A';
  return part.slice(0, index) + replacement + part.slice(index + 1);
}

function expectInvalid(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SealedBoxError);
  expect((caught as SealedBoxError).code).toBe('SEALED_BOX_INVALID');
}

describe('createSealedBox', () => {
  it('round-trips text in the v1.<iv>.<tag>.<ciphertext> format', () => {
    const sealed = box.seal('s3cret-Password!');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('s3cret');
    expect(box.open(sealed)).toBe('s3cret-Password!');
  });

  it('round-trips unicode and the empty string', () => {
    for (const text of ['密码🔐 naïve Ωμέγα', '', '\u0000\n\t', 'a'.repeat(10_000)]) {
      expect(box.open(box.seal(text))).toBe(text);
    }
  });

  it('round-trips any string (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (text) => box.open(box.seal(text)) === text));
  });

  it('seals the same text differently each time', () => {
    const a = box.seal('same');
    const b = box.seal('same');
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(box.open(a)).toBe(box.open(b));
  });

  it.each([
    [1, 'iv'],
    [2, 'tag'],
    [3, 'ciphertext'],
  ])('detects tampering with every character of the %s part (%s)', (partIndex) => {
    const sealed = box.seal('tamper me, please');
    const parts = sealed.split('.');
    const part = parts[partIndex]!;
    for (let i = 0; i < part.length; i++) {
      const tampered = [...parts];
      tampered[partIndex] = flipChar(part, i);
      expectInvalid(() => box.open(tampered.join('.')));
    }
  });

  it('rejects a changed version prefix, even one that names another version', () => {
    const [, iv, tag, ct] = box.seal('x').split('.');
    expectInvalid(() => box.open(['v2', iv, tag, ct].join('.')));
    expectInvalid(() => box.open(['V1', iv, tag, ct].join('.')));
  });

  it('rejects a value sealed with another key', () => {
    const other = createSealedBox('another-data-encryption-key-0002');
    expectInvalid(() => box.open(other.seal('hello')));
    expectInvalid(() => other.open(box.seal('hello')));
  });

  it.each([
    ['empty', ''],
    ['no parts', 'v1'],
    ['three parts', 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['five parts', 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AA.AA'],
    ['padding', 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA==.AA'],
    ['standard base64', 'v1.AAAAAAAAAAAAAAA+.AAAAAAAAAAAAAAAAAAAAAA.AA'],
    ['short iv', 'v1.AAAA.AAAAAAAAAAAAAAAAAAAAAA.AA'],
    ['short tag', 'v1.AAAAAAAAAAAAAAAA.AAAA.AA'],
    ['non-canonical base64url', 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAB.AA'],
  ])('rejects malformed input (%s)', (_label, input) => {
    expectInvalid(() => box.open(input));
  });

  it('round-trips JSON and rejects sealed non-JSON in openJson', () => {
    const value = { userName: 'admin-t0123', password: 'p@ss', nested: { n: 1, list: [true, null] } };
    const sealed = box.sealJson(value);
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(box.openJson<typeof value>(sealed)).toEqual(value);
    expectInvalid(() => box.openJson(box.seal('not json {')));
  });

  it('derives keyed digests that depend on the secret, the purpose and the data', () => {
    const same = createSealedBox('unit-test-data-encryption-key-0001');
    const other = createSealedBox('another-data-encryption-key-0002');
    const d = box.keyedDigest('tenant-key', 'inst-1');
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(same.keyedDigest('tenant-key', 'inst-1')).toBe(d);
    expect(other.keyedDigest('tenant-key', 'inst-1')).not.toBe(d);
    expect(box.keyedDigest('other-purpose', 'inst-1')).not.toBe(d);
    expect(box.keyedDigest('tenant-key', 'inst-2')).not.toBe(d);
  });

  it('refuses an empty secret', () => {
    expect(() => createSealedBox('')).toThrow(RangeError);
  });
});
