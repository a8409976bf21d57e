import { describe, it, expect } from 'vitest';
import {
  serializeResponse,
  newInstanceResponse,
  simpleResponse,
  queryInstanceResponse,
} from '../../../src/koogallery/responses.js';
import { bodySignature } from '../../../src/koogallery/body-sign.js';
import { decryptField, encryptField } from '../../../src/koogallery/field-crypto.js';

const KEY = 'TestAccessKey-0123456789';

describe('serializeResponse', () => {
  it('produces the exact §2.3 example bytes and signature', () => {
    const bytes = serializeResponse(newInstanceResponse('000000', 'success.', { instanceId: 'inst-0001' }));
    expect(bytes.toString('utf8')).toBe('{"resultCode":"000000","resultMsg":"success.","instanceId":"inst-0001"}');
    expect(bodySignature(KEY, bytes)).toBe('AGFgG6YRPM0BjAb1SvFHKMMcmwW0Xe5/ORQwgNl8TdU=');
  });

  it('escapes every non-ASCII character as \\uXXXX (memo rule of §3.1)', () => {
    const bytes = serializeResponse({ memo: '登录 é😀\u2028', ok: 'ascii' });
    const text = bytes.toString('utf8');
    expect(text).toBe('{"memo":"\\u767b\\u5f55 \\u00e9\\ud83d\\ude00\\u2028","ok":"ascii"}');
    expect([...bytes].every((b) => b < 0x80)).toBe(true);
    expect(JSON.parse(text)).toEqual({ memo: '登录 é😀\u2028', ok: 'ascii' });
  });

  it('escapes nested values and keys alike and stays parseable', () => {
    const body = { resultCode: '000000', info: [{ appInfo: { memo: '中文' } }], 键: 'v' };
    const text = serializeResponse(body).toString('utf8');
    expect(text).not.toMatch(/[^\x00-\x7f]/);
    expect(JSON.parse(text)).toEqual(body);
  });

  it('has no whitespace or trailing newline', () => {
    expect(serializeResponse({ a: 1, b: [1, 2] }).toString()).toBe('{"a":1,"b":[1,2]}');
  });
});

describe('simpleResponse', () => {
  it('defaults the message', () => {
    expect(simpleResponse('000000')).toEqual({ resultCode: '000000', resultMsg: 'success.' });
    expect(Object.keys(simpleResponse('000001'))).toEqual(['resultCode', 'resultMsg']);
  });

  it('keeps a given message', () => {
    expect(simpleResponse('000002', 'orderId is required')).toEqual({ resultCode: '000002', resultMsg: 'orderId is required' });
  });
});

describe('newInstanceResponse', () => {
  it('orders fields resultCode, resultMsg, instanceId, encryptType, appInfo and omits absent ones', () => {
    const userName = encryptField(KEY, 'admin');
    const r = newInstanceResponse('000000', undefined, {
      appInfo: { memo: '说明', password: 'p', userName, adminUrl: 'https://a', frontEndUrl: 'https://f' },
      encryptType: '1',
      instanceId: 'i-1',
    });
    expect(Object.keys(r)).toEqual(['resultCode', 'resultMsg', 'instanceId', 'encryptType', 'appInfo']);
    expect(Object.keys(r['appInfo'] as object)).toEqual(['frontEndUrl', 'adminUrl', 'userName', 'password', 'memo']);
    expect(r['resultMsg']).toBe('success.');
    expect(decryptField(KEY, (r['appInfo'] as { userName: string }).userName)).toBe('admin');
    expect(newInstanceResponse('000004', 'processing', { instanceId: 'i-1' })).toEqual({
      resultCode: '000004',
      resultMsg: 'processing',
      instanceId: 'i-1',
    });
    expect(newInstanceResponse('000005')).toEqual({ resultCode: '000005', resultMsg: 'internal error.' });
  });

  it('omits optional appInfo fields that are undefined', () => {
    const r = newInstanceResponse('000000', 'success.', { instanceId: 'i', appInfo: { frontEndUrl: 'https://f' } });
    expect(serializeResponse(r).toString()).toBe(
      '{"resultCode":"000000","resultMsg":"success.","instanceId":"i","appInfo":{"frontEndUrl":"https://f"}}',
    );
  });
});

describe('queryInstanceResponse', () => {
  it('lists info items in order with appInfo and usage', () => {
    const r = queryInstanceResponse(
      '000000',
      'success.',
      [
        { instanceId: 'a', appInfo: { frontEndUrl: 'https://a' } },
        { instanceId: 'b', usage: { value: 3 } },
      ],
      '2',
    );
    expect(Object.keys(r)).toEqual(['resultCode', 'resultMsg', 'encryptType', 'info']);
    expect(r['info']).toEqual([
      { instanceId: 'a', appInfo: { frontEndUrl: 'https://a' } },
      { instanceId: 'b', usage: { value: 3 } },
    ]);
  });

  it('omits info while no instance is ready, and encryptType when not given', () => {
    expect(queryInstanceResponse('000000', undefined, [])).toEqual({ resultCode: '000000', resultMsg: 'success.' });
    expect(Object.keys(queryInstanceResponse('000000', 'ok', [{ instanceId: 'x' }]))).toEqual([
      'resultCode',
      'resultMsg',
      'info',
    ]);
  });
});
