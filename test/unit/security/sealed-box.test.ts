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

describe('a sealed box during a key rotation (current key + previous keys)', () => {
  const OLD = 'old-data-encryption-key-0001';
  const NEW = 'new-data-encryption-key-0002';
  const oldBox = createSealedBox(OLD);
  const rotated = createSealedBox(NEW, [OLD]);

  it('when a value was sealed under a previous key, then the rotated box opens it, and seals new values under the current key only', () => {
    const before = oldBox.sealJson({ userName: 'admin-t1', password: 'p' });
    expect(rotated.openJson(before)).toEqual({ userName: 'admin-t1', password: 'p' });
    const after = rotated.seal('new secret');
    expect(createSealedBox(NEW).open(after)).toBe('new secret');
    expectInvalid(() => oldBox.open(after));
  });

  it('when a value is resealed, then only one under a previous key changes, and the result opens with the current key alone', () => {
    const before = oldBox.seal('move me');
    const moved = rotated.reseal(before);
    expect(moved).toBeDefined();
    expect(moved).not.toBe(before);
    expect(createSealedBox(NEW).open(moved!)).toBe('move me');
    // Already under the current key: nothing to do, so a second pass over the same rows writes nothing.
    expect(rotated.reseal(moved!)).toBeUndefined();
    expect(rotated.reseal(rotated.seal('fresh'))).toBeUndefined();
  });

  it('when no configured key opens a value, or it was tampered with, then open and reseal refuse it', () => {
    const stranger = createSealedBox('unknown-data-encryption-key-03').seal('x');
    expectInvalid(() => rotated.open(stranger));
    expectInvalid(() => rotated.reseal(stranger));
    const parts = oldBox.seal('tampered').split('.');
    parts[3] = flipChar(parts[3]!, 0);
    expectInvalid(() => rotated.open(parts.join('.')));
    expectInvalid(() => rotated.reseal(parts.join('.')));
  });

  it('when the first step of a rolling rotation runs (the new key known only as a previous one), then values sealed by processes already on it open there', () => {
    const firstStep = createSealedBox(OLD, [NEW]);
    expect(firstStep.open(rotated.seal('from a rotated process'))).toBe('from a rotated process');
    // It still seals under the old key, which the rotated processes open as their previous one.
    expect(rotated.open(firstStep.seal('from a first-step process'))).toBe('from a first-step process');
  });

  it('when keyed digests are taken, then they are the current key\'s (what was derived and stored before stays as stored)', () => {
    expect(rotated.keyedDigest('tenant-key', 'inst-1')).toBe(createSealedBox(NEW).keyedDigest('tenant-key', 'inst-1'));
    expect(rotated.keyedDigest('tenant-key', 'inst-1')).not.toBe(oldBox.keyedDigest('tenant-key', 'inst-1'));
  });

  it('refuses an empty previous secret', () => {
    expect(() => createSealedBox(NEW, [''])).toThrow(RangeError);
  });
});
