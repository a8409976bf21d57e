// Text checks that workflow code and the HTTP edge share (bundle-safe: no Node modules).

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * True when `s` is well-formed UTF-16 (no lone surrogate). A lone surrogate survives JSON.parse, but PostgreSQL
 * refuses it inside jsonb, so a value with one must be refused at the edge, not retried forever by an activity.
 */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}
