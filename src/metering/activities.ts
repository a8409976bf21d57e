import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { USAGE_SUCCESS_CODE, type UsageDataClient } from '../marketplace-api/usage-data-client.js';
import { MAX_RECORDS_PER_PUSH, MeteringFailureType, type MeteringPushActivities, type PushBatchResult } from './contract.js';
import { meteringSn, usageDataRecordOf } from './push.js';
import { AggregationBusy, aggregateClosedPeriods, pendingPushItems, recordPushAnswers, type ItemAnswer } from './store.js';

// The push workflow's activities. Both are idempotent: aggregation marks what it aggregated in the same
// transaction, and a push sends items whose sn never changes, so a retry after a crash re-sends the same records
// and the marketplace bills them once.

/** What the metering activities need. */
export interface MeteringActivityDeps {
  readonly pool: Pool;
  readonly usageData: Pick<UsageDataClient, 'push'>;
  /** Default close delay (METERING_PUSH_CLOSE_DELAY_MINUTES). */
  readonly closeDelayMs: number;
  /** Refusals after which an item is flagged to ops instead of retried. */
  readonly maxAttempts: number;
  /** Told how many items were flagged by a call (a counter for alerting). */
  readonly onFlagged?: (count: number) => void;
  /**
   * Delivers the package crossings intake could not (and ends the packages of released instances), first thing
   * in every push run; a failure is reported to `onCatchUpError` and never holds the push back.
   */
  readonly catchUpCrossings?: () => Promise<unknown>;
  readonly onCatchUpError?: (err: unknown) => void;
  /** Records a heartbeat of the running activity (the worker wires Temporal's; default none). */
  readonly heartbeat?: () => void;
}

/** Builds the push activities. */
export function createMeteringActivities(deps: MeteringActivityDeps): MeteringPushActivities {
  const { pool } = deps;
  return {
    async aggregateClosedPeriods({ runStartedAt, closeDelayMs }) {
      const startedAt = new Date(runStartedAt);
      // Inside this activity rather than a step of its own, so the push workflow's commands stay as they were.
      if (deps.catchUpCrossings) {
        try {
          await deps.catchUpCrossings();
        } catch (err) {
          deps.onCatchUpError?.(err);
        }
      }
      try {
        return await aggregateClosedPeriods(pool, {
          closedBefore: new Date(startedAt.getTime() - (closeDelayMs ?? deps.closeDelayMs)),
          recordTime: startedAt,
          snOf: meteringSn,
        });
      } catch (err) {
        if (err instanceof AggregationBusy) throw ApplicationFailure.retryable(err.message, 'METERING_AGGREGATION_BUSY');
        throw err;
      }
    },

    async pushPendingBatch({ runKey }): Promise<PushBatchResult> {
      const items = await pendingPushItems(pool, runKey, MAX_RECORDS_PER_PUSH);
      if (items.length === 0) return { sent: 0, accepted: 0, retrying: 0, flagged: 0, more: false };
      deps.heartbeat?.();
      const answer = await deps.usageData.push(items.map(usageDataRecordOf));
      deps.heartbeat?.();
      if (answer.kind === 'unavailable') throw ApplicationFailure.retryable(`usage-data API unavailable: ${answer.reason}`, MeteringFailureType.PushUnavailable);
      const callOk = answer.code === USAGE_SUCCESS_CODE;
      let accepted = 0;
      let retrying = 0;
      let flagged = 0;
      const answers: ItemAnswer[] = items.map((item) => {
        const refusal = answer.refused.get(item.meteringSn) ?? (callOk ? undefined : { code: answer.code, message: answer.message });
        if (!refusal) {
          accepted++;
          return { meteringSn: item.meteringSn, status: 'ACCEPTED', code: answer.code, message: null };
        }
        // Refused: retried by later runs, until it has been refused maxAttempts times; then ops decide.
        const out = item.attempts + 1 >= deps.maxAttempts;
        if (out) flagged++;
        else retrying++;
        return { meteringSn: item.meteringSn, status: out ? 'FLAGGED' : 'PENDING', code: refusal.code, message: refusal.message.slice(0, 1024) };
      });
      await recordPushAnswers(pool, runKey, answers);
      if (flagged > 0) deps.onFlagged?.(flagged);
      return { sent: items.length, accepted, retrying, flagged, more: items.length === MAX_RECORDS_PER_PUSH };
    },
  };
}
