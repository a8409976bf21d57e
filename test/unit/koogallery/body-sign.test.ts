import { describe, it, expect } from 'vitest';
import { Buffer } from 'node:buffer';
import {
  BODY_SIGN_HEADER,
  bodySignature,
  bodySignHeaderValue,
  verifyBodySignHeader,
} from '../../../src/koogallery/body-sign.js';

const KEY = 'TestAccessKey-0123456789';
// Spec §2.3 worked example.
const BODY = '{"resultCode":"000000","resultMsg":"success.","instanceId":"inst-0001"}';
const SIG = 'AGFgG6YRPM0BjAb1SvFHKMMcmwW0Xe5/ORQwgNl8TdU=';
const HEADER = `sign_type="HMAC-SHA256", signature= "${SIG}"`;

describe('§2.3 worked example', () => {
  it('header name is exactly Body-Sign', () => {
    expect(BODY_SIGN_HEADER).toBe('Body-Sign');
  });

  it('signature value', () => {
    expect(bodySignature(KEY, BODY)).toBe(SIG);
    expect(bodySignature(KEY, Buffer.from(BODY))).toBe(SIG);
  });

  it('header value, byte for byte', () => {
    expect(bodySignHeaderValue(KEY, BODY)).toBe(HEADER);
  });

  it('verifies', () => {
    expect(verifyBodySignHeader(KEY, HEADER, BODY)).toBe(true);
    expect(verifyBodySignHeader(KEY, HEADER, Buffer.from(BODY))).toBe(true);
  });
});

describe('verifyBodySignHeader', () => {
  it('round-trips (sign → verify), including non-ASCII bodies', () => {
    for (const body of ['', ' ', '{"memo":"中文"}', Buffer.from([0, 1, 2, 255])]) {
      expect(verifyBodySignHeader(KEY, bodySignHeaderValue(KEY, body), body)).toBe(true);
    }
  });

  it.each([
    `sign_type="HMAC-SHA256",signature="${SIG}"`,
    `sign_type = "HMAC-SHA256" , signature = "${SIG}"`,
    `signature= "${SIG}", sign_type="HMAC-SHA256"`,
    `sign_type="hmac-sha256", signature= "${SIG}"`,
    `sign_type=HMAC-SHA256, signature=${SIG}`,
    `signature="${SIG}"`,
  ])('tolerates formatting variant %j', (header) => {
    expect(verifyBodySignHeader(KEY, header, BODY)).toBe(true);
  });

  it('rejects a flipped byte anywhere in the body', () => {
    const buf = Buffer.from(BODY);
    for (let i = 0; i < buf.length; i++) {
      const t = Buffer.from(buf);
      t[i] = t[i]! ^ 0x20;
      expect(verifyBodySignHeader(KEY, HEADER, t)).toBe(false);
    }
  });

  it('rejects an added trailing newline', () => {
    expect(verifyBodySignHeader(KEY, HEADER, `${BODY}\n`)).toBe(false);
  });

  it('rejects any changed character of the signature', () => {
    for (let i = 0; i < SIG.length; i++) {
      const c = SIG[i]!;
      const sig = SIG.slice(0, i) + (c === 'A' ? 'B' : 'A') + SIG.slice(i + 1);
      expect(verifyBodySignHeader(KEY, `sign_type="HMAC-SHA256", signature= "${sig}"`, BODY)).toBe(false);
    }
  });

  it('rejects a wrong key', () => {
    expect(verifyBodySignHeader('TestAccessKey-0123456788', HEADER, BODY)).toBe(false);
  });

  it.each([
    undefined,
    '',
    'sign_type="HMAC-SHA256"',
    'sign_type="HMAC-SHA256", signature= ""',
    `sign_type="HMAC-SHA1", signature= "${SIG}"`,
    SIG,
    `xsignature="${SIG}"`,
  ])('rejects a missing or malformed header %j', (header) => {
    expect(verifyBodySignHeader(KEY, header, BODY)).toBe(false);
  });
});
