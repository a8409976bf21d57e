import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The reliability suite (issue #7) on its own: the same settings as the root config's `integration` project
// (global setup starts or reuses Temporal and PostgreSQL), restricted to test/reliability. Until the root config's
// `integration` include lists `test/reliability/**/*.test.ts`, run it with:
//   npx vitest run --config test/reliability/vitest.config.ts --project integration
// The crash/outage file is heavy; with at most two files at a time it shares the 2-core machine with one light file.
const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  test: {
    reporters: ['default'],
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        root,
        test: {
          name: 'integration',
          include: ['test/reliability/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global-setup.ts'],
          setupFiles: ['test/setup/quiet-runtime.ts'],
          testTimeout: 600_000,
          hookTimeout: 180_000,
          pool: 'forks',
        },
      },
    ],
  },
});
