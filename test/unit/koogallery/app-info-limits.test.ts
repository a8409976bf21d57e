import { describe, expect, it } from 'vitest';
import { APP_INFO_LIMITS, appInfoViolations, describeAppInfoViolations, encryptField, encryptedFieldLength } from '../../../src/koogallery/index.js';

// appInfo limits as the marketplace counts them (§3.1, §2.4): credentials after encryption (IV included), URLs and
// memo as sent. Over-long values are found before anything is sent.

const KEY = 'TestAccessKey-0123456789';

describe('encryptedFieldLength', () => {
  it('when texts of many lengths (ASCII and not) are encrypted, then the predicted length is the real one, for both key sizes', () => {
    for (const text of ['', 'a', 'P@ssw0rd!', 'x'.repeat(15), 'x'.repeat(16), 'x'.repeat(79), 'x'.repeat(80), '管理员', 'ü'.repeat(40)]) {
      expect(encryptedFieldLength(text), text).toBe(encryptField(KEY, text, '1').length);
      expect(encryptedFieldLength(text), text).toBe(encryptField(KEY, text, '2').length);
    }
  });

  it('when a credential is 79 UTF-8 bytes it fits 128 characters encrypted; at 80 bytes it does not', () => {
    expect(encryptedFieldLength('p'.repeat(79))).toBe(124);
    expect(encryptedFieldLength('p'.repeat(80))).toBe(144);
    expect(APP_INFO_LIMITS.password).toBe(128);
  });
});

describe('appInfoViolations', () => {
  const ok = { frontEndUrl: 'https://t1.tenants.example', adminUrl: 'https://admin.example', userName: 'admin-t1', password: 'S3cret!pass', memo: 'Welcome' };

  it('when every field is within its limit, then there is nothing to report', () => {
    expect(appInfoViolations(ok)).toEqual([]);
    expect(appInfoViolations({ frontEndUrl: 'x'.repeat(512), memo: 'm'.repeat(1024), password: 'p'.repeat(79) })).toEqual([]);
  });

  it('when URLs, credentials or memo are over their limits, then each is named with its length as sent', () => {
    const v = appInfoViolations({ frontEndUrl: 'u'.repeat(513), adminUrl: 'a'.repeat(600), userName: 'n'.repeat(80), password: 'p'.repeat(100), memo: 'm'.repeat(1025) });
    expect(v).toEqual([
      { field: 'frontEndUrl', length: 513, limit: 512 },
      { field: 'adminUrl', length: 600, limit: 512 },
      { field: 'userName', length: 144, limit: 128 },
      { field: 'password', length: 168, limit: 128 },
      { field: 'memo', length: 1025, limit: 1024 },
    ]);
  });

  it('when the memo is Chinese, then each character counts as its \\uXXXX escape (the form that is sent)', () => {
    expect(appInfoViolations({ ...ok, memo: '欢'.repeat(170) })).toEqual([]);
    expect(appInfoViolations({ ...ok, memo: '欢'.repeat(171) })).toEqual([{ field: 'memo', length: 1026, limit: 1024 }]);
  });

  it('when violations are described, then fields and lengths are named and no value appears', () => {
    const password = 'very-secret-' + 'p'.repeat(90);
    const text = describeAppInfoViolations(appInfoViolations({ ...ok, password }));
    expect(text).toBe('appInfo.password is 168 characters as sent (encrypted); the marketplace accepts at most 128');
    expect(text).not.toContain('very-secret');
  });
});
