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

/** A unique id for one test's workflows and task queue, so tests never share state on the shared server. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
