import express, { type Request, type Response, type Router } from 'express';
import type { Pool } from 'pg';
import { PAGE_LIMIT, encodeCursor, parseParams } from '../platform/http/ops/params.js';
import { latestRun, listFindings, type StoredFinding, type StoredRun } from './store.js';
import { listDriftParams, type DriftFindingBody, type DriftList } from './ops-schemas.js';

// GET /ops/drift: reconciliation findings and the last run. Mounted at /ops/drift behind the ops door.

function findingBody(f: StoredFinding): DriftFindingBody {
  return {
    instanceId: f.instanceId,
    kind: f.kind,
    workflowId: f.workflowId,
    orderId: f.orderId,
    details: f.details,
    firstSeenAt: f.firstSeenAt.toISOString(),
    lastSeenAt: f.lastSeenAt.toISOString(),
    resolvedAt: f.resolvedAt ? f.resolvedAt.toISOString() : null,
  };
}

function runBody(r: StoredRun): NonNullable<DriftList['lastRun']> {
  return { ...r, startedAt: r.startedAt.toISOString(), finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null };
}

/** The open findings of one instance, as the ops API answers them (for an order's story). */
export async function openDriftOf(pool: Pool, instanceId: string): Promise<DriftFindingBody[]> {
  return (await listFindings(pool, { status: 'open', instanceId, limit: 50 })).map(findingBody);
}

/** The reconciliation ops router (mount it at /ops/drift). */
export function driftOpsRoutes(deps: { readonly pool: Pool }): Router {
  const { pool } = deps;
  const router = express.Router();
  router.get('/', async (req: Request, res: Response) => {
    const p = parseParams(listDriftParams, req.query);
    const limit = p.limit ?? PAGE_LIMIT.default;
    const [rows, run] = await Promise.all([
      listFindings(pool, {
        status: p.status ?? 'open',
        ...(p.kind ? { kind: p.kind } : {}),
        ...(p.instanceId ? { instanceId: p.instanceId } : {}),
        limit: limit + 1,
        ...(p.cursor ? { after: { instanceId: p.cursor.i, kind: p.cursor.k } } : {}),
      }),
      latestRun(pool),
    ]);
    const findings = rows.slice(0, limit);
    const last = findings[findings.length - 1];
    const body: DriftList = {
      findings: findings.map(findingBody),
      lastRun: run ? runBody(run) : null,
      nextCursor: rows.length > limit && last ? encodeCursor({ i: last.instanceId, k: last.kind }) : null,
    };
    res.json(body);
  });
  return router;
}
