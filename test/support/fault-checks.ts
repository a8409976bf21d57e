import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { ProductionAnswer, ProductionClient } from '../../tools/simulator/production-client.js';

// Checks shared by the reliability tests (issue #7): what counts as a well-formed marketplace answer, a tally of
// every answer a scenario received, and the marketplace's own retry behaviour for operations.

/** Every result code of spec §6 that a SaaS production interface may answer with. */
export const SPEC_RESULT_CODES: ReadonlySet<string> = new Set([
  '000000', '000001', '000002', '000003', '000004', '000005',
  '000100', '000101', '000102', '000103', '000104', '000105', '000106', '000107',
]);

/** Codes that tell the marketplace to try again (spec §5/§6). */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['000004', '000005']);

/** A production-interface answer as the marketplace judges it: HTTP 200, JSON, valid Body-Sign, a spec code. */
export function isWellFormed(a: ProductionAnswer): boolean {
  return a.status === 200 && a.bodySignValid && a.body !== null && typeof a.body === 'object' && SPEC_RESULT_CODES.has(String(a.body.resultCode));
}

/** Why an answer is not well-formed (empty when it is). */
export function whyMalformed(a: ProductionAnswer): string {
  const why: string[] = [];
  if (a.status !== 200) why.push(`HTTP ${a.status}`);
  if (!a.bodySignValid) why.push('Body-Sign invalid or missing');
  if (a.body === null || typeof a.body !== 'object') why.push(`body not JSON: ${JSON.stringify(a.rawBody.slice(0, 120))}`);
  else if (!SPEC_RESULT_CODES.has(String(a.body.resultCode))) why.push(`resultCode ${String(a.body.resultCode)} not in spec §6`);
  return why.join('; ');
}

/** Running figures over every marketplace call of a scenario. */
export class AnswerTally {
  requests = 0;
  http5xx = 0;
  malformed = 0;
  /** Calls that got no answer at all (connection refused/reset, client timeout). */
  transportErrors = 0;
  /** Answers slower than the marketplace's 5 s. */
  slow = 0;
  maxLatencyMs = 0;
  readonly byCode: Record<string, number> = {};
  readonly problems: string[] = [];

  /** Records an answer; `label` names the call in problem reports. */
  add(a: ProductionAnswer, label: string): ProductionAnswer {
    this.requests++;
    if (a.status >= 500) this.http5xx++;
    const code = String(a.body?.resultCode ?? `HTTP${a.status}`);
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    this.maxLatencyMs = Math.max(this.maxLatencyMs, a.latencyMs);
    if (a.latencyMs >= 5000) {
      this.slow++;
      this.note(`${label}: answered after ${a.latencyMs} ms`);
    }
    if (!isWellFormed(a)) {
      this.malformed++;
      this.note(`${label}: ${whyMalformed(a)}`);
    }
    return a;
  }

  /** Records a call that got no HTTP answer. */
  addError(err: unknown, label: string): void {
    this.requests++;
    this.transportErrors++;
    this.note(`${label}: no answer (${err instanceof Error ? err.message : String(err)})`);
  }

  /** Sends `call`, recording its answer or its failure; undefined when there was no answer. */
  async send(label: string, call: () => Promise<ProductionAnswer>): Promise<ProductionAnswer | undefined> {
    try {
      return this.add(await call(), label);
    } catch (err) {
      this.addError(err, label);
      return undefined;
    }
  }

  private note(p: string): void {
    if (this.problems.length < 50) this.problems.push(p);
  }

  summary(): { requests: number; http5xx: number; malformed: number; transportErrors: number; slow: number; maxLatencyMs: number; byCode: Record<string, number> } {
    return { requests: this.requests, http5xx: this.http5xx, malformed: this.malformed, transportErrors: this.transportErrors, slow: this.slow, maxLatencyMs: this.maxLatencyMs, byCode: this.byCode };
  }
}

/**
 * An operation as the marketplace sends it: again (fresh nonce) while the answer is retryable (000004/000005) or
 * missing, up to `attempts` times. Returns the last answer.
 */
export async function withMarketplaceRetries(
  tally: AnswerTally,
  label: string,
  call: () => Promise<ProductionAnswer>,
  o: { attempts?: number; delayMs?: number } = {},
): Promise<ProductionAnswer | undefined> {
  const attempts = o.attempts ?? 60;
  let last: ProductionAnswer | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(o.delayMs ?? 500);
    last = await tally.send(`${label} #${i + 1}`, call);
    if (last && last.status === 200 && !RETRYABLE_CODES.has(String(last.body?.resultCode))) return last;
  }
  return last;
}

/** The read model's view of some instances: phase and seq per instanceId. */
export async function readModel(pool: pg.Pool, instanceIds: readonly string[]): Promise<Map<string, { phase: string; seq: number; orderId: string; workflowId: string; credentialsSealed: string | null }>> {
  const r = await pool.query<{ instance_id: string; phase: string; seq: number; order_id: string; workflow_id: string; credentials_sealed: string | null }>(
    'SELECT instance_id, phase, seq, order_id, workflow_id, credentials_sealed FROM instances WHERE instance_id = ANY($1::text[])',
    [instanceIds],
  );
  return new Map(r.rows.map((row) => [row.instance_id, { phase: row.phase, seq: row.seq, orderId: row.order_id, workflowId: row.workflow_id, credentialsSealed: row.credentials_sealed }]));
}

/** Events of an instance's timeline, oldest first. */
export async function timeline(pool: pg.Pool, instanceId: string): Promise<string[]> {
  const r = await pool.query<{ event: string }>('SELECT event FROM instance_transitions WHERE instance_id = $1 ORDER BY seq', [instanceId]);
  return r.rows.map((row) => row.event);
}

/** Re-exported for tests that only need the type. */
export type { ProductionAnswer, ProductionClient };
