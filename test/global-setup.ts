import type { TestProject } from 'vitest/node';
import { parseTopology, startClusterStack, startStack, type RunningCluster, type RunningStack } from '@rtml/devstack';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    redisUrl: string;
    /** Only with RTML_TOPOLOGY=cluster: comma-separated Redis Cluster seed nodes (host:port). */
    redisClusterNodes: string;
  }
}

let stack: RunningStack | RunningCluster | undefined;

/**
 * Vitest global setup: one stack per test run, shared by every test file, stopped at the end.
 * RTML_TOPOLOGY=cluster starts (or takes from KAFKA_BROKERS + REDIS_CLUSTER_NODES) the cluster topology instead;
 * vitest.config.ts then runs the `*.cluster.test.ts` files only.
 */
export async function setup(project: TestProject): Promise<void> {
  if (parseTopology(process.env.RTML_TOPOLOGY, 'RTML_TOPOLOGY') === 'cluster') {
    const cluster = await startClusterStack();
    stack = cluster;
    process.env.KAFKA_BROKERS = cluster.kafkaBrokers;
    process.env.REDIS_CLUSTER_NODES = cluster.redisClusterNodes;
    project.provide('kafkaBrokers', cluster.kafkaBrokers);
    project.provide('redisClusterNodes', cluster.redisClusterNodes);
    return;
  }
  const single = await startStack();
  stack = single;
  // Workers inherit the environment, so code that resolves endpoints itself finds the same stack.
  process.env.KAFKA_BROKERS = single.kafkaBrokers;
  process.env.REDIS_URL = single.redisUrl;
  project.provide('kafkaBrokers', single.kafkaBrokers);
  project.provide('redisUrl', single.redisUrl);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
}
