import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOrderId } from '../../../tools/simulator/order-book.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../../support/service-harness.js';
import { aSimOrder, aV1PurchaseParams, aV2RenewalBody, lineOf } from '../../support/factories.js';

// What the API logs during whole lifecycles (V2 and V1, refusals, the ops API): structured JSON, the ids of the order
// on the lines about one, and never a secret — not the access key, the AK/SK, the data-encryption key, the ops
// token, nor a tenant password the marketplace received. The harness's logger has no redaction, so this checks
// what the code hands to the logger, not what pino's redaction would hide.

let h: ServiceHarness;
const passwords: string[] = [];
const orderLines: Array<Record<string, unknown>> = [];


beforeAll(async () => {
  h = await startServiceHarness();

  // V2: buy, poll (password decrypted from the answer), renew, freeze, unfreeze, release.
  const order = h.marketplace.orderBook.createOrder(aSimOrder());
  const { orderLineId } = lineOf(order);
  const { instanceId } = await h.market.newInstanceV2WithAsync(order.orderId, orderLineId, { retries: 0 });
  const polled = await h.market.v2({ activity: 'queryInstance', instanceId });
  expect(polled.appInfo?.password).toBeTruthy();
  passwords.push(polled.appInfo!.password!);
  const renewal = h.marketplace.orderBook.createOrder(aSimOrder({ orderType: 'RENEW', customerId: order.buyerInfo.customerId }));
  for (const body of [
    aV2RenewalBody(lineOf(renewal), instanceId),
    { activity: 'updateInstanceStatus', instanceId, status: 'FREEZE' },
    { activity: 'updateInstanceStatus', instanceId, status: 'UNFREEZE' },
    { activity: 'releaseInstance', instanceId, orderId: order.orderId },
  ]) {
    const a = await h.market.v2(body);
    expect(a.body?.resultCode, body.activity).toBe('000000');
  }

  // V1: buy (appInfo in the answer), expire, release.
  const v1OrderId = generateOrderId();
  const v1Outcome = await h.market.newInstanceV1WithRetries(aV1PurchaseParams({ customerName: 'log-test', orderId: v1OrderId }));
  const v1 = v1Outcome.answers.at(-1)!;
  expect(v1.body?.resultCode).toBe('000000');
  passwords.push(v1.appInfo!.password!);
  for (const activity of ['expireInstance', 'releaseInstance']) {
    const a = await h.market.v1(activity, { instanceId: v1Outcome.instanceId, orderId: v1OrderId });
    expect(a.body?.resultCode, activity).toBe('000000');
  }

  // Refusals (warn lines) and the ops API, with the token.
  await h.market.v2({ activity: 'queryInstance', instanceId }, { signature: 'B'.repeat(64) });
  await h.market.raw({ method: 'GET', query: { activity: 'queryInstance', instanceId, timeStamp: '1', authToken: 'x' } });
  for (const path of ['/ops/orders?limit=5', `/ops/orders/${instanceId}`, '/ops/drift', '/ops/orders?limit=0']) {
    const res = await fetch(`${h.internalOrigin}${path}`, { headers: { authorization: `Bearer ${h.opsToken}` } });
    expect(res.status, path).toBe(path.endsWith('limit=0') ? 400 : 200);
  }
  // Log lines are written after the answer is sent; let the last ones land.
  await new Promise((r) => setTimeout(r, 200));

  mkdirSync(join(import.meta.dirname, '..', '..', '..', 'test-output', 'logs'), { recursive: true });
  writeFileSync(join(import.meta.dirname, '..', '..', '..', 'test-output', 'logs', 'api-lifecycle.jsonl'), h.logLines.join(''));
  for (const raw of h.logLines) {
    const line = JSON.parse(raw) as Record<string, unknown>;
    // Answered order-changing calls; on a slow machine a V2 purchase may be answered 000004 (then polled), a V1
    // purchase 000005 first (then retried): those retries are not part of the expected sequence.
    const answered = line.msg === 'production-interface call answered' && line.activity !== 'queryInstance';
    if (answered && (line.code === '000000' || (line.interface === 'V2' && line.code === '000004'))) orderLines.push(line);
  }
});
afterAll(async () => {
  await h?.close();
});

describe('API log during whole lifecycles', () => {
  it('when every line is read, then each is one JSON object with level, time and message', () => {
    // 9 answered calls and 2 refusals (the ops API logs only failures).
    expect(h.logLines.length).toBeGreaterThanOrEqual(11);
    for (const raw of h.logLines) {
      expect(raw.endsWith('\n') && !raw.slice(0, -1).includes('\n')).toBe(true);
      const line = JSON.parse(raw) as Record<string, unknown>;
      // The harness's plain pino writes numeric levels; createLogger() writes labels. Either is structured.
      expect(line).toMatchObject({ time: expect.anything(), msg: expect.any(String) });
      expect(['number', 'string']).toContain(typeof line.level);
    }
  });

  it('when grepped, then no secret appears: access key, AK/SK, data-encryption key, ops token, tenant passwords', () => {
    const log = h.logLines.join('');
    expect(passwords).toHaveLength(2);
    const secrets: Record<string, string> = {
      accessKey: TEST_ACCESS_KEY,
      huaweiAk: h.config.koogallery.huaweiAk,
      huaweiSk: h.config.koogallery.huaweiSk,
      dataEncryptionKey: h.config.dataEncryptionKey,
      opsApiToken: h.opsToken,
      ...Object.fromEntries(passwords.map((p, i) => [`tenant password ${i + 1}`, p])),
    };
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThanOrEqual(8);
      expect(log, name).not.toContain(value);
    }
    // Nor a request signature that could be replayed within its window.
    expect(log).not.toMatch(/authToken=|signature=|"authToken":"|"signature":"/);
  });

  it('when an order-changing call is answered, then its line carries orderId, instanceId and workflowId', () => {
    expect(orderLines.map((l) => l.activity)).toEqual([
      'newInstance', 'refreshInstance', 'updateInstanceStatus', 'updateInstanceStatus', 'releaseInstance',
      'newInstance', 'expireInstance', 'releaseInstance',
    ]);
    for (const l of orderLines) {
      expect(l, String(l.activity)).toMatchObject({ instanceId: expect.any(String), workflowId: expect.stringMatching(/^order-/) });
    }
  });

  it('when any call about an order is answered, then its line carries the purchase orderId, instanceId and workflowId', () => {
    const purchaseOrderOf = new Map<string, unknown>();
    const answered = h.logLines.map((raw) => JSON.parse(raw) as Record<string, unknown>).filter((l) => l.msg === 'production-interface call answered');
    for (const l of answered) if (l.activity === 'newInstance') purchaseOrderOf.set(String(l.instanceId), l.orderId);
    for (const l of answered) {
      expect(l, String(l.activity)).toMatchObject({ instanceId: expect.any(String), workflowId: expect.any(String), orderId: purchaseOrderOf.get(String(l.instanceId)) });
    }
  });
});
