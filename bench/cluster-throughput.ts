/**
 * Stream throughput on the cluster topology with 1, 2 and 3 processor instances next to 1 instance on the single-node
 * stack, in one run (issue #20):
 *
 *   npx tsx --conditions=source bench/cluster-throughput.ts [--full] [--events N] [--instances 1,2,3]
 *
 * Each instance is the stream CLI in its own Node process (the real `user_txn` feature set, default settings), so
 * instances can use different cores. Per configuration: a fresh 3-partition topic, the instances join its group and
 * split the partitions while it is empty, then the events are produced as fast as kafkajs sends them and the clock
 * runs from the first send until every partition's checkpoint in Redis has reached the topic's end. The producer
 * (this process) shares the machine with the instances, the same in every configuration.
 *
 * Servers: the cluster from KAFKA_BROKERS + REDIS_CLUSTER_NODES when both are set (`npm run infra:up -- --topology
 * cluster`), else started here; the single-node stack from KAFKA_BROKERS + REDIS_URL when those are set instead,
 * else started here. What is started here is stopped at the end.
 */
import { Kafka, logLevel } from 'kafkajs';
import { connectCluster, deleteNamespace, OnlineStore, type RedisClient } from '@rtml/online-store';
import { Redis } from 'ioredis';
import { userTransactionFeatures } from '@rtml/features/testing';
import { startClusterStack, startStack, type RunningCluster, type RunningStack } from '@rtml/devstack';
import { checkpointKeys, waitUntilCaughtUp } from '@rtml/stream';
// The stream package's test harness (the CLI as a child process, the group-split wait) is not public API.
import { spawnCli, type CliEndpoints, type CliProcess } from '../packages/stream/src/testing/cli-process.js';
import { createTopic, produce, uniqueName, waitUntilSplit } from '../packages/stream/src/testing/harness.js';
import { benchCommand, emit, machineNote, parseCommand } from './lib/index.js';

const command = benchCommand(
  'cluster-throughput',
  'Stream CLI events/s with 1, 2, 3 instances on 3 Kafka brokers + a Redis Cluster vs 1 instance on one ' +
    'broker + one Redis',
  '  KAFKA_BROKERS + REDIS_CLUSTER_NODES  the cluster (else started here)\n  KAFKA_BROKERS + REDIS_URL       ' +
    '     the single-node stack (else started here)',
)
  .option('--events <n>', 'events per configuration (default 30000, 200000 with --full)')
  .option('--instances <list>', 'instance counts on the cluster, comma-separated', '1,2,3');
const args = parseCommand(command);
const EVENTS = args.size('events', 30_000, 200_000);
const INSTANCES = (args.string('instances') ?? '1,2,3').split(',').map(Number);
if (INSTANCES.some((n) => !Number.isInteger(n) || n < 1 || n > 3))
  command.error('--instances takes counts from 1 to 3 (3 partitions), comma-separated');
const PARTITIONS = 3;
const USERS = 10_000;
const FEATURE_SET =
  new URL('../packages/features/src/example.ts', import.meta.url).pathname + '#userTransactionFeatures';

interface Target {
  readonly label: string;
  readonly endpoints: CliEndpoints;
  readonly redis: RedisClient;
}

/** The two stacks: the environment's where given, the rest started here. */
async function stacks(): Promise<{ single: Target; cluster: Target; stop: () => Promise<void> }> {
  const env = process.env;
  const started: (RunningStack | RunningCluster)[] = [];
  const start = async <S extends RunningStack | RunningCluster>(stack: Promise<S>) => {
    started.push(await stack);
    return started.at(-1) as S;
  };
  const clusterGiven = Boolean(env.KAFKA_BROKERS && env.REDIS_CLUSTER_NODES);
  const singleGiven = Boolean(env.KAFKA_BROKERS && env.REDIS_URL && !env.REDIS_CLUSTER_NODES);
  const cluster = clusterGiven
    ? { kafkaBrokers: env.KAFKA_BROKERS!, redisClusterNodes: env.REDIS_CLUSTER_NODES! }
    : await start(startClusterStack({ ignoreEnvironment: true }));
  const single = singleGiven
    ? { kafkaBrokers: env.KAFKA_BROKERS!, redisUrl: env.REDIS_URL! }
    : await start(startStack({ ignoreEnvironment: true, forceNative: true }));
  return {
    single: {
      label: 'single node (1 broker, 1 Redis)',
      endpoints: { brokers: single.kafkaBrokers, redisUrl: single.redisUrl },
      redis: new Redis(single.redisUrl),
    },
    cluster: {
      label: 'cluster (3 brokers, Redis Cluster 3+3)',
      endpoints: { brokers: cluster.kafkaBrokers, redisClusterNodes: cluster.redisClusterNodes },
      redis: connectCluster(cluster.redisClusterNodes),
    },
    stop: async () => {
      for (const stack of started) await stack.stop();
    },
  };
}

function transactions(run: string): { key: string; body: unknown }[] {
  const start = Date.now() - EVENTS; // one event per ms of event time, ending now
  return Array.from({ length: EVENTS }, (_, i) => {
    const userId = `user${(i * 7919) % USERS}`;
    return {
      key: userId,
      body: { eventId: `${run}-${i}`, eventTime: start + i, userId, amount: (i * 37) % 500, merchantId: `m${i % 97}` },
    };
  });
}

/**
 * Bytes per entity in Redis (`MEMORY USAGE … SAMPLES 0`, exact): its feature hash, and its share of the state hashes.
 */
interface EntityBytes {
  readonly vector: number;
  readonly state: number;
}

async function bytesPerEntity(redis: RedisClient, store: OnlineStore, group: string): Promise<EntityBytes> {
  const usage = async (key: string) => Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
  const sample = Array.from({ length: 200 }, (_, i) => `user${i * (USERS / 200)}`);
  const vectors = await Promise.all(sample.map((id) => usage(store.keyOf(userTransactionFeatures.name, id))));
  const states = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, p) => usage(checkpointKeys(store.namespace, group, p).states)),
  );
  return {
    vector: vectors.reduce((a, b) => a + b, 0) / sample.length,
    state: states.reduce((a, b) => a + b, 0) / Math.min(USERS, EVENTS),
  };
}

interface Measured {
  readonly rate: number;
  readonly bytes: EntityBytes;
}

/** events/s of `instances` CLIs draining EVENTS freshly produced events, and what an entity then occupies in Redis. */
async function measure(target: Target, instances: number): Promise<Measured> {
  const kafka = new Kafka({
    clientId: 'bench-cluster-throughput',
    brokers: target.endpoints.brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([admin.connect(), producer.connect()]);
  const run = uniqueName('bench-ct');
  const namespace = run;
  const store = new OnlineStore(target.redis, { namespace, featureSets: [userTransactionFeatures] });
  await createTopic(admin, run, PARTITIONS);
  const clis: CliProcess[] = Array.from({ length: instances }, () =>
    spawnCli(
      [
        'run',
        '--feature-set',
        FEATURE_SET,
        '--topic',
        run,
        '--group',
        run,
        '--namespace',
        namespace,
        '--progress-ms',
        '0',
      ],
      target.endpoints,
    ),
  );
  try {
    await Promise.all(clis.map((cli) => cli.running));
    await waitUntilSplit(admin, run, run, instances, 120_000);
    const events = transactions(run);
    const started = performance.now();
    await produce(producer, run, PARTITIONS, events, 5_000);
    await waitUntilCaughtUp(store, admin, [{ group: run, topic: run }], { timeoutMs: 600_000 });
    const rate = EVENTS / ((performance.now() - started) / 1000);
    return { rate, bytes: await bytesPerEntity(target.redis, store, run) };
  } finally {
    for (const cli of clis) cli.child.kill('SIGTERM');
    await Promise.all(clis.map((cli) => cli.exited));
    await deleteNamespace(target.redis, namespace);
    await admin.deleteTopics({ topics: [run] }).catch(() => undefined);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  }
}

async function main(): Promise<void> {
  const { single, cluster, stop } = await stacks();
  try {
    console.log(
      `cluster-throughput: ${EVENTS} user_txn events over ${PARTITIONS} partitions, ${USERS} users; ${machineNote()}`,
    );
    const { rate: singleRate, bytes } = await measure(single, 1);
    console.log(`  ${single.label}, 1 instance: ${singleRate.toFixed(0)} events/s (${machineNote()})`);
    console.log(
      `  Redis per entity: feature hash ${bytes.vector.toFixed(0)} B + state ${bytes.state.toFixed(0)} B ` +
        `(MEMORY USAGE)`,
    );
    for (const instances of INSTANCES) {
      const { rate, bytes: clusterBytes } = await measure(cluster, instances);
      console.log(`  ${cluster.label}, ${instances} instance(s): ${rate.toFixed(0)} events/s (${machineNote()})`);
      console.log(
        `  Redis Cluster per entity: feature hash ${clusterBytes.vector.toFixed(0)} B + state ` +
          `${clusterBytes.state.toFixed(0)} B`,
      );
      if (instances === INSTANCES[0]) {
        emit({
          row:
            `cluster: Redis bytes per entity (feature hash + state, ${(EVENTS / USERS).toFixed(0)} events ` +
            `each), Redis Cluster vs one Redis`,
          ours: Math.round(clusterBytes.vector + clusterBytes.state),
          reference: Math.round(bytes.vector + bytes.state),
          unit: 'B',
          better: 'lower',
          target: null,
        });
      }
      emit({
        row:
          `cluster: stream events/s, ${instances} instance(s) on the cluster vs 1 on the single node ` +
          `(${EVENTS} events)`,
        ours: Math.round(rate),
        reference: Math.round(singleRate),
        unit: 'events/s',
        better: 'higher',
        target: null,
        note: machineNote(),
      });
    }
  } finally {
    single.redis.disconnect();
    cluster.redis.disconnect();
    await stop();
  }
}

await main();
