import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The docker suite (the docker phase of scripts/test.sh): the shared stack comes from testcontainers, and the
// same tests that cover the native broker run against it, plus one stream pipeline end to end and the docker teardown.
process.env.RTML_DEVSTACK_MODE = 'docker';
if (process.env.KAFKA_BROKERS || process.env.REDIS_URL) {
  throw new Error(
    'the docker suite starts its own stack: run it without KAFKA_BROKERS/REDIS_URL (not inside `devstack exec`)',
  );
}

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'packages/devstack/src/kafka.test.ts', // keyed produce/consume in a group, replay from a timestamp, transactions
      'packages/devstack/src/redis.test.ts',
      'packages/stream/src/feature-set.test.ts', // events -> Kafka -> processor -> Redis equals a clean recomputation
      '**/*.docker.test.ts',
    ],
    exclude: base.test?.exclude?.filter((pattern) => pattern !== '**/*.docker.test.ts'),
  },
});
