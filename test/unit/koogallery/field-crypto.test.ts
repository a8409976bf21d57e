import { describe, it, expect } from 'vitest';
import {
  deriveAesKey,
  encryptField,
  decryptField,
  randomIv,
  FieldCryptoError,
  type EncryptType,
} from '../../../src/koogallery/field-crypto.js';

const KEY = 'TestAccessKey-0123456789';
// Spec §2.4 worked example.
const IV = 'a1B2c3D4e5F6g7H8';
const PLAINTEXT = 'P@ssw0rd!';
const AES128_KEY = 'a9487292a95c31394e78fd4d58f028ea';
const AES256_KEY = 'a9487292a95c31394e78fd4d58f028ea1e60e77f37315124598dbdca0f67e658';
const CT_256 = 'a1B2c3D4e5F6g7H8k0BudWgmiGTIOQUAptWNOA==';
const CT_128 = 'a1B2c3D4e5F6g7H85nUI0gwL0qTmolOM7o0QFw==';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FieldCryptoError);
    return (e as FieldCryptoError).code;
  }
  return undefined;
}

describe('§2.4 worked example', () => {
  it('AES-128 key (SHA1PRNG emulation)', () => {
    expect(deriveAesKey(KEY, 128).toString('hex')).toBe(AES128_KEY);
  });

  it('AES-256 key (SHA1PRNG emulation)', () => {
    expect(deriveAesKey(KEY, 256).toString('hex')).toBe(AES256_KEY);
  });

  it('encryptType "1" (AES-256) ciphertext', () => {
    expect(encryptField(KEY, PLAINTEXT, '1', IV)).toBe(CT_256);
    expect(encryptField(KEY, PLAINTEXT, undefined, IV)).toBe(CT_256);
  });

  it('encryptType "2" (AES-128) ciphertext', () => {
    expect(encryptField(KEY, PLAINTEXT, '2', IV)).toBe(CT_128);
  });

  it('decrypts both example ciphertexts', () => {
    expect(decryptField(KEY, CT_256, '1')).toBe(PLAINTEXT);
    expect(decryptField(KEY, CT_256)).toBe(PLAINTEXT);
    expect(decryptField(KEY, CT_128, '2')).toBe(PLAINTEXT);
  });
});

describe('deriveAesKey', () => {
  it('differs per key and per size prefix is shared', () => {
    expect(deriveAesKey('k1', 256).equals(deriveAesKey('k2', 256))).toBe(false);
    expect(deriveAesKey('k1', 256).subarray(0, 16).equals(deriveAesKey('k1', 128))).toBe(true);
  });

  it('returns a copy: mutating the result does not poison the cache', () => {
    const k = deriveAesKey(KEY, 256);
    k.fill(0);
    expect(deriveAesKey(KEY, 256).toString('hex')).toBe(AES256_KEY);
  });

  it('stays correct after the cache bound is exceeded', () => {
    const first = deriveAesKey('cache-key-0', 256).toString('hex');
    for (let i = 1; i < 200; i++) deriveAesKey(`cache-key-${i}`, 256);
    expect(deriveAesKey('cache-key-0', 256).toString('hex')).toBe(first);
    expect(deriveAesKey(KEY, 128).toString('hex')).toBe(AES128_KEY);
  });

  it('uses the UTF-8 bytes of non-ASCII keys', () => {
    expect(deriveAesKey('密钥', 128).equals(deriveAesKey('\u5bc6\u94a5', 128))).toBe(true);
    expect(deriveAesKey('密钥', 128).length).toBe(16);
    expect(deriveAesKey('', 256).length).toBe(32);
  });

  it('rejects other sizes', () => {
    expect(codeOf(() => deriveAesKey(KEY, 192 as 128))).toBe('BAD_ENCRYPT_TYPE');
  });
});

describe('randomIv', () => {
  it('is 16 characters from [A-Za-z0-9] and varies', () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const iv = randomIv();
      expect(iv).toMatch(/^[A-Za-z0-9]{16}$/);
      ivs.add(iv);
    }
    expect(ivs.size).toBe(200);
  });
});

describe('encryptField / decryptField', () => {
  const samples = ['', 'a', 'admin@example.com', '13800000000', '中文用户名 😀', 'x'.repeat(1000)];

  it.each(['1', '2'] as EncryptType[])('round-trips with a random IV (encryptType %s)', (t) => {
    for (const s of samples) {
      const ct = encryptField(KEY, s, t);
      expect(ct).toMatch(/^[A-Za-z0-9]{16}[A-Za-z0-9+/]+={0,2}$/);
      expect(decryptField(KEY, ct, t)).toBe(s);
    }
  });

  it('uses a fresh IV per call', () => {
    expect(encryptField(KEY, 'same')).not.toBe(encryptField(KEY, 'same'));
  });

  it('fits 128 chars for typical user names/passwords (IV included)', () => {
    expect(encryptField(KEY, 'u'.repeat(64)).length).toBeLessThanOrEqual(128);
  });

  it('a wrong key never yields the plaintext', () => {
    for (const wrong of ['TestAccessKey-0123456788', 'other', '']) {
      let out: string | undefined;
      try {
        out = decryptField(wrong, CT_256);
      } catch (e) {
        expect(e).toBeInstanceOf(FieldCryptoError);
      }
      expect(out).not.toBe(PLAINTEXT);
    }
  });

  it('the wrong encryptType never yields the plaintext', () => {
    expect(codeOf(() => decryptField(KEY, CT_256, '2'))).toMatch(/^(DECRYPT_FAILED|BAD_UTF8)$/);
  });

  it('a changed IV character or ciphertext byte never yields the plaintext', () => {
    const iv = CT_256.slice(0, 16);
    const ct = Buffer.from(CT_256.slice(16), 'base64');
    const variants: string[] = [];
    for (let i = 0; i < iv.length; i++) variants.push(iv.slice(0, i) + (iv[i] === 'A' ? 'B' : 'A') + iv.slice(i + 1) + CT_256.slice(16));
    for (let i = 0; i < ct.length; i++) {
      const t = Buffer.from(ct);
      t[i] = t[i]! ^ 0x01;
      variants.push(iv + t.toString('base64'));
    }
    expect(variants).toHaveLength(16 + 16);
    for (const altered of variants) {
      let out: string | undefined;
      try {
        out = decryptField(KEY, altered);
      } catch (e) {
        expect(e).toBeInstanceOf(FieldCryptoError);
      }
      expect(out).not.toBe(PLAINTEXT);
    }
  });

  it("restores a '+' that arrived as a space", () => {
    let ct = '';
    for (let i = 0; !ct.slice(16).includes('+'); i++) ct = encryptField(KEY, `value-${i}`, '1', IV);
    const plain = decryptField(KEY, ct);
    expect(decryptField(KEY, ct.replace(/\+/g, ' '))).toBe(plain);
  });

  it.each([
    ['empty', '', 'BAD_INPUT'],
    ['IV only', IV, 'BAD_INPUT'],
    ['non-ASCII IV', `é${IV.slice(1)}k0BudWgmiGTIOQUAptWNOA==`, 'BAD_IV'],
    ['not Base64', `${IV}!!!!`, 'BAD_BASE64'],
    ['bad padding', `${IV}k0BudWgmiGTIOQUAptWNOA=`, 'BAD_BASE64'],
    ['short ciphertext', `${IV}AAAA`, 'BAD_CIPHERTEXT'],
    ['truncated block', `${IV}${Buffer.alloc(20).toString('base64')}`, 'BAD_CIPHERTEXT'],
  ])('throws FieldCryptoError for %s', (_label, value, code) => {
    expect(codeOf(() => decryptField(KEY, value))).toBe(code);
  });

  it('throws for an unknown encryptType', () => {
    expect(codeOf(() => encryptField(KEY, 'x', '3' as EncryptType))).toBe('BAD_ENCRYPT_TYPE');
    expect(codeOf(() => decryptField(KEY, CT_256, '0' as EncryptType))).toBe('BAD_ENCRYPT_TYPE');
  });

  it.each(['short', 'a1B2c3D4e5F6g7H8X', 'a1B2c3D4e5F6g7H!', 'a1B2c3D4e5F6g7Hé'])('rejects the IV %j', (iv) => {
    expect(codeOf(() => encryptField(KEY, 'x', '1', iv))).toBe('BAD_IV');
  });

  it('error messages do not leak the key or plaintext', () => {
    try {
      decryptField(KEY, `${IV}${Buffer.alloc(16).toString('base64')}`);
    } catch (e) {
      expect(String((e as Error).message)).not.toContain(KEY);
      return;
    }
    // Sixteen zero bytes happen to decrypt to something: still fine, but make the test meaningful.
    expect.fail('expected a FieldCryptoError');
  });
});
