import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages export their TypeScript sources under the "source" condition: tests need no build
  // step and never run a stale dist/. Node-environment tests resolve through Vite's SSR settings, hence both.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'scenarios/*/src/**/*.test.ts', 'test/**/*.test.ts', 'templates/**/*.test.ts', 'bench/lib/**/*.test.ts', 'bench/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
