import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uniqueId } from '../../setup/infra.js';
import { sampleValue } from '../../support/ops/prometheus-text.js';
import { startServiceHarness, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, aV2PurchaseBody, lineOf } from '../../support/factories.js';

// The API's /metrics as Prometheus scrapes it: each production-interface call moves exactly its own series
// (interface, activity, result code), a refused signature moves the signature-failure counter with its reason, and
// a purchase answered 000004 moves the async-answer counter. Each harness has its own registry, so the deltas are
// this test's alone.

let h: ServiceHarness;

beforeAll(async () => {
  // A short budget so a slowed provisioner makes the purchase answer 000004.
  h = await startServiceHarness({ env: { PROVISION_BUDGET_MS: '1000' } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.provisionerFaults.faults.reset();
});

const scrape = async (): Promise<string> => {
  const res = await fetch(`${h.internalOrigin}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
};

describe('API metrics', () => {
  it('when a signed V2 call is answered, then its (interface, activity, result_code) counter and latency histogram move by one, and no other counter does', async () => {
    const before = await scrape();
    const a = await h.market.v2({ activity: 'queryInstance', instanceId: uniqueId('absent') });
    expect(a.body?.resultCode).toBe('000003');
    const after = await scrape();
    const series = { interface: 'V2', activity: 'queryInstance', result_code: '000003' };
    expect(sampleValue(after, 'koogallery_requests_total', series) - sampleValue(before, 'koogallery_requests_total', series)).toBe(1);
    const latency = { interface: 'V2', activity: 'queryInstance' };
    expect(sampleValue(after, 'koogallery_request_duration_seconds_count', latency) - sampleValue(before, 'koogallery_request_duration_seconds_count', latency)).toBe(1);
    expect(sampleValue(after, 'koogallery_request_duration_seconds_bucket', { ...latency, le: '5' })).toBeGreaterThanOrEqual(1);
    // The success series of the same activity did not move, nor did the failure counters.
    for (const name of ['koogallery_signature_failures_total', 'koogallery_async_answers_total']) {
      expect(sampleValue(after, name), name).toBe(sampleValue(before, name));
    }
    expect(sampleValue(after, 'koogallery_requests_total', { ...series, result_code: '000000' })).toBe(sampleValue(before, 'koogallery_requests_total', { ...series, result_code: '000000' }));
  });

  it('when a signed V1 call is answered, then the V1 series of its activity moves', async () => {
    const before = await scrape();
    const a = await h.market.v1('queryInstance', { instanceId: uniqueId('absent') });
    expect(a.body?.resultCode).toBe('000003');
    const after = await scrape();
    const series = { interface: 'V1', activity: 'queryInstance', result_code: '000003' };
    expect(sampleValue(after, 'koogallery_requests_total', series) - sampleValue(before, 'koogallery_requests_total', series)).toBe(1);
  });

  it('when a V2 signature is wrong, then signature failures (reason "signature mismatch") and the 000001 series move by one', async () => {
    const before = await scrape();
    const a = await h.market.v2({ activity: 'queryInstance', instanceId: 'x' }, { signature: 'A'.repeat(64) });
    expect(a.body?.resultCode).toBe('000001');
    const after = await scrape();
    const failure = { interface: 'V2', reason: 'signature mismatch' };
    expect(sampleValue(after, 'koogallery_signature_failures_total', failure) - sampleValue(before, 'koogallery_signature_failures_total', failure)).toBe(1);
    // Refused before the body is read: the activity is not trusted as a label.
    const refused = { interface: 'V2', activity: 'unknown', result_code: '000001' };
    expect(sampleValue(after, 'koogallery_requests_total', refused) - sampleValue(before, 'koogallery_requests_total', refused)).toBe(1);
  });

  it('when a V1 authToken is wrong, then signature failures (reason "authToken mismatch") move by one', async () => {
    const before = await scrape();
    const a = await h.market.raw({ method: 'GET', query: { activity: 'queryInstance', instanceId: 'x', timeStamp: String(Date.now()), authToken: 'forged' } });
    expect(a.body?.resultCode).toBe('000001');
    const after = await scrape();
    const reasons = ['authToken mismatch', 'authToken bad-timestamp'];
    const delta = reasons.reduce((n, reason) => n + sampleValue(after, 'koogallery_signature_failures_total', { interface: 'V1', reason }) - sampleValue(before, 'koogallery_signature_failures_total', { interface: 'V1', reason }), 0);
    expect(delta).toBe(1);
  });

  it('when provisioning outlasts the budget, then the purchase is answered 000004 and the async-answer counter moves by one', async () => {
    h.provisionerFaults.faults.delayMs('create', 4000);
    const order = h.marketplace.orderBook.createOrder(aSimOrder());
    const before = await scrape();
    const a = await h.market.v2(aV2PurchaseBody(lineOf(order)));
    expect(a.body?.resultCode).toBe('000004');
    const after = await scrape();
    expect(sampleValue(after, 'koogallery_async_answers_total') - sampleValue(before, 'koogallery_async_answers_total')).toBe(1);
    const series = { interface: 'V2', activity: 'newInstance', result_code: '000004' };
    expect(sampleValue(after, 'koogallery_requests_total', series) - sampleValue(before, 'koogallery_requests_total', series)).toBe(1);
  });

  it('when scraped, then the inbox writer shows its backlog and losses (none: every call above was stored)', async () => {
    const text = await scrape();
    expect(text).toMatch(/^koogallery_inbox_waiting \d+$/m);
    expect(text).toMatch(/^koogallery_inbox_lost_total\{reason="refused"\} 0$/m);
    expect(text).toMatch(/^koogallery_inbox_lost_total\{reason="backlog-full"\} 0$/m);
  });

  it('when scraped, then the batched statements show their backlogs: nonce claims and instance version reads', async () => {
    const text = await scrape();
    expect(text).toMatch(/^koogallery_db_batch_waiting\{batch="nonce-claims"\} \d+$/m);
    expect(text).toMatch(/^koogallery_db_batch_waiting\{batch="instance-version-reads"\} \d+$/m);
  });

  it('when a line waits outside any statement and a statement is flagged, then the settlement gauges show them', async () => {
    const scope = uniqueId('gauge');
    const lineKey = `${scope}:o:PURCHASE`;
    const statementId = `settlement-statement-2031-08-PLATFORM_FEE-${scope}`;
    // A line recorded ten days ago and still waiting (its supervision not accepted), and an unpaid statement whose
    // marketplace bill differs by 5 fen. The database is shared: the gauges count every test's rows, so the checks
    // are lower bounds (the oldest line is at least this old).
    await h.pool.query(
      `INSERT INTO settlement_lines (line_key, order_workflow_id, instance_id, order_id, product_id, event_kind, goods, settlement_type, tax_rate_ppm, share_rate_ppm, gross_minor, test_order, state, event, created_at)
       VALUES ($1, $2, $3, 'o', 'p', 'PURCHASE', 'GENERAL', 'PLATFORM_FEE', 60000, 0, 1000, false, 'PENDING', '{}', now() - interval '10 days')`,
      [lineKey, `order-${scope}`, `i-${scope}`],
    );
    await h.pool.query(
      `INSERT INTO settlement_statements (statement_id, period, settlement_type, step, scope, difference_minor) VALUES ($1, '2031-08', 'PLATFORM_FEE', 'COUNTERSIGN_PENDING', $2, 5)`,
      [statementId, `${scope}:`],
    );
    try {
      const text = await scrape();
      expect(sampleValue(text, 'koogallery_settlement_pending_lines')).toBeGreaterThanOrEqual(1);
      expect(sampleValue(text, 'koogallery_settlement_oldest_pending_line_age_seconds')).toBeGreaterThanOrEqual(10 * 86_400 - 60);
      expect(sampleValue(text, 'koogallery_settlement_flagged_statements')).toBeGreaterThanOrEqual(1);
      expect(sampleValue(text, 'koogallery_settlement_statements', { step: 'COUNTERSIGN_PENDING' })).toBeGreaterThanOrEqual(1);
      for (const step of ['BILL_GENERATED', 'PAID', 'WRITTEN_OFF']) expect(text).toMatch(new RegExp(`^koogallery_settlement_statements\\{step="${step}"\\} \\d+$`, 'm'));
    } finally {
      await h.pool.query('DELETE FROM settlement_lines WHERE line_key = $1', [lineKey]);
      await h.pool.query('DELETE FROM settlement_statements WHERE statement_id = $1', [statementId]);
    }
  });

  it('when scraped, then the reconciliation gauges are there for every drift kind', async () => {
    const text = await scrape();
    // Kept for docs/metrics.md: a scrape after the calls above.
    const out = join(import.meta.dirname, '..', '..', '..', 'test-output', 'metrics');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'api-scrape.txt'), text);
    for (const kind of ['PHASE_MISMATCH', 'READ_MODEL_STALE', 'READ_MODEL_AHEAD', 'WORKFLOW_MISSING', 'WORKFLOW_CLOSED', 'MARKETPLACE_ORDER_MISSING']) {
      expect(text).toMatch(new RegExp(`^koogallery_reconciliation_open_findings\\{kind="${kind}"\\} \\d+$`, 'm'));
    }
  });
});
