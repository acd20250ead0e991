import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNativeKafkaCluster } from './kafka-cluster.js';
import { progress, secondsSince, stopProcess } from './process.js';
import { startNativeRedisCluster } from './redis-cluster.js';
import {
  bothOrNeither,
  startStack,
  type ManagedProcess,
  type RunningStack,
  type StackEndpoints,
  type StartOptions,
} from './stack.js';

/**
 * `single`: one broker + one Redis (the default). `cluster`: 3 Kafka brokers + a Redis Cluster of 3 primaries and
 * 3 replicas.
 */
export type Topology = 'single' | 'cluster';
export const TOPOLOGIES: readonly Topology[] = ['single', 'cluster'];

/** Where a cluster lives: `KAFKA_BROKERS` and `REDIS_CLUSTER_NODES` (comma-separated host:port seeds). */
export interface ClusterEndpoints {
  kafkaBrokers: string;
  redisClusterNodes: string;
}

export interface RunningCluster extends ClusterEndpoints {
  mode: 'environment' | 'native';
  processes: ManagedProcess[];
  runDir?: string;
  stop(): Promise<void>;
}

export function parseTopology(value: string | undefined, setting: string): Topology {
  const topology = value ?? 'single';
  if ((TOPOLOGIES as readonly string[]).includes(topology)) return topology as Topology;
  throw new Error(`[devstack] ${setting} must be one of ${TOPOLOGIES.join(', ')}, got "${topology}"`);
}

export function isClusterEndpoints(endpoints: StackEndpoints | ClusterEndpoints): endpoints is ClusterEndpoints {
  return 'redisClusterNodes' in endpoints;
}

/** The variables a client reads: `KAFKA_BROKERS` plus `REDIS_URL` (single) or `REDIS_CLUSTER_NODES` (cluster). */
export function endpointVariables(endpoints: StackEndpoints | ClusterEndpoints): Record<string, string> {
  return isClusterEndpoints(endpoints)
    ? { KAFKA_BROKERS: endpoints.kafkaBrokers, REDIS_CLUSTER_NODES: endpoints.redisClusterNodes }
    : { KAFKA_BROKERS: endpoints.kafkaBrokers, REDIS_URL: endpoints.redisUrl };
}

export async function startTopology(
  topology: Topology,
  opts: StartOptions = {},
): Promise<RunningStack | RunningCluster> {
  return topology === 'cluster' ? startClusterStack(opts) : startStack(opts);
}

export function clusterEndpointsFromEnvironment(): ClusterEndpoints | undefined {
  const both = bothOrNeither('REDIS_CLUSTER_NODES', 'the cluster');
  return both && { kafkaBrokers: both[0], redisClusterNodes: both[1] };
}

/** Servers of one kind as the stack records them: `redis-1`, `redis-2`, ... */
function numbered(kind: string, servers: readonly Omit<ManagedProcess, 'name'>[]): ManagedProcess[] {
  return servers.map(({ pid, ports, logFile, argv }, i) => ({ name: `${kind}-${i + 1}`, pid, ports, logFile, argv }));
}

/**
 * The cluster topology: the environment's (KAFKA_BROKERS + REDIS_CLUSTER_NODES), else native processes on
 * loopback. There is no testcontainers variant: a Docker user runs their own cluster and exports the two variables.
 */
export async function startClusterStack(opts: Pick<StartOptions, 'ignoreEnvironment'> = {}): Promise<RunningCluster> {
  const started = Date.now();
  const fromEnv = opts.ignoreEnvironment ? undefined : clusterEndpointsFromEnvironment();
  if (fromEnv) {
    progress(
      `using KAFKA_BROKERS=${fromEnv.kafkaBrokers} and REDIS_CLUSTER_NODES=${fromEnv.redisClusterNodes}; ` +
        'starting nothing',
    );
    return { ...fromEnv, mode: 'environment', processes: [], stop: async () => undefined };
  }
  const runDir = mkdtempSync(join(tmpdir(), 'rtml-devstack-cluster-'));
  const [redis, kafka] = await Promise.allSettled([
    startNativeRedisCluster(join(runDir, 'redis')),
    startNativeKafkaCluster(join(runDir, 'kafka')),
  ]);
  const processes: ManagedProcess[] = [
    ...(redis.status === 'fulfilled' ? numbered('redis', redis.value.servers) : []),
    ...(kafka.status === 'fulfilled' ? numbered('kafka', kafka.value.nodes) : []),
  ];
  const stopAll = () => Promise.all(processes.map((p) => stopProcess(p.pid)));
  if (redis.status === 'rejected' || kafka.status === 'rejected') {
    // Nothing half-started stays up; the run dir stays, it holds the logs named in the error.
    await stopAll();
    throw redis.status === 'rejected' ? redis.reason : (kafka as PromiseRejectedResult).reason;
  }
  const endpoints = { kafkaBrokers: kafka.value.brokers, redisClusterNodes: redis.value.nodes };
  progress(
    `cluster ready in ${secondsSince(started)} s: ` +
      `KAFKA_BROKERS=${endpoints.kafkaBrokers} REDIS_CLUSTER_NODES=${endpoints.redisClusterNodes}`,
  );
  return {
    ...endpoints,
    mode: 'native',
    processes,
    runDir,
    async stop() {
      await stopAll();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
