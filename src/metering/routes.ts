import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { MAX_RECORDS_PER_INTAKE } from './contract.js';
import { countAnswers, usageBatchSchema, type MeteringService } from './service.js';

// POST /metering/usage: the merchant's own product reports usage here (internal listener, Bearer token). A body
// that is not a batch of records is a 4xx with the reasons and nothing stored; a batch is answered per record.

/** The path the intake is mounted at. */
export const METERING_PATH = '/metering';

/** The answer body of POST /metering/usage. */
export const usageAnswerSchema = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  refused: z.number().int(),
  results: z.array(
    z.object({
      recordId: z.string(),
      status: z.enum(['accepted', 'duplicate', 'refused']),
      reason: z.string().optional().describe('Why the record was refused (UNKNOWN_INSTANCE, NOT_METERED, INSTANCE_NOT_LIVE, VALUE_NOT_POSITIVE, TOO_MANY_DECIMALS, VALUE_TOO_LARGE, BEGIN_TOO_OLD, END_BEFORE_BEGIN, END_IN_FUTURE).'),
    }),
  ),
});

/** The error body of the intake's 4xx answers. */
export const usageErrorSchema = z.object({
  error: z.enum(['UNAUTHORIZED', 'INVALID_REQUEST', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE']),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Builds the intake router (mount it at METERING_PATH). `token` undefined: every call is refused. */
export function meteringIntakeRouter(o: { readonly service: MeteringService; readonly token: string | undefined; readonly maxBodyBytes: number; readonly logger: Logger }): Router {
  const router = express.Router();
  const expected = o.token !== undefined ? sha256(o.token) : undefined;
  const fail = (res: Response, status: number, error: z.output<typeof usageErrorSchema>['error'], message: string, issues?: { path: string; message: string }[]) =>
    res.status(status).json({ error, message, ...(issues ? { issues } : {}) });

  router.post(
    '/usage',
    (req: Request, res: Response, next: NextFunction) => {
      // Authenticate before reading the body: a stranger never makes us parse a megabyte.
      const header = req.get('authorization') ?? '';
      const m = /^Bearer (\S{1,512})$/.exec(header);
      // Both sides hashed to equal length, so the comparison takes the same time whatever was sent.
      if (!expected || !m || !timingSafeEqual(sha256(m[1]!), expected)) {
        fail(res, 401, 'UNAUTHORIZED', 'Authorization: Bearer <METERING_API_TOKEN> required');
        return;
      }
      if (!req.is('application/json')) {
        fail(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
        return;
      }
      next();
    },
    express.json({ limit: o.maxBodyBytes, strict: true }),
    async (req: Request, res: Response) => {
      const parsed = usageBatchSchema.safeParse(req.body);
      if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message }));
        fail(res, 400, 'INVALID_REQUEST', `body must be {"records":[{recordId, instanceId, usageValue, beginTime, endTime}]} with 1 to ${MAX_RECORDS_PER_INTAKE} records`, issues);
        return;
      }
      const results = await o.service.report(parsed.data);
      const counts = countAnswers(results);
      o.logger.debug({ ...counts }, 'usage reported');
      res.json({ ...counts, results });
    },
  );
  // The body parser's failures (malformed JSON, too large, bad charset) are the caller's: a clear 4xx, never a 500.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') fail(res, 413, 'PAYLOAD_TOO_LARGE', `body larger than ${o.maxBodyBytes} bytes`);
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) fail(res, 400, 'INVALID_REQUEST', 'body is not valid JSON');
    else next(err);
  });
  return router;
}
