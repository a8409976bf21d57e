import { testInfra } from '../setup/infra.js';
import { startServiceHarness as startHarness, type ServiceHarness, type ServiceHarnessOptions } from '../../tools/testing/service-harness.js';

export { TEST_ACCESS_KEY, TEST_OPS_TOKEN, type ServiceHarness } from '../../tools/testing/service-harness.js';

/** The service harness (tools/testing/service-harness.ts) on this test run's servers unless `infra` names others. */
export function startServiceHarness(o: Partial<ServiceHarnessOptions> = {}): Promise<ServiceHarness> {
  return startHarness({ ...o, infra: o.infra ?? testInfra() });
}
