import type { TestProject } from 'vitest/node';
import {
  endpointVariables,
  isClusterEndpoints,
  parseTopology,
  startTopology,
  type ManagedProcess,
  type RunningCluster,
  type RunningStack,
} from '@rtml/devstack';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    redisUrl: string;
    /** Only with RTML_TOPOLOGY=cluster: comma-separated Redis Cluster seed nodes (host:port). */
    redisClusterNodes: string;
    /**
     * Processes this run started (none for an external stack): fault tests SIGKILL them by pid, never anyone else's.
     */
    stackProcesses: ManagedProcess[];
  }
}

let stack: RunningStack | RunningCluster | undefined;

/**
 * Vitest global setup: one stack per test run, shared by every test file, stopped at the end.
 * RTML_TOPOLOGY=cluster starts (or takes from KAFKA_BROKERS + REDIS_CLUSTER_NODES) the cluster topology instead;
 * vitest.config.ts then runs the `*.cluster.test.ts` files only.
 */
export async function setup(project: TestProject): Promise<void> {
  const running = await startTopology(parseTopology(process.env.RTML_TOPOLOGY, 'RTML_TOPOLOGY'));
  stack = running;
  // Workers inherit the environment, so code that resolves endpoints itself finds the same stack.
  Object.assign(process.env, endpointVariables(running));
  project.provide('kafkaBrokers', running.kafkaBrokers);
  project.provide('stackProcesses', running.processes);
  if (isClusterEndpoints(running)) project.provide('redisClusterNodes', running.redisClusterNodes);
  else project.provide('redisUrl', running.redisUrl);
}

export async function teardown(): Promise<void> {
  await stack?.stop();
}
