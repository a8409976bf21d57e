import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { formatSdkDate, signRequest, verifyApigSignature } from '../../../src/marketplace-api/huawei-signer.js';

const AK = 'TESTAK0123456789ABCD';
const SK = 'test-secret-key-0123456789';
const NOW = new Date('2024-01-02T03:04:05.678Z');
const QUERY_URL =
  'https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/order/query?orderId=MOCKPERIODYEARNEW&orderLineId=MOCKPERIODYEARNEW-000001';

const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const lookupSecret = (ak: string): string | undefined => (ak === AK ? SK : undefined);

/** Headers as a server would see them: what we add plus Host derived from the URL. */
function receivedHeaders(url: string, added: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return { host: new URL(url).host, ...extra, ...added };
}

describe('signRequest', () => {
  it('matches a vector built by hand from the SDK-HMAC-SHA256 algorithm', () => {
    const canonicalRequest = [
      'GET',
      '/api/mkp-openapi-public/global/v1/order/query/',
      'orderId=MOCKPERIODYEARNEW&orderLineId=MOCKPERIODYEARNEW-000001',
      'host:mkt.myhuaweicloud.com\nx-sdk-date:20240102T030405Z\n',
      'host;x-sdk-date',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    ].join('\n');
    const stringToSign = `SDK-HMAC-SHA256\n20240102T030405Z\n${sha256Hex(canonicalRequest)}`;
    const expectedSignature = createHmac('sha256', SK).update(stringToSign).digest('hex');

    const headers = signRequest({ method: 'GET', url: QUERY_URL, ak: AK, sk: SK, now: NOW });
    expect(headers).toEqual({
      'X-Sdk-Date': '20240102T030405Z',
      Authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host;x-sdk-date, Signature=${expectedSignature}`,
    });
    // Pinned so an accidental change to the hand-built vector above is noticed too.
    expect(expectedSignature).toBe('f65dc802b34bd568968d270e08674b5e09f251572ce73a6baf2881cecb54c30c');
  });

  it('signs extra headers and the body hash', () => {
    const body = '{"a":1}';
    const headers = signRequest({
      method: 'post',
      url: 'http://127.0.0.1:7090/x/y',
      headers: { 'Content-Type': 'application/json' },
      body,
      ak: AK,
      sk: SK,
      now: NOW,
    });
    expect(headers['Authorization']).toContain('SignedHeaders=content-type;host;x-sdk-date,');
    const canonicalRequest = [
      'POST',
      '/x/y/',
      '',
      'content-type:application/json\nhost:127.0.0.1:7090\nx-sdk-date:20240102T030405Z\n',
      'content-type;host;x-sdk-date',
      sha256Hex(body),
    ].join('\n');
    const signature = createHmac('sha256', SK)
      .update(`SDK-HMAC-SHA256\n20240102T030405Z\n${sha256Hex(canonicalRequest)}`)
      .digest('hex');
    expect(headers['Authorization']).toBe(
      `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=content-type;host;x-sdk-date, Signature=${signature}`,
    );
  });

  it('formats X-Sdk-Date as yyyyMMddTHHmmssZ', () => {
    expect(formatSdkDate(new Date('2030-12-31T23:59:59.999Z'))).toBe('20301231T235959Z');
  });
});

describe('verifyApigSignature', () => {
  const sign = (url: string, body?: string, extra: Record<string, string> = {}) =>
    receivedHeaders(url, signRequest({ method: 'POST', url, headers: extra, body, ak: AK, sk: SK, now: NOW }), extra);
  const base = { lookupSecret, nowMs: NOW.getTime() };

  it('accepts what signRequest produced, with an absolute or a path-only URL', () => {
    const headers = sign(QUERY_URL, 'payload', { 'Content-Type': 'text/plain' });
    expect(verifyApigSignature({ ...base, method: 'POST', url: QUERY_URL, headers, body: 'payload' })).toEqual({ ok: true, ak: AK });
    const pathOnly = QUERY_URL.slice('https://mkt.myhuaweicloud.com'.length);
    expect(verifyApigSignature({ ...base, method: 'POST', url: pathOnly, headers, body: Buffer.from('payload') }).ok).toBe(true);
  });

  it('accepts query values that need encoding, in any parameter order', () => {
    const url = 'http://127.0.0.1:1234/p%20q/r?b=x%20y&a=%E4%B8%AD&a=1&c=~*';
    const headers = sign(url);
    const reordered = 'http://127.0.0.1:1234/p%20q/r?a=1&c=~*&a=%E4%B8%AD&b=x%20y';
    expect(verifyApigSignature({ ...base, method: 'POST', url: reordered, headers }).ok).toBe(true);
  });

  it('rejects tampering with query, path, method, body, signed headers or the date', () => {
    const headers = sign(QUERY_URL, 'payload', { 'Content-Type': 'text/plain' });
    const check = (over: Partial<Parameters<typeof verifyApigSignature>[0]>) =>
      verifyApigSignature({ ...base, method: 'POST', url: QUERY_URL, headers, body: 'payload', ...over });
    expect(check({ url: QUERY_URL.replace('MOCKPERIODYEARNEW&', 'MOCKONETIMENEW&') })).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(check({ url: QUERY_URL.replace('/v1/', '/v2/') }).ok).toBe(false);
    expect(check({ method: 'GET' }).ok).toBe(false);
    expect(check({ body: 'payload!' }).ok).toBe(false);
    expect(check({ headers: { ...headers, 'Content-Type': 'application/json' } }).ok).toBe(false);
    expect(check({ headers: { ...headers, host: 'evil.example.com' } }).ok).toBe(false);
    expect(check({ headers: { ...headers, 'X-Sdk-Date': '20240102T030406Z' } }).ok).toBe(false);
  });

  it('rejects a wrong secret, an unknown AK, a stale date and malformed headers', () => {
    const headers = sign(QUERY_URL);
    const args = { method: 'POST', url: QUERY_URL, headers, nowMs: NOW.getTime() };
    expect(verifyApigSignature({ ...args, lookupSecret: () => 'other-secret' })).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyApigSignature({ ...args, lookupSecret: () => undefined })).toEqual({ ok: false, reason: 'unknown access key' });
    expect(verifyApigSignature({ ...args, lookupSecret, nowMs: NOW.getTime() + 16 * 60_000 }).ok).toBe(false);
    expect(verifyApigSignature({ ...args, lookupSecret, nowMs: NOW.getTime() + 60_000, toleranceMs: 30_000 }).ok).toBe(false);
    const { Authorization: _auth, ...withoutAuth } = headers;
    expect(verifyApigSignature({ ...args, lookupSecret, headers: withoutAuth })).toEqual({ ok: false, reason: 'missing Authorization header' });
    expect(verifyApigSignature({ ...args, lookupSecret, headers: { ...headers, Authorization: 'Basic abc' } }).ok).toBe(false);
    const onlyDate = (headers['Authorization'] ?? '').replace('SignedHeaders=host;x-sdk-date', 'SignedHeaders=x-sdk-date');
    expect(verifyApigSignature({ ...args, lookupSecret, headers: { ...headers, Authorization: onlyDate } }).ok).toBe(false);
  });

  it('never mentions the secret in a reason', () => {
    const headers = sign(QUERY_URL);
    const result = verifyApigSignature({ method: 'GET', url: QUERY_URL, headers, lookupSecret, nowMs: NOW.getTime() });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain(SK);
  });
});

describe('cross-check with the SDK signer (@huaweicloud/huaweicloud-sdk-core AKSKSigner)', () => {
  const credential = { getAk: () => AK, getSk: () => SK } as unknown as Parameters<typeof AKSKSigner.sign>[1];

  it.each([
    ['Query Order', QUERY_URL, { orderId: 'MOCKPERIODYEARNEW', orderLineId: 'MOCKPERIODYEARNEW-000001' }],
    // Only query values here: the SDK re-encodes an already-encoded path ('%20' -> '%2520'), unlike APIG's own
    // signers, which decode segments first (as we do). Our paths never contain escapes.
    ['query values needing encoding', 'http://127.0.0.1:7090/a/b?z=%2B1%20x&a=%E4%B8%AD%E6%96%87&m=~_-.', { z: '+1 x', a: '中文', m: '~_-.' }],
  ])('%s: the SDK output verifies and equals ours', (_name, url, queryParams) => {
    const sdkHeaders = AKSKSigner.sign(
      { endpoint: url.split('?')[0], method: 'GET', headers: { 'X-Sdk-Date': '20240102T030405Z' }, queryParams },
      credential,
    ) as Record<string, string>;
    expect(verifyApigSignature({ method: 'GET', url, headers: sdkHeaders, lookupSecret, nowMs: NOW.getTime() })).toEqual({
      ok: true,
      ak: AK,
    });
    const ours = signRequest({ method: 'GET', url, ak: AK, sk: SK, now: NOW });
    expect(ours['Authorization']).toBe(sdkHeaders['Authorization']);
  });
});
