import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `integration` (workflows, API, e2e, replay, compose) shares one
// Temporal dev server and one PostgreSQL started (or reused) by the global setup.
export default defineConfig({
  test: {
    reporters: ['default'],
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/replay/**/*.test.ts', 'test/reliability/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global-setup.ts'],
          setupFiles: ['test/setup/quiet-runtime.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // The machine has 2 cores; workflow bundling and servers are shared, so run files one or two at a time.
          pool: 'forks',
        },
      },
    ],
  },
});
