import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Four projects: `unit` (no DynamoDB Local, no Java: seconds), `integration` (one DynamoDB Local
 * for the run, each file its own table), `e2e` (the local runtime and browsers: runtimes of their
 * own, sharing one DynamoDB Local) and `cdk` (the stack and the function bundles). `npm test` runs them all with coverage.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one fewer than the cores: a single worker on a two-core machine. The files
    // mostly wait (on DynamoDB Local, timers, Chromium), so two side by side take about half the time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
      {
        extends: true,
        // Its runtimes share one DynamoDB Local too (a table each): a JVM start is 4–30 s on two cores.
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: ['test/support/global-setup.ts'] },
      },
      { extends: true, test: { name: 'cdk', include: ['test/cdk/**/*.test.ts'] } },
    ],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      // About a point under the full suite's figures after the staff, webhook, scene and sharded-stock
      // features (domain 96.0 % lines, 94.7 statements, 95.5 functions, 91.0 branches; core branches
      // 81.8); figures move a little between machines, so a hair's margin failed CI once.
      thresholds: {
        'src/domain/**': { lines: 95, statements: 93.5, functions: 94.5, branches: 90 },
        'src/core/**': { lines: 94, statements: 90, functions: 96, branches: 80.5 },
      },
    },
  },
});
