import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningCluster } from './cluster-stack.js';
import { brokerAnswers } from './kafka-native.js';
import { DevstackError, isAlive, sleep, spawnServer, waitUntil } from './process.js';
import { clusterHealthy } from './redis-cluster.js';
import type { ManagedProcess } from './stack.js';

/*
 * Fault injection on a native cluster stack (`startClusterStack`): find the node that matters (the leader of a
 * partition, the primary serving a key), SIGKILL it by pid, and start it again with the same command line, data
 * directory and ports. Only processes the stack started are touched. A restarted node replaces the killed one in
 * `cluster.processes`, so `cluster.stop()` stops it. (A stack recorded by `infra:up` is not rewritten: use these
 * on a stack your own process started.)
 */

const RECOVERY_TIMEOUT_MS = 120_000;
const address = (port: number) => `127.0.0.1:${port}`;

export function clusterProcess(cluster: RunningCluster, name: string): ManagedProcess {
  const found = cluster.processes.find((p) => p.name === name);
  if (!found)
    throw new DevstackError(
      'cluster faults',
      `no process named ${name} (have: ${cluster.processes.map((p) => p.name).join(', ')})`,
    );
  return found;
}

function processOnPort(cluster: RunningCluster, port: number): ManagedProcess {
  const found = cluster.processes.find((p) => p.ports[0] === port);
  if (!found) throw new DevstackError('cluster faults', `no process of this stack listens on ${port}`);
  return found;
}

const isKafka = (p: ManagedProcess) => p.name.startsWith('kafka-');
const isRedis = (p: ManagedProcess) => p.name.startsWith('redis-');
const liveRedis = (cluster: RunningCluster) => cluster.processes.filter((p) => isRedis(p) && isAlive(p.pid));

function kafkaAdmin(brokers: string) {
  return new Kafka({
    clientId: 'devstack-faults',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, maxRetryTime: 2_000 },
  }).admin();
}

/** The broker process leading `partition` of `topic`. */
export async function kafkaLeaderOf(
  cluster: RunningCluster,
  topic: string,
  partition: number,
): Promise<ManagedProcess> {
  const admin = kafkaAdmin(liveBrokers(cluster));
  await admin.connect();
  try {
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const leaderId = metadata?.partitions.find((p) => p.partitionId === partition)?.leader;
    const leader = (await admin.describeCluster()).brokers.find((b) => b.nodeId === leaderId);
    if (!leader) throw new DevstackError('cluster faults', `${topic}[${partition}] has no leader`);
    return processOnPort(cluster, leader.port);
  } finally {
    await admin.disconnect();
  }
}

/** The Kafka node id of a broker process (its `node.id`, the number in `kafka-<id>`), for replica assignments. */
export const kafkaNodeId = (broker: ManagedProcess): number => Number(broker.name.replace('kafka-', ''));

function liveBrokers(cluster: RunningCluster): string {
  return cluster.processes
    .filter((p) => isKafka(p) && isAlive(p.pid))
    .map((p) => address(p.ports[0]!))
    .join(',');
}

/** The Redis primary currently serving `key`'s hash slot. */
export async function redisPrimaryOf(cluster: RunningCluster, key: string): Promise<ManagedProcess> {
  const client = directClient(liveRedis(cluster)[0]!);
  try {
    const slot = Number(await client.cluster('KEYSLOT', key));
    const ranges = await client.cluster('SLOTS');
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new DevstackError('cluster faults', `slot ${slot} of ${key} is served by no node`);
    // Each range lists its primary first, then its replicas.
    return processOnPort(cluster, range[2]![1]);
  } finally {
    client.disconnect();
  }
}

function directClient(node: ManagedProcess): Redis {
  const client = new Redis(node.ports[0]!, '127.0.0.1', {
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    lazyConnect: false,
  });
  client.on('error', () => undefined);
  return client;
}

async function replicationInfo(node: ManagedProcess): Promise<Record<string, string>> {
  const client = directClient(node);
  try {
    return Object.fromEntries(
      (await client.info('replication'))
        .split(/\r?\n/)
        .filter((line) => line.includes(':'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
    );
  } finally {
    client.disconnect();
  }
}

/** How many bytes of writes a Redis node has seen: `master_repl_offset` (a replica's counts what it replicated). */
export async function replicationOffset(node: ManagedProcess): Promise<number> {
  return Number((await replicationInfo(node)).master_repl_offset);
}

/** The replica process streaming from this primary. */
export async function replicaOf(cluster: RunningCluster, primary: ManagedProcess): Promise<ManagedProcess> {
  const port = /port=(\d+)/.exec((await replicationInfo(primary)).slave0 ?? '')?.[1];
  if (!port) throw new DevstackError('cluster faults', `${primary.name} has no replica`);
  return processOnPort(cluster, Number(port));
}

/** A SIGKILLed node, and how to start it again. */
export interface KilledNode {
  readonly killed: ManagedProcess;
  /**
   * Starts it again (same command line, data, ports) and waits until the cluster is whole again; returns the new
   * process.
   */
  restart(): Promise<ManagedProcess>;
}

/** SIGKILLs a node of the stack and waits until it is gone. */
export async function killNode(cluster: RunningCluster, node: ManagedProcess): Promise<KilledNode> {
  const argv = node.argv;
  if (!argv)
    throw new DevstackError(
      'cluster faults',
      `${node.name} has no recorded command line, so it could not be restarted: kill only nodes this process started`,
    );
  process.kill(node.pid, 'SIGKILL');
  while (isAlive(node.pid)) await sleep(20);
  return { killed: node, restart: () => restartNode(cluster, node, argv) };
}

async function restartNode(
  cluster: RunningCluster,
  node: ManagedProcess,
  argv: readonly string[],
): Promise<ManagedProcess> {
  const child = spawnServer(argv[0]!, argv.slice(1), node.logFile);
  if (child.pid === undefined)
    throw new DevstackError(`restarting ${node.name}`, `${argv[0]} could not be spawned`, node.logFile);
  const restarted = { ...node, pid: child.pid };
  cluster.processes[cluster.processes.indexOf(node)] = restarted;
  await (isKafka(node) ? waitUntilKafkaWhole(cluster) : waitUntilRedisWhole(cluster));
  return restarted;
}

/** Every broker answers and every partition of every topic has its full replica set in sync again. */
export async function waitUntilKafkaWhole(cluster: RunningCluster): Promise<void> {
  const brokers = cluster.processes.filter(isKafka);
  const all = brokers.map((p) => address(p.ports[0]!)).join(',');
  await waitUntil('kafka cluster: waiting for every broker', () => brokerAnswers(all, brokers.length), {
    timeoutMs: RECOVERY_TIMEOUT_MS,
    watched: brokers,
  });
  await waitUntil('kafka cluster: waiting until every partition is fully in sync', () => allInSync(all), {
    timeoutMs: RECOVERY_TIMEOUT_MS,
    watched: brokers,
  });
}

async function allInSync(brokers: string): Promise<boolean> {
  const admin = kafkaAdmin(brokers);
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata();
    return topics.every((topic) => topic.partitions.every((p) => p.isr.length === p.replicas.length));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every slot served, every node known, every primary with an online replica (a restarted old primary rejoins as a
 * replica).
 */
export async function waitUntilRedisWhole(cluster: RunningCluster): Promise<void> {
  const nodes = cluster.processes.filter(isRedis);
  const servers = nodes.map((p) => ({ url: `redis://${address(p.ports[0]!)}` }));
  await waitUntil(
    'redis cluster: waiting until every node is back and every primary has an online replica',
    () => clusterHealthy(servers),
    { timeoutMs: RECOVERY_TIMEOUT_MS, watched: nodes },
  );
}

/**
 * Waits until the live Redis nodes serve every slot again (after a primary's death: its replica was promoted):
 * every node says `cluster_state:ok` and names only live primaries for the slots. (Right after a kill the nodes
 * still report ok for up to the node timeout: they have not noticed yet.)
 */
export async function waitUntilRedisServes(cluster: RunningCluster): Promise<void> {
  const nodes = liveRedis(cluster);
  const livePorts = new Set(nodes.map((node) => node.ports[0]));
  const served = async (node: ManagedProcess) => {
    const client = directClient(node);
    try {
      const [info, ranges] = await Promise.all([client.cluster('INFO'), client.cluster('SLOTS')]);
      return String(info).includes('cluster_state:ok') && ranges.every((range) => livePorts.has(range[2]?.[1]));
    } finally {
      client.disconnect();
    }
  };
  const ok = async () => (await Promise.all(nodes.map(served))).every(Boolean);
  await waitUntil('redis cluster: waiting for the failover (every slot served by a live primary)', ok, {
    timeoutMs: RECOVERY_TIMEOUT_MS,
    watched: nodes,
  });
}

/** A primary whose writes reach no replica any more (see `detachReplica`). */
export interface DetachedPrimary {
  readonly primary: ManagedProcess;
  readonly replica: ManagedProcess;
  /** The primary's replication offset when the link was cut: its replica holds exactly the writes before it. */
  readonly offsetAtDetach: number;
  /**
   * SIGKILLs the primary, lets the replica run again and waits until it is promoted and every slot is served.
   * `primaryOffset` is what the primary had written at its death, `promotedOffset` what the promoted replica held.
   */
  killPrimaryAndPromote(): Promise<{ killed: KilledNode; primaryOffset: number; promotedOffset: number }>;
}

/**
 * Makes Redis' asynchronous replication lose writes on purpose: the replica is SIGSTOPped (it cannot reconnect)
 * and the primary drops its replication link (`CLIENT KILL TYPE replica`), so every later write is acknowledged by
 * the primary alone. Killing the primary then promotes a replica that holds a strict prefix of its writes, which
 * is what an ordinary failover does to the writes of its last few milliseconds, made deterministic for a test.
 */
export async function detachReplica(cluster: RunningCluster, primary: ManagedProcess): Promise<DetachedPrimary> {
  const replica = await replicaOf(cluster, primary);
  process.kill(replica.pid, 'SIGSTOP');
  const client = directClient(primary);
  try {
    await client.client('KILL', 'TYPE', 'replica');
  } finally {
    client.disconnect();
  }
  const offsetAtDetach = await replicationOffset(primary);
  return {
    primary,
    replica,
    offsetAtDetach,
    async killPrimaryAndPromote() {
      const primaryOffset = await replicationOffset(primary);
      const killed = await killNode(cluster, primary);
      process.kill(replica.pid, 'SIGCONT');
      const promoted = async () => (await replicationInfo(replica)).role === 'master';
      await waitUntil(`redis cluster: waiting until ${replica.name} is promoted`, promoted, {
        timeoutMs: RECOVERY_TIMEOUT_MS,
        watched: [replica],
      });
      await waitUntilRedisServes(cluster);
      // A promoted replica's second_repl_offset is its replication offset at promotion + 1: the prefix it holds.
      return { killed, primaryOffset, promotedOffset: Number((await replicationInfo(replica)).second_repl_offset) - 1 };
    },
  };
}
