import { describe, it, expect } from 'vitest';
import { ResultCode, defaultResultMessage } from '../../../src/koogallery/result-codes.js';

describe('ResultCode', () => {
  it('has the documented wire values (spec §6)', () => {
    expect(ResultCode.Success).toBe('000000');
    expect(ResultCode.AuthFailed).toBe('000001');
    expect(ResultCode.InvalidParameter).toBe('000002');
    expect(ResultCode.InstanceNotFound).toBe('000003');
    expect(ResultCode.Processing).toBe('000004');
    expect(ResultCode.InternalError).toBe('000005');
    expect(ResultCode.NoInstanceResource).toBe('000100');
    expect(ResultCode.InvalidMobile).toBe('000101');
    expect(ResultCode.InvalidEmail).toBe('000102');
    expect(ResultCode.AlreadyPurchased).toBe('000103');
    expect(ResultCode.NewInstanceInternalError).toBe('000104');
    expect(ResultCode.AlreadyHoldsBenefit).toBe('000105');
    expect(ResultCode.SoldOut).toBe('000106');
    expect(ResultCode.DuplicateEmailDomain).toBe('000107');
  });

  it('values are unique six-digit strings', () => {
    const values = Object.values(ResultCode);
    expect(new Set(values).size).toBe(values.length);
    for (const v of values) expect(v).toMatch(/^\d{6}$/);
  });
});

describe('defaultResultMessage', () => {
  it("is 'success.' for 000000", () => {
    expect(defaultResultMessage(ResultCode.Success)).toBe('success.');
  });

  it('gives a distinct non-empty ASCII text for every code', () => {
    const msgs = Object.values(ResultCode).map((c) => defaultResultMessage(c));
    for (const m of msgs) {
      expect(m.length).toBeGreaterThan(0);
      expect(m.length).toBeLessThanOrEqual(255);
      expect(m).toMatch(/^[\x20-\x7e]+$/);
    }
    expect(new Set(msgs).size).toBe(msgs.length);
  });
});
