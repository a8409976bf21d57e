import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

// At-rest encryption for secrets we must keep readable (tenant credentials), keyed by DATA_ENCRYPTION_KEY.
// Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url without padding. The version prefix names the key
// derivation and algorithm (a future algorithm is a `v2`); `open` never guesses: an unknown version is invalid.
//
// Key rotation: the box seals with the current key and opens with it or any previous key
// (DATA_ENCRYPTION_PREVIOUS_KEYS). The format names no key: `open` tries the current key, then the previous ones (a
// failed GCM tag check each, microseconds), so every value sealed before rotation existed still opens, and so does a
// value sealed by a process already on the new key in one that knows it only as a previous key (the first step of
// a rolling rotation, README "Key rotation"). `reseal` moves a stored value to the current key (`npm run secrets:reseal`).

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
  /** Decrypts a `seal` result (under the current or a previous key); throws SealedBoxError on tampering, an unknown key or malformed input. */
  open(sealed: string): string;
  /**
   * The value sealed anew under the current key when only a previous key opens it; undefined when the current key
   * opens it already (nothing to do). Throws SealedBoxError when no configured key opens it.
   */
  reseal(sealed: string): string | undefined;
  /** Seals the JSON form of a value. */
  sealJson(value: unknown): string;
  /** Opens a `sealJson` result; the caller vouches for T (it was sealed by us, so it is not re-validated). */
  openJson<T>(sealed: string): T;
  /**
   * HMAC-SHA256 (hex) of `data` under a subkey for `purpose`, independent of the encryption key: deterministic for
   * this secret, unguessable without it. Always the current key's: callers store what they derive (the built-in
   * provisioner's tenant keys), so a rotation changes what new derivations give, never what was stored.
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

/** The AES key a secret derives (HKDF-SHA256, pinned to the format version and purpose). */
function encryptionKeyOf(secret: string): Buffer {
  if (secret.length === 0) throw new RangeError('sealed box secret must not be empty');
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), HKDF_SALT, `${VERSION}/aes-256-gcm`, KEY_BYTES));
}

/** The parts of a sealed value, checked for shape (not yet for authenticity). */
interface SealedParts {
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
}

function parse(sealed: string): SealedParts {
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
  return { iv, tag, ciphertext };
}

/**
 * Creates a sealed box keyed by HKDF-SHA256 of `secret` (AES-256-GCM, random 12-byte IV) that also opens values
 * sealed under any of `previousSecrets` (a key rotation in progress).
 */
export function createSealedBox(secret: string, previousSecrets: readonly string[] = []): SealedBox {
  const encryptionKey = encryptionKeyOf(secret);
  const digestKey = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), HKDF_SALT, `${VERSION}/keyed-digest`, KEY_BYTES));
  // Current first: nearly every value opens with it, so the previous keys cost nothing until a rotation.
  const openingKeys = [encryptionKey, ...previousSecrets.map(encryptionKeyOf)];
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

  /** The plaintext and which key opened it (0 = the current one). */
  const openWithAnyKey = (sealed: string): { plaintext: string; keyIndex: number } => {
    const { iv, tag, ciphertext } = parse(sealed);
    for (const [keyIndex, key] of openingKeys.entries()) {
      let plaintext: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch {
        continue; // not this key's tag
      }
      try {
        // fatal: a valid tag over invalid UTF-8 cannot come from `seal`, so report it rather than return U+FFFD.
        return { plaintext: new TextDecoder('utf-8', { fatal: true }).decode(plaintext), keyIndex };
      } catch (err) {
        throw new SealedBoxError('sealed value does not hold UTF-8 text', { cause: err });
      }
    }
    throw new SealedBoxError(
      openingKeys.length === 1
        ? 'sealed value failed authentication (tampered, or sealed with another key)'
        : `sealed value failed authentication with all ${openingKeys.length} keys (tampered, or sealed with a key not configured)`,
    );
  };

  const open = (sealed: string): string => openWithAnyKey(sealed).plaintext;

  return {
    seal,
    open,
    reseal: (sealed) => {
      const { plaintext, keyIndex } = openWithAnyKey(sealed);
      return keyIndex === 0 ? undefined : seal(plaintext);
    },
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

/** The service's box, from its configuration: DATA_ENCRYPTION_KEY, and DATA_ENCRYPTION_PREVIOUS_KEYS during a rotation. */
export function sealedBoxOf(config: { readonly dataEncryptionKey: string; readonly dataEncryptionPreviousKeys: readonly string[] }): SealedBox {
  return createSealedBox(config.dataEncryptionKey, config.dataEncryptionPreviousKeys);
}
