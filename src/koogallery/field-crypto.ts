import { createCipheriv, createDecipheriv, createHash, randomInt } from 'node:crypto';
import { Buffer } from 'node:buffer';

// AES field encryption (spec §2.4): value = IV (16 ASCII chars) + Base64(AES-CBC-PKCS5(key, IV bytes, UTF-8 text)).
// The key is what Java's KeyGenerator("AES") draws from a SHA1PRNG seeded with the accessKey, not the key itself.

/** `encryptType` of the newInstance response: '1' = AES-256 (default), '2' = AES-128. */
export type EncryptType = '1' | '2';

/** Why a field could not be encrypted or decrypted. */
export type FieldCryptoErrorCode =
  | 'BAD_ENCRYPT_TYPE'
  | 'BAD_IV'
  | 'BAD_INPUT'
  | 'BAD_BASE64'
  | 'BAD_CIPHERTEXT'
  | 'DECRYPT_FAILED'
  | 'BAD_UTF8';

/** Thrown for malformed field-crypto input; `code` says which check failed (never includes key or plaintext). */
export class FieldCryptoError extends Error {
  readonly code: FieldCryptoErrorCode;
  constructor(code: FieldCryptoErrorCode, message: string) {
    super(message);
    this.name = 'FieldCryptoError';
    this.code = code;
  }
}

const toSigned = (b: number): number => (b << 24) >> 24;

/** Emulates Sun's SHA1PRNG: setSeed(seed) on a fresh instance, then one nextBytes(n) call. */
function sha1prng(seed: Buffer, n: number): Buffer {
  const state = createHash('sha1').update(seed).digest();
  const out = Buffer.alloc(n);
  for (let index = 0; index < n; ) {
    const block = createHash('sha1').update(state).digest();
    // sun.security.provider.SecureRandom.updateState: signed byte-wise add of block + 1 with carry.
    let last = 1;
    let changed = false;
    for (let i = 0; i < state.length; i++) {
      const v = toSigned(state[i]!) + toSigned(block[i]!) + last;
      const t = v & 0xff;
      changed ||= state[i] !== t;
      state[i] = t;
      last = v >> 8;
    }
    if (!changed) state[0] = (state[0]! + 1) & 0xff;
    const take = Math.min(n - index, block.length);
    block.copy(out, index, 0, take);
    index += take;
  }
  return out;
}

const KEY_CACHE_MAX = 64;
const keyCache = new Map<string, Buffer>();

/** The AES key Java's KeyGenerator derives from SHA1PRNG seeded with the accessKey's UTF-8 bytes (cached, copy returned). */
export function deriveAesKey(accessKey: string, bits: 128 | 256): Buffer {
  if (bits !== 128 && bits !== 256) throw new FieldCryptoError('BAD_ENCRYPT_TYPE', 'key size must be 128 or 256');
  const cacheKey = `${bits}:${accessKey}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = sha1prng(Buffer.from(accessKey, 'utf8'), bits / 8);
    // Insertion-ordered Map: dropping the first entry is a cheap FIFO bound (few distinct keys in practice).
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
    keyCache.set(cacheKey, key);
  }
  return Buffer.from(key);
}

const IV_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 16 random characters from [A-Za-z0-9] (crypto.randomInt, no modulo bias). */
export function randomIv(): string {
  let iv = '';
  for (let i = 0; i < 16; i++) iv += IV_ALPHABET[randomInt(IV_ALPHABET.length)];
  return iv;
}

function cipherFor(encryptType: EncryptType): { algorithm: string; bits: 128 | 256 } {
  if (encryptType === '1') return { algorithm: 'aes-256-cbc', bits: 256 };
  if (encryptType === '2') return { algorithm: 'aes-128-cbc', bits: 128 };
  throw new FieldCryptoError('BAD_ENCRYPT_TYPE', "encryptType must be '1' or '2'");
}

/** Encrypts a field as IV + Base64(ciphertext); a random IV is drawn when none is given. */
export function encryptField(accessKey: string, plaintext: string, encryptType: EncryptType = '1', iv?: string): string {
  const { algorithm, bits } = cipherFor(encryptType);
  if (typeof plaintext !== 'string') throw new FieldCryptoError('BAD_INPUT', 'plaintext must be a string');
  const ivText = iv ?? randomIv();
  if (!/^[A-Za-z0-9]{16}$/.test(ivText)) throw new FieldCryptoError('BAD_IV', 'IV must be 16 characters from [A-Za-z0-9]');
  const cipher = createCipheriv(algorithm, deriveAesKey(accessKey, bits), Buffer.from(ivText, 'latin1'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ivText + ct.toString('base64');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decrypts an IV + Base64(ciphertext) field; throws FieldCryptoError on malformed input or a wrong key. */
export function decryptField(accessKey: string, value: string, encryptType: EncryptType = '1'): string {
  const { algorithm, bits } = cipherFor(encryptType);
  if (typeof value !== 'string' || value.length <= 16) {
    throw new FieldCryptoError('BAD_INPUT', 'value must be a 16-character IV followed by Base64');
  }
  const ivText = value.slice(0, 16);
  // The marketplace draws IVs from [A-Za-z0-9]; any printable ASCII is accepted since only its bytes matter.
  if (!/^[\x21-\x7e]{16}$/.test(ivText)) throw new FieldCryptoError('BAD_IV', 'IV must be 16 ASCII characters');
  // A '+' sent un-encoded in a query string often arrives as a space; Base64 has no spaces, so restore it.
  const b64 = value.slice(16).replace(/ /g, '+').replace(/[\r\n]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) {
    throw new FieldCryptoError('BAD_BASE64', 'ciphertext is not valid Base64');
  }
  const ct = Buffer.from(b64, 'base64');
  if (ct.length === 0 || ct.length % 16 !== 0) {
    throw new FieldCryptoError('BAD_CIPHERTEXT', 'ciphertext length must be a positive multiple of 16 bytes');
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv(algorithm, deriveAesKey(accessKey, bits), Buffer.from(ivText, 'latin1'));
    plain = Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch {
    throw new FieldCryptoError('DECRYPT_FAILED', 'decryption failed (wrong key, encryptType or corrupted data)');
  }
  try {
    return utf8.decode(plain);
  } catch {
    throw new FieldCryptoError('BAD_UTF8', 'decrypted bytes are not UTF-8 (wrong key or encryptType?)');
  }
}
