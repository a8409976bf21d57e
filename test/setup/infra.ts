import { inject } from 'vitest';

/** Addresses of the real servers the global setup started or found. */
export interface TestInfra {
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl: string;
  temporalCliPath: string;
  timeSkippingServerPath: string;
  workflowBundlePath: string;
  fixtureWorkflowBundlePath: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    infra: TestInfra;
  }
}

/** The servers of this test run. */
export function testInfra(): TestInfra {
  return inject('infra');
}

export { uniqueId } from '../../tools/testing/ids.js';
