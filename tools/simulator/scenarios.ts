// End-to-end lifecycles against a RUNNING service, played the way KooGallery would (spec §3, §4, §5, §9, §11), by
// family: V2 SaaS (scenarios/saas-v2.ts), V1 SaaS (scenarios/saas-v1.ts), service supervision
// (scenarios/supervision.ts), all run with the checks of scenarios/scenario-run.ts, and License products
// (scenarios/licenses.ts), which also verify every license with the service's JWKS.
import type { Scenario } from './scenarios/context.js';
import { SAAS_V1_SCENARIOS } from './scenarios/saas-v1.js';
import { SAAS_V2_SCENARIOS } from './scenarios/saas-v2.js';
import type { NamedScenario } from './scenarios/scenario-run.js';
import { SETTLEMENT_SCENARIOS } from './scenarios/settlement.js';
import { SUPERVISION_SCENARIOS } from './scenarios/supervision.js';
import { LICENSE_SCENARIOS } from './scenarios/licenses.js';

export type { Scenario, ScenarioContext, ScenarioOpsApi, ScenarioOrderSource, ScenarioReport, ScenarioStep } from './scenarios/context.js';
export { SIM_HARDWARE_PRODUCT_ID, SIM_SERVICE_PRODUCT_ID, SIM_SETTLEMENT_CATALOGUE, SIM_SUPERVISED_PRODUCTS } from './scenarios/products.js';

/** Every scenario, in `npm run sim -- list` (and `all`) order. */
const ALL: readonly NamedScenario[] = [...SAAS_V2_SCENARIOS, ...SAAS_V1_SCENARIOS, ...SUPERVISION_SCENARIOS, ...LICENSE_SCENARIOS, ...SETTLEMENT_SCENARIOS];

/** Every scenario by name. */
export const SCENARIOS: Record<string, Scenario> = Object.fromEntries(ALL.map((s) => [s.name, s.run]));

/** One line per scenario for `npm run sim -- list`. */
export const SCENARIO_DESCRIPTIONS: Record<string, string> = Object.fromEntries(ALL.map((s) => [s.name, s.description]));
