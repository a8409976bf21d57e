import { createHmac } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { constantTimeEqual } from './constant-time.js';

// Response body signature (spec §2.3). The header name is case-sensitive for the marketplace debugger.

/** The exact response header name. */
export const BODY_SIGN_HEADER = 'Body-Sign';

/** Base64 HMAC-SHA256(accessKey, exact body bytes). */
export function bodySignature(accessKey: string, body: Buffer | string): string {
  return createHmac('sha256', accessKey)
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('base64');
}

/** The Body-Sign header value, byte for byte as documented (note the space after `signature=`). */
export function bodySignHeaderValue(accessKey: string, body: Buffer | string): string {
  return `sign_type="HMAC-SHA256", signature= "${bodySignature(accessKey, body)}"`;
}

const SIGN_TYPE = /(?:^|[\s,;])sign_type\s*=\s*"?\s*([^",;\s]*)/i;
const SIGNATURE = /(?:^|[\s,;])signature\s*=\s*"?\s*([^",;\s]*)/i;

/** Checks a Body-Sign header against the body; tolerant of spacing, quoting and order, strict on the value. */
export function verifyBodySignHeader(accessKey: string, headerValue: string | undefined, body: Buffer | string): boolean {
  if (typeof headerValue !== 'string') return false;
  const type = SIGN_TYPE.exec(headerValue);
  if (type && type[1]?.toUpperCase() !== 'HMAC-SHA256') return false;
  const sig = SIGNATURE.exec(headerValue)?.[1];
  if (!sig) return false;
  return constantTimeEqual(bodySignature(accessKey, body), sig);
}
