import { z } from 'zod';
import { documentedAs } from '../openapi.js';
import { OpsError, OpsErrorCode } from './errors.js';

// The building blocks of every ops route's parameters, validated with zod. Every query value arrives as a string
// (a repeated parameter as an array, which is refused); the contexts' parameter objects are strict, so an unknown
// parameter is refused and a typo never silently widens a search.

/** Page size bounds of the list endpoints. */
export const PAGE_LIMIT = { default: 50, max: 200 } as const;

/** Messages of a string parameter: a repeated one is told so. */
export const once = (what: string) => ({ error: (iss: { input?: unknown }) => (Array.isArray(iss.input) ? 'must be given once' : `must be ${what}`) });

/** A non-empty string of at most `max` characters. */
export const text = (max: number) =>
  z
    .string(once('a string'))
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` });

/** A page size from 1 to PAGE_LIMIT.max (documented as that integer, though it arrives as text). */
export const limit = documentedAs(
  z
    .string(once('an integer'))
    .regex(/^\d{1,4}$/, { error: `must be an integer from 1 to ${PAGE_LIMIT.max}` })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: `must be an integer from 1 to ${PAGE_LIMIT.max}` }).max(PAGE_LIMIT.max, { error: `must be an integer from 1 to ${PAGE_LIMIT.max}` })),
  { type: 'integer', minimum: 1, maximum: PAGE_LIMIT.max, default: PAGE_LIMIT.default },
);

/** true/false/1/0 as a boolean. */
export const bool = z.enum(['true', 'false', '1', '0'], once('true or false')).transform((v) => v === 'true' || v === '1');

/** An opaque keyset cursor: base64url JSON of the last row's sort key. */
export function cursorOf<T extends z.ZodType>(shape: T) {
  return z.string(once('a cursor')).transform((v, ctx) => {
    try {
      const parsed = shape.safeParse(JSON.parse(Buffer.from(v, 'base64url').toString('utf8')));
      if (parsed.success) return parsed.data;
    } catch {
      /* not base64url JSON: reported below */
    }
    ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this endpoint' });
    return z.NEVER;
  });
}

/** Encodes a keyset cursor (see cursorOf). */
export function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Validates `input` or throws an INVALID_REQUEST OpsError naming every offending parameter. */
export function parseParams<T extends z.ZodType>(schema: T, input: unknown, where: 'query' | 'path' | 'body' = 'query'): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown ${where} parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    const name = issue.path.map(String).join('.') || where;
    return `${name} ${issue.message}`;
  });
  throw new OpsError(OpsErrorCode.InvalidRequest, `invalid ${where} parameters: ${problems.join('; ')}`);
}
