import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/simulator/scenarios.js';
import { startServiceHarness, type ServiceHarness } from '../support/service-harness.js';

// Whole lifecycles over HTTP, driven by the marketplace simulator, against the real Temporal and PostgreSQL:
// every answer is checked by the simulator (result code, Body-Sign, decryptable appInfo, latency under 5 s).
describe('marketplace lifecycles over HTTP', () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await startServiceHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  for (const name of Object.keys(SCENARIOS)) {
    it(`when the marketplace runs ${name}, then every answer is as the spec says`, async () => {
      const log: string[] = [];
      const report = await SCENARIOS[name]!({ client: h.market, orderBook: h.marketplace.orderBook, log: (m) => log.push(m) });
      expect(report.steps.length).toBeGreaterThanOrEqual(2);
      expect(report.instanceIds.length).toBeGreaterThan(0);
      for (const step of report.steps) expect(step.latencyMs).toBeLessThan(5000);
    });
  }
});
