import { describe, it, expect } from 'vitest';
import { Buffer } from 'node:buffer';
import {
  v2PayloadHash,
  computeV2Signature,
  extractV2Credentials,
  verifyV2Signature,
} from '../../../src/koogallery/v2-signature.js';

const KEY = 'TestAccessKey-0123456789';

// Spec §2.2 worked example.
const BODY =
  '{"activity":"newInstance","businessId":"87b94795-0603-4e24-8ae5-69420d60e3c8","orderId":"CS2211181819B4LVS","orderLineId":"CS2211181819B4LVS-000001","testFlag":"1"}';
const TIMESTAMP = '1680508066618';
const NONCE = '50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA';
const PAYLOAD_HASH = 'c144ae9052311082a071d4a0616199df8612927a44016964d9e735169a68d9be';
const SIGNATURE = 'C3E0739F9F9AC29F41D171EBC4882300BB9B6BE2290F8EBD13D0B4E20F85B6D2';
const NOW = 1680508066618;
const CREDS = { signature: SIGNATURE, timestamp: TIMESTAMP, nonce: NONCE };
const BODY_BUF = Buffer.from(BODY, 'utf8');

describe('§2.2 worked example', () => {
  it('payloadHash (lower-case hex HMAC of the body)', () => {
    expect(v2PayloadHash(KEY, BODY)).toBe(PAYLOAD_HASH);
    expect(v2PayloadHash(KEY, BODY_BUF)).toBe(PAYLOAD_HASH);
  });

  it('signature (upper-case hex)', () => {
    expect(computeV2Signature(KEY, { nonce: NONCE, timestamp: TIMESTAMP, body: BODY })).toBe(SIGNATURE);
    expect(computeV2Signature(KEY, { nonce: NONCE, timestamp: TIMESTAMP, body: BODY_BUF })).toBe(SIGNATURE);
  });

  it('verifies', () => {
    expect(verifyV2Signature(KEY, CREDS, BODY_BUF, { nowMs: NOW })).toEqual({ ok: true, timestampMs: NOW });
  });

  it('compares case-insensitively', () => {
    expect(verifyV2Signature(KEY, { ...CREDS, signature: SIGNATURE.toLowerCase() }, BODY_BUF, { nowMs: NOW }).ok).toBe(true);
  });
});

describe('verifyV2Signature', () => {
  it('round-trips for arbitrary binary bodies and the empty body', () => {
    for (const body of [Buffer.alloc(0), Buffer.from([0, 255, 10, 13, 0x80]), Buffer.from('{"a":"中文"}\n', 'utf8')]) {
      const signature = computeV2Signature(KEY, { nonce: 'n-1', timestamp: TIMESTAMP, body });
      expect(verifyV2Signature(KEY, { signature, timestamp: TIMESTAMP, nonce: 'n-1' }, body, { nowMs: NOW }).ok).toBe(true);
    }
  });

  it('rejects a flipped byte anywhere in the body', () => {
    for (let i = 0; i < BODY_BUF.length; i++) {
      const tampered = Buffer.from(BODY_BUF);
      tampered[i] = tampered[i]! ^ 0x01;
      expect(verifyV2Signature(KEY, CREDS, tampered, { nowMs: NOW })).toEqual({ ok: false, reason: 'mismatch' });
    }
  });

  it('rejects a re-serialised body (whitespace matters)', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(BODY), null, 1));
    expect(verifyV2Signature(KEY, CREDS, reserialised, { nowMs: NOW }).ok).toBe(false);
    expect(verifyV2Signature(KEY, CREDS, Buffer.from(`${BODY}\n`), { nowMs: NOW }).ok).toBe(false);
  });

  it('rejects any changed character of the signature', () => {
    for (let i = 0; i < SIGNATURE.length; i++) {
      const c = SIGNATURE[i]!;
      const replacement = c === '0' ? '1' : '0';
      const signature = SIGNATURE.slice(0, i) + replacement + SIGNATURE.slice(i + 1);
      expect(verifyV2Signature(KEY, { ...CREDS, signature }, BODY_BUF, { nowMs: NOW })).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    }
  });

  it('rejects a truncated, extended or non-hex signature', () => {
    for (const signature of [SIGNATURE.slice(0, -1), `${SIGNATURE}0`, 'Z'.repeat(64), 'ß'.repeat(64)]) {
      expect(verifyV2Signature(KEY, { ...CREDS, signature }, BODY_BUF, { nowMs: NOW })).toEqual({
        ok: false,
        reason: 'mismatch',
      });
    }
  });

  it('rejects a wrong key', () => {
    expect(verifyV2Signature('TestAccessKey-0123456788', CREDS, BODY_BUF, { nowMs: NOW })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects a changed nonce or timestamp', () => {
    expect(verifyV2Signature(KEY, { ...CREDS, nonce: `${NONCE.slice(0, -1)}B` }, BODY_BUF, { nowMs: NOW }).ok).toBe(false);
    expect(verifyV2Signature(KEY, { ...CREDS, timestamp: '1680508066619' }, BODY_BUF, { nowMs: NOW })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('accepts ±59 s and rejects ±61 s (default 60 s window)', () => {
    expect(verifyV2Signature(KEY, CREDS, BODY_BUF, { nowMs: NOW + 59_000 }).ok).toBe(true);
    expect(verifyV2Signature(KEY, CREDS, BODY_BUF, { nowMs: NOW - 59_000 }).ok).toBe(true);
    expect(verifyV2Signature(KEY, CREDS, BODY_BUF, { nowMs: NOW + 61_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyV2Signature(KEY, CREDS, BODY_BUF, { nowMs: NOW - 61_000 })).toEqual({ ok: false, reason: 'stale' });
  });

  it('honours a custom tolerance', () => {
    expect(verifyV2Signature(KEY, CREDS, BODY_BUF, { nowMs: NOW + 5_000, toleranceMs: 4_000 })).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(verifyV2Signature(KEY, CREDS, BODY_BUF, { nowMs: NOW + 3_000, toleranceMs: 4_000 }).ok).toBe(true);
  });

  it('accepts a timestamp in seconds, signed as received', () => {
    const ts = '1680508066';
    const signature = computeV2Signature(KEY, { nonce: NONCE, timestamp: ts, body: BODY });
    const creds = { signature, timestamp: ts, nonce: NONCE };
    expect(verifyV2Signature(KEY, creds, BODY_BUF, { nowMs: 1680508066000 + 59_000 })).toEqual({
      ok: true,
      timestampMs: 1680508066000,
    });
    expect(verifyV2Signature(KEY, creds, BODY_BUF, { nowMs: 1680508066000 - 59_000 }).ok).toBe(true);
    expect(verifyV2Signature(KEY, creds, BODY_BUF, { nowMs: 1680508066000 + 61_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyV2Signature(KEY, creds, BODY_BUF, { nowMs: 1680508066000 - 61_000 })).toEqual({ ok: false, reason: 'stale' });
  });

  it('does not accept a signature made over the ms form for a seconds timestamp', () => {
    const signature = computeV2Signature(KEY, { nonce: NONCE, timestamp: '1680508066000', body: BODY });
    expect(
      verifyV2Signature(KEY, { signature, timestamp: '1680508066', nonce: NONCE }, BODY_BUF, { nowMs: 1680508066000 }),
    ).toEqual({ ok: false, reason: 'mismatch' });
  });

  it.each(['abc', '-1680508066618', '1680508066618.0', '1.680508066618e12', ' 1680508066618', '12345678901234567'])(
    'reports bad-timestamp for %j',
    (timestamp) => {
      expect(verifyV2Signature(KEY, { ...CREDS, timestamp }, BODY_BUF, { nowMs: NOW })).toEqual({
        ok: false,
        reason: 'bad-timestamp',
      });
    },
  );

  it('reports missing for an empty or absent field', () => {
    for (const creds of [
      { ...CREDS, signature: '' },
      { ...CREDS, timestamp: '' },
      { ...CREDS, nonce: '' },
      { timestamp: TIMESTAMP, nonce: NONCE },
    ]) {
      expect(verifyV2Signature(KEY, creds as typeof CREDS, BODY_BUF, { nowMs: NOW })).toEqual({ ok: false, reason: 'missing' });
    }
  });

  it('checks the nonce shape: 1..128 printable ASCII', () => {
    const sign = (nonce: string) => computeV2Signature(KEY, { nonce, timestamp: TIMESTAMP, body: BODY });
    const ok128 = 'n'.repeat(128);
    expect(verifyV2Signature(KEY, { signature: sign(ok128), timestamp: TIMESTAMP, nonce: ok128 }, BODY_BUF, { nowMs: NOW }).ok).toBe(true);
    expect(verifyV2Signature(KEY, { signature: sign('~ !'), timestamp: TIMESTAMP, nonce: '~ !' }, BODY_BUF, { nowMs: NOW }).ok).toBe(true);
    for (const nonce of ['n'.repeat(129), 'nonce\n', 'nonceé', 'tab\there', '\u0000']) {
      expect(verifyV2Signature(KEY, { signature: sign(nonce), timestamp: TIMESTAMP, nonce }, BODY_BUF, { nowMs: NOW })).toEqual({
        ok: false,
        reason: 'bad-nonce',
      });
    }
  });
});

describe('extractV2Credentials', () => {
  const q = { signature: SIGNATURE, timestamp: TIMESTAMP, nonce: NONCE };
  const h = { 'x-sign': SIGNATURE, 'x-timestamp': TIMESTAMP, 'x-nonce': NONCE };

  it('reads query parameters', () => {
    expect(extractV2Credentials({ ...q, other: 'x' }, {})).toEqual({ ...q, source: 'query' });
  });

  it('reads x-sign / x-timestamp / x-nonce headers', () => {
    expect(extractV2Credentials({}, { ...h, 'content-type': 'application/json' })).toEqual({ ...q, source: 'headers' });
  });

  it('prefers a complete query over headers', () => {
    expect(extractV2Credentials(q, { ...h, 'x-sign': 'other' })?.source).toBe('query');
  });

  it('falls back to headers when the query is incomplete', () => {
    expect(extractV2Credentials({ signature: 'x' }, h)).toEqual({ ...q, source: 'headers' });
  });

  it('treats a duplicated (array) parameter as missing', () => {
    expect(extractV2Credentials({ ...q, nonce: [NONCE, NONCE] }, {})).toBeUndefined();
    expect(extractV2Credentials({}, { ...h, 'x-nonce': [NONCE, 'x'] })).toBeUndefined();
    expect(extractV2Credentials({ ...q, signature: [SIGNATURE, 'x'] }, h)?.source).toBe('headers');
  });

  it('treats non-string and empty values as missing', () => {
    expect(extractV2Credentials({ ...q, timestamp: 1680508066618 }, {})).toBeUndefined();
    expect(extractV2Credentials({ ...q, signature: { a: 1 } }, {})).toBeUndefined();
    expect(extractV2Credentials({ ...q, nonce: '' }, {})).toBeUndefined();
    expect(extractV2Credentials({}, { ...h, 'x-timestamp': undefined })).toBeUndefined();
  });

  it('does not mix query and header values', () => {
    expect(extractV2Credentials({ signature: SIGNATURE, timestamp: TIMESTAMP }, { 'x-nonce': NONCE })).toBeUndefined();
  });

  it('is undefined when nothing is present', () => {
    expect(extractV2Credentials({}, {})).toBeUndefined();
  });

  it('extract → verify works for both sources', () => {
    for (const creds of [extractV2Credentials(q, {}), extractV2Credentials({}, h)]) {
      expect(creds).toBeDefined();
      expect(verifyV2Signature(KEY, creds!, BODY_BUF, { nowMs: NOW }).ok).toBe(true);
    }
  });
});
