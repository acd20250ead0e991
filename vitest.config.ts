import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

const clusterTopology = process.env.RTML_TOPOLOGY === 'cluster';

export default defineConfig({
  // Workspace packages export their TypeScript sources under the "source" condition: tests need no build
  // step and never run a stale dist/. Node-environment tests resolve through Vite's SSR settings, hence both.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    // RTML_TOPOLOGY=cluster (test/global-setup.ts starts 3 brokers + a Redis Cluster) runs only the cluster tests;
    // the default run leaves them out, they need that topology; *.docker.test.ts need a Docker engine and run in the
    // docker suite (vitest.docker.config.ts).
    // Files one at a time there: fault tests kill shared nodes, and nine servers already fill two cores.
    ...(clusterTopology
      ? { include: ['packages/*/src/**/*.cluster.test.ts'], fileParallelism: false }
      : {
          include: [
            'packages/*/src/**/*.test.ts',
            'scenarios/*/src/**/*.test.ts',
            'test/**/*.test.ts',
            'templates/**/*.test.ts',
            'workshop/**/*.test.ts',
            'bench/lib/**/*.test.ts',
            'bench/*.test.ts',
          ],
          exclude: [...configDefaults.exclude, '**/*.cluster.test.ts', '**/*.docker.test.ts'],
          // Most of these files wait on Kafka and Redis (group joins, session timeouts, catch-up), not on a CPU:
          // vitest's default of cores - 1 workers would run them one at a time on a 2-core CI machine.
          // Two took the phase from 351 s to 203 s in clean-clone CI (2026-12-03); each file uses names of its own.
          maxWorkers: Math.max(2, availableParallelism() - 1),
          minWorkers: 1,
        }),
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
