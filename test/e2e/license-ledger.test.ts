import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LicenseCountKey } from '../../src/kernel/search-attributes.js';
import { getLicenseLedgerQuery } from '../../src/licenses/contract.js';
import { findInstance } from '../../src/orders/store.js';
import type { ProductionClient } from '../../tools/simulator/production-client.js';
import { buyLicenseInstance, expectSigned, licenseCount, licenseMarket, licenseRequest } from '../support/licenses.js';
import { startServiceHarness, type ServiceHarness } from '../support/service-harness.js';

// A license stored by a local activity whose result was then lost (the worker killed between the commit and the
// result reaching history) is found by the retry: the license ledger counts it like the store does. Found by the
// worker-SIGKILL reliability test (15 licenses stored and handed out, the ledger said 14); here the loss is injected
// so that it happens on every run.

let h: ServiceHarness;
let market: ProductionClient;
let loseNextResult = false;
beforeAll(async () => {
  h = await startServiceHarness({
    wrapActivities: (a) => ({
      ...a,
      async issueLicense(input) {
        const outcome = await a.issueLicense(input);
        if (loseNextResult) {
          loseNextResult = false;
          throw new Error('worker lost after the license was stored (injected)');
        }
        return outcome;
      },
    }),
  });
  market = licenseMarket(h);
});
afterAll(async () => {
  await h?.close();
});

describe('the license ledger', () => {
  it('when the result of the issuing local activity is lost after the license was stored, then the retry answers that license and the ledger counts it', async () => {
    const { instanceId } = await buyLicenseInstance(h, market, { linearValue: 2 });
    const handle = h.client.workflow.getHandle((await findInstance(h.pool, instanceId))!.workflowId);
    const ledgerOf = async () => (await handle.query(getLicenseLedgerQuery)).issued;
    // Ops find instances by LicenseCount in the Temporal UI: it counts the found license at once too (a patch).
    const licenseCountAttribute = async () => (await handle.describe()).typedSearchAttributes.get(LicenseCountKey);

    loseNextResult = true;
    const first = await market.v2(licenseRequest(instanceId, 'lost-result', 'DEVICE-LOST'));
    expectSigned(first, '000000');
    expect(loseNextResult).toBe(false);
    expect(await licenseCount(h, instanceId)).toBe(1);
    expect(await ledgerOf()).toBe(1);
    expect(await licenseCountAttribute()).toBe(1);

    // The ledger and the store agree from then on: the second device takes the last of the quota, a third is refused.
    expectSigned(await market.v2(licenseRequest(instanceId, 'second', 'DEVICE-2')), '000000');
    expect(await ledgerOf()).toBe(2);
    expect(await licenseCountAttribute()).toBe(2);
    expectSigned(await market.v2(licenseRequest(instanceId, 'third', 'DEVICE-3')), '000900');
    expect(await licenseCount(h, instanceId)).toBe(2);
    // The device whose answer was rebuilt gets the same bytes again.
    const again = await market.v2(licenseRequest(instanceId, 'lost-result', 'DEVICE-LOST'));
    expect(again.body.license).toBe(first.body.license);
  });
});
