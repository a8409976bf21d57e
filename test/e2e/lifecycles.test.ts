import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS, SIM_SETTLEMENT_CATALOGUE, SIM_SUPERVISED_PRODUCTS, type ScenarioContext } from '../../tools/simulator/scenarios.js';
import { startServiceHarness, type ServiceHarness } from '../support/service-harness.js';

// Whole lifecycles over HTTP, driven by the marketplace simulator, against the real Temporal and PostgreSQL:
// every answer is checked by the simulator (result code, Body-Sign, decryptable appInfo, latency under 5 s; for the
// supervision scenarios also the ops API's HTTP status and supervision node).
const SUPERVISION_SCENARIOS = ['v2-hardware-supervision', 'v2-service-supervision'];

describe('marketplace lifecycles over HTTP', () => {
  let h: ServiceHarness;
  let ctx: (log: string[]) => ScenarioContext;
  beforeAll(async () => {
    // The stack `npm start` runs with the simulator lists the same supervised products. Orders carry settlement
    // lines, and the simulated SaaS product is joint-operation goods, for settlement-month.
    h = await startServiceHarness({ env: { SUPERVISED_PRODUCTS: SIM_SUPERVISED_PRODUCTS, SETTLEMENT_ORDER_LINES: 'true', SETTLEMENT_CATALOGUE: SIM_SETTLEMENT_CATALOGUE } });
    const ops = { baseUrl: `${h.internalOrigin}/ops`, token: h.opsToken };
    // The order book, plus the simulator's license codes for the License code scenario (as its admin API offers both).
    const { orderBook: book, licenseCodes } = h.marketplace;
    const orderBook = {
      createOrder: book.createOrder.bind(book),
      addSupervisionEvents: book.addSupervisionEvents.bind(book),
      createLicenseCode: licenseCodes.create.bind(licenseCodes),
    };
    ctx = (log) => ({ client: h.market, orderBook, ops, log: (m) => log.push(m) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('when the scenarios are listed, then both supervision scenarios are among them', () => {
    expect(Object.keys(SCENARIOS)).toEqual(expect.arrayContaining(SUPERVISION_SCENARIOS));
  });

  for (const name of Object.keys(SCENARIOS)) {
    it(`when the marketplace runs ${name}, then every answer is as the spec says`, async () => {
      const log: string[] = [];
      const report = await SCENARIOS[name]!(ctx(log));
      expect(report.steps.length).toBeGreaterThanOrEqual(2);
      expect(report.instanceIds.length).toBeGreaterThan(0);
      for (const step of report.steps) expect(step.latencyMs).toBeLessThan(5000);
      if (SUPERVISION_SCENARIOS.includes(name)) {
        // The merchant's refused action and the completion are part of what was checked.
        expect(report.steps.some((s) => s.status === 409)).toBe(true);
        expect(report.steps.at(-1)).toMatchObject({ status: 200, node: 'COMPLETED' });
      }
      if (name === 'settlement-month') {
        // Payment before countersign and before sign-for refused; invoices issued and signed for; paid last.
        expect(report.steps.filter((s) => s.status === 409)).toHaveLength(2);
        expect(report.steps.filter((s) => s.step === 'ops RECORD_SIGN_FOR')).toHaveLength(1);
        expect(report.steps.at(-1)).toMatchObject({ step: 'ops RECORD_PAYMENT', status: 200 });
      }
    });
  }

  it('when provisioning outlasts the budget, then v2-yearly-lifecycle still passes: its purchase is answered 000004 and polled until ready', async () => {
    h.provisionerFaults.faults.delayMs('create', h.config.koogallery.provisionBudgetMs + 1000);
    try {
      const report = await SCENARIOS['v2-yearly-lifecycle']!(ctx([]));
      const [purchase, ...rest] = report.steps;
      expect(purchase).toMatchObject({ step: 'V2 newInstance', resultCode: '000004' });
      const polls = rest.filter((s) => s.step === 'V2 queryInstance (poll)');
      expect(polls.at(0)?.resultCode).toBe('000004');
      expect(polls.at(-1)?.resultCode).toBe('000000');
      for (const step of report.steps) expect(step.latencyMs).toBeLessThan(5000);
    } finally {
      h.provisionerFaults.faults.reset();
    }
  });

  for (const name of SUPERVISION_SCENARIOS) {
    it(`when ${name} runs without the ops API, then it fails at once saying so`, async () => {
      const log: string[] = [];
      const { ops: _ops, ...withoutOps } = ctx(log);
      await expect(SCENARIOS[name]!(withoutOps)).rejects.toThrow(`[${name}] needs the service's ops API`);
      expect(log.filter((l) => l.includes('created'))).toEqual([]);
    });

    it(`when ${name} runs with an order source that cannot add supervision events, then it fails at once saying so`, async () => {
      const log: string[] = [];
      const orderBook = h.marketplace.orderBook;
      const { orderBook: _book, ...rest } = ctx(log);
      await expect(SCENARIOS[name]!({ ...rest, orderBook: { createOrder: (input) => orderBook.createOrder(input) } })).rejects.toThrow(
        `[${name}] needs an order source that can add supervision events`,
      );
      expect(log.filter((l) => l.includes('created'))).toEqual([]);
    });

    it(`when ${name} runs with a wrong ops token, then it fails naming the token`, async () => {
      const log: string[] = [];
      const base = ctx(log);
      await expect(SCENARIOS[name]!({ ...base, ops: { ...base.ops!, token: 'not-the-token' } })).rejects.toThrow(/ops API refused the token/);
    });
  }
});
