import { describe, it, expect } from 'vitest';
import {
  parseCompactUtc,
  formatCompactUtc,
  parseV1TimeStamp,
  parseUnixTimestamp,
} from '../../../src/koogallery/time.js';

describe('parseCompactUtc', () => {
  it('parses 14 digits as UTC', () => {
    expect(parseCompactUtc('20200727153156')?.toISOString()).toBe('2020-07-27T15:31:56.000Z');
  });

  it('parses 17 digits with milliseconds as UTC', () => {
    expect(parseCompactUtc('20200727073711903')?.toISOString()).toBe('2020-07-27T07:37:11.903Z');
  });

  it('accepts leap days and boundary values', () => {
    expect(parseCompactUtc('20240229235959')?.toISOString()).toBe('2024-02-29T23:59:59.000Z');
    expect(parseCompactUtc('20000229000000')?.toISOString()).toBe('2000-02-29T00:00:00.000Z');
    expect(parseCompactUtc('99991231235959999')?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    expect(parseCompactUtc('00500101000000')?.getUTCFullYear()).toBe(50);
  });

  it.each([
    ['month 13', '20201301000000'],
    ['month 00', '20200001000000'],
    ['day 00', '20200100000000'],
    ['Feb 30', '20200230000000'],
    ['Feb 29 in a non-leap year', '20230229000000'],
    ['Feb 29 in 1900', '19000229000000'],
    ['Apr 31', '20200431000000'],
    ['hour 24', '20200101240000'],
    ['minute 60', '20200101006000'],
    ['second 60', '20200101000060'],
  ])('rejects an impossible date (%s)', (_label, value) => {
    expect(parseCompactUtc(value)).toBeUndefined();
  });

  it.each(['', '2020072715315', '202007271531560', '2020072715315600', '202007271531560000', '2020-07-27 15:31:56', '2020072715315a', ' 20200727153156', '２０２００７２７１５３１５６'])(
    'rejects the malformed value %j',
    (value) => {
      expect(parseCompactUtc(value)).toBeUndefined();
    },
  );
});

describe('formatCompactUtc', () => {
  it('formats as 14 UTC digits', () => {
    expect(formatCompactUtc(new Date('2020-07-27T15:31:56.903Z'))).toBe('20200727153156');
    expect(formatCompactUtc(new Date('0099-01-02T03:04:05Z'))).toBe('00990102030405');
  });

  it('round-trips with parseCompactUtc (to the second)', () => {
    const d = new Date(Date.UTC(2031, 11, 31, 23, 59, 58));
    expect(parseCompactUtc(formatCompactUtc(d))?.getTime()).toBe(d.getTime());
  });

  it('throws on an invalid date', () => {
    expect(() => formatCompactUtc(new Date(Number.NaN))).toThrow(RangeError);
    expect(() => formatCompactUtc(new Date(Date.UTC(10000, 0, 1)))).toThrow(RangeError);
  });
});

describe('parseV1TimeStamp', () => {
  it('accepts the documented 17 digits and also 14', () => {
    expect(parseV1TimeStamp('20170725025113409')?.toISOString()).toBe('2017-07-25T02:51:13.409Z');
    expect(parseV1TimeStamp('20170725025113')?.toISOString()).toBe('2017-07-25T02:51:13.000Z');
  });

  it('rejects other shapes', () => {
    expect(parseV1TimeStamp('1680508066618')).toBeUndefined();
    expect(parseV1TimeStamp('20171325025113409')).toBeUndefined();
  });
});

describe('parseUnixTimestamp', () => {
  it('reads 13-digit values as milliseconds', () => {
    expect(parseUnixTimestamp('1680508066618')).toBe(1680508066618);
  });

  it('reads 10-digit values as seconds', () => {
    expect(parseUnixTimestamp('1680508066')).toBe(1680508066000);
  });

  it('uses 1e11 as the seconds/milliseconds boundary', () => {
    expect(parseUnixTimestamp('99999999999')).toBe(99999999999000);
    expect(parseUnixTimestamp('100000000000')).toBe(100000000000);
    expect(parseUnixTimestamp('0')).toBe(0);
  });

  it.each(['', '-1680508066', '+1680508066', '1680508066.5', '1.68e12', ' 1680508066', '1680508066 ', '0x10', 'abc', '１２３', '12345678901234567'])(
    'rejects %j',
    (value) => {
      expect(parseUnixTimestamp(value)).toBeUndefined();
    },
  );
});
