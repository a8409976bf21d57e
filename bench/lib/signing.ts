import { randomBytes } from 'node:crypto';
import { computeV2Signature, encodeQuery } from './koogallery.js';

// Signs V2 calls the way the marketplace does (src/simulator/production-client.ts `v2()`): body serialised once,
// a fresh 32-hex nonce and a millisecond timestamp per request, signature in the query string.

/** One signed V2 POST, ready to send. */
export interface SignedV2 {
  readonly path: string;
  readonly body: Buffer;
}

/** Signs `body` for the production interface at `basePath` (e.g. /koogallery/saas). */
export function signV2(accessKey: string, basePath: string, body: Record<string, unknown>): SignedV2 {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  const nonce = randomBytes(16).toString('hex');
  const timestamp = String(Date.now());
  const signature = computeV2Signature(accessKey, { nonce, timestamp, body: bytes });
  return { path: `${basePath}?${encodeQuery({ signature, timestamp, nonce })}`, body: bytes };
}
