// Marketplace time formats: compact UTC stamps (V1 timeStamp, expireTime) and Unix timestamps (V2).

const COMPACT = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?$/;

/** Parses `yyyyMMddHHmmss` or `yyyyMMddHHmmssSSS` as UTC; undefined for anything else or an impossible date. */
export function parseCompactUtc(value: string): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const m = COMPACT.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  const ms = m[7] === undefined ? 0 : Number(m[7]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(0);
  // setUTCFullYear instead of Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  // Date rolls Feb 30 over to Mar 2; a changed day/month means the input was impossible.
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return undefined;
  return d;
}

/** Formats a Date as `yyyyMMddHHmmss` in UTC; throws RangeError for invalid dates or years outside 0..9999. */
export function formatCompactUtc(d: Date): string {
  const t = d.getTime();
  if (Number.isNaN(t)) throw new RangeError('formatCompactUtc: invalid date');
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError('formatCompactUtc: year out of range');
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    p(year, 4) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes()) + p(d.getUTCSeconds())
  );
}

/** Parses a V1 `timeStamp` (documented `yyyyMMddHHmmssSSS`; 14 digits also accepted). */
export function parseV1TimeStamp(value: string): Date | undefined {
  return parseCompactUtc(value);
}

const SECONDS_LIMIT = 1e11;

/** Parses a Unix timestamp of digits only into epoch milliseconds; values below 1e11 are read as seconds. */
export function parseUnixTimestamp(value: string): number | undefined {
  // 16 digits is already year ~2286 in ms; the cap keeps the number exact.
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  const ms = n < SECONDS_LIMIT ? n * 1000 : n;
  return Number.isSafeInteger(ms) ? ms : undefined;
}
