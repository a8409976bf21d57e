// Calendar arithmetic of marketplace periods, in UTC. Bundle-safe: the supervision workflow computes a period
// order's validity with it, and the marketplace simulator the expiry of the orders it sells.

/**
 * `from` plus `n` periods (`year`, `month`, `week`, `day`, `hour`, any case; `n` may be negative). Calendar months
 * clamp to the month's last day: 31 Jan + 1 month = 28/29 Feb. Undefined for an unknown period type.
 */
export function addCalendarPeriod(from: Date, periodType: string, n: number): Date | undefined {
  const d = new Date(from.getTime());
  switch (periodType.trim().toLowerCase()) {
    case 'year':
    case 'month': {
      const months = periodType.trim().toLowerCase() === 'year' ? 12 * n : n;
      const day = d.getUTCDate();
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() + months);
      const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
      d.setUTCDate(Math.min(day, lastDay));
      return d;
    }
    case 'week':
      d.setUTCDate(d.getUTCDate() + 7 * n);
      return d;
    case 'day':
      d.setUTCDate(d.getUTCDate() + n);
      return d;
    case 'hour':
      d.setUTCHours(d.getUTCHours() + n);
      return d;
    default:
      return undefined;
  }
}
