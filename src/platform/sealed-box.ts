import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

// At-rest encryption for secrets we must keep readable (tenant credentials), keyed by DATA_ENCRYPTION_KEY.
// Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url without padding. The version prefix names the key
// derivation and algorithm, so the key or algorithm can rotate later: a future `v2` box opens both versions and
// seals only the new one, and rows are re-sealed lazily. `open` never guesses: an unknown version is invalid.

/** The one error code of SealedBoxError: the input is malformed, was tampered with, or was sealed with another key. */
export type SealedBoxErrorCode = 'SEALED_BOX_INVALID';

/** Thrown by `open`; the message says which check failed and never contains key material or plaintext. */
export class SealedBoxError extends Error {
  readonly code: SealedBoxErrorCode = 'SEALED_BOX_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealedBoxError';
  }
}

/** Seals and opens secrets with one key; also derives keyed digests for identifiers that must not be guessable. */
export interface SealedBox {
  /** Encrypts UTF-8 text; two seals of the same text differ (random IV). */
  seal(plaintext: string): string;
  /** Decrypts a `seal` result; throws SealedBoxError on tampering, a wrong key or malformed input. */
  open(sealed: string): string;
  /** Seals the JSON form of a value. */
  sealJson(value: unknown): string;
  /** Opens a `sealJson` result; the caller vouches for T (it was sealed by us, so it is not re-validated). */
  openJson<T>(sealed: string): T;
  /**
   * HMAC-SHA256 (hex) of `data` under a subkey for `purpose`, independent of the encryption key: deterministic for
   * this secret, unguessable without it.
   */
  keyedDigest(purpose: string, data: string): string;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// HKDF salt and info pin the derived keys to this box's format and purpose; changing them changes every key.
const HKDF_SALT = Buffer.from('koogallery-orders/sealed-box', 'utf8');
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url: Buffer.from ignores stray characters and trailing bits, so a tampered part could decode "fine". */
function decodePart(part: string, name: string): Buffer {
  if (!BASE64URL.test(part)) throw new SealedBoxError(`sealed value has a malformed ${name}`);
  const bytes = Buffer.from(part, 'base64url');
  if (bytes.toString('base64url') !== part) throw new SealedBoxError(`sealed value has a non-canonical ${name}`);
  return bytes;
}

/** Creates a sealed box keyed by HKDF-SHA256 of `secret` (AES-256-GCM, random 12-byte IV). */
export function createSealedBox(secret: string): SealedBox {
  if (secret.length === 0) throw new RangeError('sealed box secret must not be empty');
  const ikm = Buffer.from(secret, 'utf8');
  const encryptionKey = Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, `${VERSION}/aes-256-gcm`, KEY_BYTES));
  const digestKey = Buffer.from(hkdfSync('sha256', ikm, HKDF_SALT, `${VERSION}/keyed-digest`, KEY_BYTES));
  // The version prefix is authenticated too, so a sealed value cannot be relabelled as another version.
  const aad = Buffer.from(VERSION, 'utf8');

  const seal = (plaintext: string): string => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
  };

  const open = (sealed: string): string => {
    if (typeof sealed !== 'string') throw new SealedBoxError('sealed value is not a string');
    const parts = sealed.split('.');
    if (parts.length !== 4) throw new SealedBoxError('sealed value does not have 4 parts');
    const [version, ivPart, tagPart, ciphertextPart] = parts as [string, string, string, string];
    if (version !== VERSION) throw new SealedBoxError('sealed value has an unknown version');
    const iv = decodePart(ivPart, 'iv');
    const tag = decodePart(tagPart, 'tag');
    const ciphertext = decodePart(ciphertextPart, 'ciphertext');
    if (iv.length !== IV_BYTES) throw new SealedBoxError('sealed value has an iv of the wrong length');
    if (tag.length !== TAG_BYTES) throw new SealedBoxError('sealed value has a tag of the wrong length');
    try {
      const decipher = createDecipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      // fatal: a valid tag over invalid UTF-8 cannot come from `seal`, so report it rather than return U+FFFD.
      return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
    } catch (err) {
      throw new SealedBoxError('sealed value failed authentication (tampered, or sealed with another key)', { cause: err });
    }
  };

  return {
    seal,
    open,
    sealJson: (value) => {
      const json = JSON.stringify(value);
      if (json === undefined) throw new TypeError('sealJson: value has no JSON form');
      return seal(json);
    },
    openJson: <T>(sealed: string): T => {
      const json = open(sealed);
      try {
        return JSON.parse(json) as T;
      } catch (err) {
        throw new SealedBoxError('sealed value does not hold JSON', { cause: err });
      }
    },
    keyedDigest: (purpose, data) => createHmac('sha256', digestKey).update(`${purpose}\0${data}`, 'utf8').digest('hex'),
  };
}
