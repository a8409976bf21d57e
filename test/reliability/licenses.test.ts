import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicenseCountKey } from '../../src/kernel/search-attributes.js';
import { getLicenseLedgerQuery } from '../../src/licenses/contract.js';
import { findInstance } from '../../src/orders/store.js';
import type { ProductionClient } from '../../tools/simulator/production-client.js';
import { testInfra } from '../setup/infra.js';
import { AnswerTally, withMarketplaceRetries } from '../support/fault-checks.js';
import { bounded, reportFigures, workerProcess, type ManagedProcess } from '../support/fault-harness.js';
import { buyLicenseInstance, expectSigned, licenseCount, licenseMarket, licenseRequest, verifiedClaims } from '../support/licenses.js';
import { startServiceHarness, TEST_ACCESS_KEY, type ServiceHarness } from '../support/service-harness.js';

// Issue #13, reliability of license issuing: concurrent identical requests, concurrent requests beyond the quota,
// and a worker SIGKILLed while it issues. The API runs in-process against the shared Temporal and PostgreSQL; in the
// crash scenario the worker is a child process (worker.ts) so that it can really be killed.
// Heavy (a worker process and many concurrent calls): run under flock /tmp/heavy-tests.lock.

let h: ServiceHarness;
let market: ProductionClient;
beforeAll(async () => {
  h = await startServiceHarness({ worker: false });
  market = licenseMarket(h);
});
afterAll(async () => {
  await bounded('harness close', async () => h?.close(), 60_000);
});

describe.sequential('license issuing under concurrency', () => {
  beforeAll(async () => h.startWorker());
  afterAll(async () => h.stopWorker());

  it('when 20 identical getLicenseAsync arrive at once, then all 20 get the same license and one is stored', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 5 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => market.v2(licenseRequest(instanceId, 'same-event', 'SAME-DEVICE'))));
    for (const a of answers) expectSigned(a, '000000');
    expect(new Set(answers.map((a) => a.body.license)).size).toBe(1);
    expect(await licenseCount(h, instanceId)).toBe(1);
    await verifiedClaims(h, answers[0]!.body.license);
    const row = await findInstance(h.pool, instanceId);
    expect((await h.client.workflow.getHandle(row!.workflowId).query(getLicenseLedgerQuery)).issued).toBe(1);
  });

  it('when 50 distinct eventIds arrive at once on a quota of 10, then exactly 10 licenses and 40 × 000900', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 10 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => market.v2(licenseRequest(instanceId, `event-${i}`, `DEVICE-${i}`))));
    const codes = answers.map((a) => a.body?.resultCode);
    for (const a of answers) expect(a.bodySignValid).toBe(true);
    expect(codes.filter((c) => c === '000000')).toHaveLength(10);
    expect(codes.filter((c) => c === '000900')).toHaveLength(40);
    expect(new Set(answers.filter((a) => a.body.resultCode === '000000').map((a) => a.body.license)).size).toBe(10);
    expect(await licenseCount(h, instanceId)).toBe(10);
    // The ten that got one get it again; the forty still do not.
    const again = await Promise.all(answers.map((a, i) => market.v2(licenseRequest(instanceId, `event-${i}`, `DEVICE-${i}`)).then((b) => [a, b] as const)));
    for (const [first, second] of again) {
      expect(second.body.resultCode).toBe(first.body.resultCode);
      expect(second.body.license).toBe(first.body.license);
    }
  });
});

describe.sequential('license issuing while the worker is SIGKILLed', () => {
  let worker: ManagedProcess;
  beforeAll(async () => {
    const infra = testInfra();
    worker = workerProcess({
      databaseUrl: h.config.database.url,
      temporalAddress: h.config.temporal.address,
      temporalNamespace: h.config.temporal.namespace,
      taskQueue: h.config.temporal.taskQueue,
      marketplaceUrl: h.config.koogallery.apiBase,
      accessKey: TEST_ACCESS_KEY,
      huaweiAk: h.config.koogallery.huaweiAk,
      huaweiSk: h.config.koogallery.huaweiSk,
      dataEncryptionKey: h.config.dataEncryptionKey,
      workflowBundlePath: infra.workflowBundlePath,
    }, 'license-worker');
    await worker.start();
  });
  afterAll(async () => {
    await bounded('worker stop', () => worker.stop());
  });

  it('when the worker is killed twice while 15 devices ask for licenses (quota 15), then every device ends with exactly one license, the same bytes on every answer, none refused', async () => {
    const QUOTA = 15;
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: QUOTA });
    const tally = new AnswerTally();
    const received = new Map<number, Set<string>>();
    const codes: string[] = [];
    const devices = Array.from({ length: QUOTA }, (_, i) => i);
    const kills = (async () => {
      for (let k = 0; k < 2; k++) {
        await sleep(400 + k * 300);
        await worker.kill();
        await sleep(1000);
        await worker.start();
      }
    })();
    await Promise.all(
      devices.map(async (i) => {
        // Each device asks three times over the run (a marketplace retry, a software restart...).
        for (let round = 0; round < 3; round++) {
          const a = await withMarketplaceRetries(tally, `device ${i}`, () => market.v2(licenseRequest(instanceId, `crash-event-${i}`, `CRASH-DEVICE-${i}`)), { attempts: 120, delayMs: 250 });
          codes.push(String(a?.body?.resultCode));
          if (a?.body?.resultCode === '000000') received.set(i, (received.get(i) ?? new Set()).add(a.body.license as string));
          await sleep(300);
        }
      }),
    );
    await kills;
    const lost = devices.filter((i) => !received.has(i)).length;
    const duplicates = devices.filter((i) => (received.get(i)?.size ?? 0) > 1).length;
    reportFigures({ scenario: 'license issuing with the worker SIGKILLed twice', ...tally.summary(), crashes: worker.kills, lost, duplicates, devices: QUOTA });
    expect(codes.every((c) => c === '000000')).toBe(true);
    expect(worker.kills).toBe(2);
    for (const i of devices) expect(received.get(i)?.size, `device ${i}`).toBe(1);
    expect(new Set([...received.values()].flatMap((s) => [...s])).size).toBe(QUOTA);
    const rows = await h.pool.query('SELECT event_id, count(*)::int AS n FROM licenses WHERE instance_id = $1 GROUP BY event_id', [instanceId]);
    expect(rows.rows).toHaveLength(QUOTA);
    expect(rows.rows.every((r) => r.n === 1)).toBe(true);
    const row = await findInstance(h.pool, instanceId);
    const handle = h.client.workflow.getHandle(row!.workflowId);
    expect((await handle.query(getLicenseLedgerQuery)).issued).toBe(QUOTA);
    // And so does the search attribute ops filter on, also when a kill lost an issue's result after its commit.
    expect((await handle.describe()).typedSearchAttributes.get(LicenseCountKey)).toBe(QUOTA);
    // The quota is exactly used: one more device is refused, so nothing was counted twice or lost.
    expectSigned(await market.v2(licenseRequest(instanceId, 'one-too-many', 'EXTRA')), '000900');
  });
});
