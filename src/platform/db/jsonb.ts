// A jsonb parameter. JSON.stringify writes a lone UTF-16 surrogate (which JSON bodies can carry as "\ud800") as an
// escape that PostgreSQL's jsonb refuses ("Unicode low surrogate must follow a high surrogate"), so one such value in
// a stored field would fail its activity on every retry and wedge the order. Text columns do not have the problem:
// node-postgres sends UTF-8, which already turns a lone surrogate into U+FFFD. jsonb gets the same replacement here.

const LONE_SURROGATE_SOURCE = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE_SOURCE);
const LONE_SURROGATES = new RegExp(LONE_SURROGATE_SOURCE, 'g');

const wellFormed = (s: string): string => (HAS_LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATES, '\uFFFD') : s);

/** `value` as jsonb parameter text, every lone surrogate in keys and strings replaced by U+FFFD. */
export function toJsonb(value: unknown): string {
  return JSON.stringify(value, (_key: string, v: unknown): unknown => {
    if (typeof v === 'string') return wellFormed(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).some((k) => HAS_LONE_SURROGATE.test(k))) {
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [wellFormed(k), inner]));
    }
    return v;
  });
}
