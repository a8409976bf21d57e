import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { operatorOf } from '../platform/http/ops/auth.js';
import { OpsError, OpsErrorCode } from '../platform/http/ops/errors.js';
import { PAGE_LIMIT, encodeCursor, parseParams } from '../platform/http/ops/params.js';
import type { StatementAction } from './contract.js';
import { listStatementParams, runPeriodBody, statementActionBody, statementPathParams, unbilledWriteOffBody, type StatementDetail, type StatementList, type StatementSummaryRow, type UnbilledWriteOffResult } from './ops-schemas.js';
import type { SettlementService } from './service.js';
import { listStatements, type StatementRow } from './store.js';

// Settlement in the ops API, mounted at /ops/settlement: statements (flagged: the marketplace's bill differs from
// ours) and the people's steps, each the statement workflow's validated update with the operator as its actor.

function rowBody(r: StatementRow): StatementSummaryRow {
  return {
    statementId: r.statementId,
    period: r.period,
    settlementType: r.settlementType,
    step: r.step,
    lines: r.summary ? r.summary.lines : null,
    netMinor: r.summary ? r.summary.netMinor : null,
    marketplaceBillMinor: r.marketplaceBillMinor,
    differenceMinor: r.differenceMinor,
    flagged: r.differenceMinor !== null && r.differenceMinor !== 0,
    paymentRequestNo: r.paymentRequestNo,
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** The settlement's ops router (mount it at /ops/settlement). */
export function settlementOpsRoutes(deps: { pool: Pool; settlement: SettlementService; logger: Logger }): Router {
  const router = express.Router();

  router.get('/statements', async (req: Request, res: Response) => {
    const p = parseParams(listStatementParams, req.query);
    const limit = p.limit ?? PAGE_LIMIT.default;
    // One row more than asked tells whether another page exists.
    const rows = await listStatements(deps.pool, {
      ...(p.period ? { period: p.period } : {}),
      ...(p.flagged !== undefined ? { flagged: p.flagged } : {}),
      ...(p.cursor ? { after: { period: p.cursor.p, settlementType: p.cursor.t, statementId: p.cursor.s } } : {}),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const body: StatementList = {
      items: items.map(rowBody),
      nextCursor: rows.length > limit && last ? encodeCursor({ p: last.period, t: last.settlementType, s: last.statementId }) : null,
    };
    res.json(body);
  });

  router.post('/runs', express.json({ limit: '4kb', type: () => true }), async (req: Request, res: Response) => {
    const { period, instanceId } = parseParams(runPeriodBody, req.body, 'body');
    let r;
    try {
      r = await deps.settlement.runPeriod(period, instanceId);
    } catch (err) {
      deps.logger.error({ period, instanceId, err: (err as Error).message }, 'settlement run failed');
      throw new OpsError(OpsErrorCode.Unavailable, 'the settlement run did not finish in time; list the statements and retry');
    }
    deps.logger.info({ period, instanceId, operator: operatorOf(res), started: r.started }, 'settlement run started by ops');
    res.json(r);
  });

  // 1,000 keys of up to 300 characters (the schema's bounds) fit.
  router.post('/lines/write-off', express.json({ limit: '400kb', type: () => true }), async (req: Request, res: Response) => {
    const { lineKeys, reason } = parseParams(unbilledWriteOffBody, req.body, 'body');
    const actor = operatorOf(res);
    let outcome;
    try {
      outcome = await deps.settlement.writeOffUnbilled({ lineKeys, reason, actor });
    } catch (err) {
      deps.logger.error({ lines: lineKeys.length, operator: actor, err: (err as Error).message }, 'unbilled write-off failed');
      throw new OpsError(OpsErrorCode.Unavailable, 'the lines may be written off but their orders not told; retry (a repeated call answers the same and tells them again)');
    }
    deps.logger.info({ writtenOff: outcome.writtenOff, refused: outcome.refused.length, operator: actor, reason }, 'unbilled lines written off by ops');
    if (outcome.writtenOff.length === 0) throw new OpsError(OpsErrorCode.Conflict, 'no line written off', { refused: outcome.refused });
    const body: UnbilledWriteOffResult = { writtenOff: [...outcome.writtenOff], refused: [...outcome.refused], ordersTold: outcome.ordersTold };
    res.json(body);
  });

  router.get('/statements/:statementId', async (req: Request, res: Response) => {
    const { statementId } = parseParams(statementPathParams, req.params, 'path');
    const found = await deps.settlement.current(statementId);
    if (!found) throw new OpsError(OpsErrorCode.NotFound, `no statement ${statementId}`);
    const body: StatementDetail = { statement: rowBody(found.row), state: found.live ?? found.row.state, live: found.live !== undefined };
    res.json(body);
  });

  router.post('/statements/:statementId/actions', express.json({ limit: '16kb', type: () => true }), async (req: Request, res: Response) => {
    const { statementId } = parseParams(statementPathParams, req.params, 'path');
    const action = { ...parseParams(statementActionBody, req.body, 'body'), actor: operatorOf(res) } as StatementAction;
    const logged = { statementId, action: action.type, operator: action.actor };
    let r;
    try {
      r = await deps.settlement.act(statementId, action);
    } catch (err) {
      deps.logger.error({ ...logged, err: (err as Error).message }, 'statement action failed');
      throw new OpsError(OpsErrorCode.Unavailable, 'the statement workflow did not answer; the step may not have been applied, read the statement and retry');
    }
    if (r.outcome === 'not-found') throw new OpsError(OpsErrorCode.NotFound, r.reason);
    if (r.outcome === 'refused') {
      deps.logger.info({ ...logged, reason: r.reason }, 'statement action refused');
      throw new OpsError(OpsErrorCode.Conflict, r.reason, r.state ? { step: r.state.step } : undefined);
    }
    deps.logger.info({ ...logged, step: r.state.step }, 'statement action applied');
    res.json({ applied: true, state: r.state });
  });

  return router;
}
