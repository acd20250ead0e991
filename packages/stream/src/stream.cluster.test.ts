import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { duration } from '@rtml/features';
import { connectCluster, deleteNamespace, OnlineStore } from '@rtml/online-store';
import { waitUntilCaughtUp } from './caught-up.js';
import { checkpointKeys } from './keys.js';
import { StreamProcessor } from './stream-processor.js';
import { paymentsCounts, type Payment } from './testing/counting-processor.js';
import { countingRunArgs, spawnCli } from './testing/cli-process.js';
import {
  createTopic,
  onlineValues,
  paymentStream,
  produce,
  recompute,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';

/**
 * Runs with RTML_TOPOLOGY=cluster: 3 KRaft brokers (replication factor 3) and a Redis Cluster of 3 primaries + 3
 * replicas.
 */
const brokers = inject('kafkaBrokers').split(',');
const cluster = connectCluster(inject('redisClusterNodes'));
const retry = { retries: 15, initialRetryTime: 300, multiplier: 2, maxRetryTime: 5_000 };
const kafka = new Kafka({ clientId: 'stream-cluster-test', brokers, logLevel: logLevel.NOTHING, retry });
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const namespaces: string[] = [];

beforeAll(async () => {
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  for (const namespace of namespaces) await deleteNamespace(cluster, namespace);
  await Promise.all([admin.disconnect(), producer.disconnect()]);
  cluster.disconnect();
});

const PARTITIONS = 3;

function storeOf(namespace: string): OnlineStore {
  return new OnlineStore(cluster, {
    namespace,
    featureSets: [{ name: paymentsCounts.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
}

function processor(namespace: string, topic: string, group: string): StreamProcessor<unknown, unknown> {
  const topology = { processor: paymentsCounts, topics: [topic], allowedLateness: duration.seconds(30) };
  // Checkpoints every 5 batches: between them, vectors on all three primaries run ahead of the checkpoint.
  return new StreamProcessor({
    topology,
    kafka: { brokers },
    store: storeOf(namespace),
    group,
    checkpoint: { maxBatches: 5 },
    consumer: { ...TEST_CONSUMER_TUNING, maxBytesPerPartition: 2048 },
    progressIntervalMs: 0,
  });
}

/** A fresh topic (created), group and namespace (deleted after the file). */
async function freshPipeline(prefix: string): Promise<{ topic: string; group: string; namespace: string }> {
  const names = {
    topic: uniqueName(`${prefix}-payments`),
    group: uniqueName(`${prefix}-group`),
    namespace: uniqueName(prefix),
  };
  namespaces.push(names.namespace);
  await createTopic(admin, names.topic, PARTITIONS);
  return names;
}

/** Every vector in the cluster equals the clean recomputation of `events`. */
async function expectCleanResult(namespace: string, events: readonly { body: unknown }[]): Promise<void> {
  const expected = recompute(
    paymentsCounts,
    events.map((e) => e.body as Payment),
    PARTITIONS,
  );
  expect(await onlineValues(storeOf(namespace), paymentsCounts.name, [...expected.keys()])).toEqual(expected);
}

it('streams into the Redis Cluster exactly once, through a stop and a restart mid-stream', async () => {
  const { topic, group, namespace } = await freshPipeline('cluster-stream');
  const events = paymentStream({
    count: 4000,
    users: 120,
    start: 1_700_000_000_000,
    stepMs: 500,
    jitterMs: 10_000,
    seed: 20,
  });
  await produce(producer, topic, PARTITIONS, events.slice(0, 2000), 50);

  const first = processor(namespace, topic, group);
  await first.start();
  await waitUntilCaughtUp(storeOf(namespace), admin, [{ group, topic }], { timeoutMs: 120_000 });
  await first.stop();

  await produce(producer, topic, PARTITIONS, events.slice(2000), 50);
  const second = processor(namespace, topic, group);
  await second.start();
  try {
    await waitUntilCaughtUp(storeOf(namespace), admin, [{ group, topic }], { timeoutMs: 120_000 });
  } finally {
    await second.stop();
  }

  await expectCleanResult(namespace, events);
  // The vectors spread over every primary; each partition's checkpoint keys share one slot.
  const store = storeOf(namespace);
  const primaries = new Set(
    [...new Set(events.map((e) => e.key))].map(
      (id) => cluster.slots[calculateSlot(store.keyOf(paymentsCounts.name, id))]![0],
    ),
  );
  expect(primaries.size).toBe(3);
  for (let p = 0; p < PARTITIONS; p++) {
    const keys = checkpointKeys(namespace, group, p);
    expect(new Set([keys.fence, keys.meta, keys.timers, keys.states].map((key) => calculateSlot(key))).size).toBe(1);
  }
});

it(
  'the CLI on the cluster (REDIS_CLUSTER_NODES), SIGKILLed mid-stream and restarted, ends at the clean ' + 'result',
  async () => {
    const { topic, group, namespace } = await freshPipeline('cluster-cli');
    const events = paymentStream({
      count: 3000,
      users: 90,
      start: 1_700_000_000_000,
      stepMs: 500,
      jitterMs: 10_000,
      seed: 21,
    });
    const args = [...countingRunArgs({ topic, group, namespace }), '--max-bytes-per-partition', '2048'];
    const endpoints = { brokers: brokers.join(','), redisClusterNodes: inject('redisClusterNodes') };
    await produce(producer, topic, PARTITIONS, events.slice(0, 1500), 50);
    const first = spawnCli(args, endpoints);
    await first.running;
    // Killed once it has checkpointed something (so the restart resumes mid-stream, not from offset 0).
    const fences = () =>
      storeOf(namespace).readFences(
        Array.from({ length: PARTITIONS }, (_, p) => checkpointKeys(namespace, group, p).fence),
      );
    await expect
      .poll(async () => (await fences()).some((fence) => fence !== null), { timeout: 60_000, interval: 100 })
      .toBe(true);
    first.child.kill('SIGKILL');
    await first.exited;
    await produce(producer, topic, PARTITIONS, events.slice(1500), 50);
    const second = spawnCli(args, endpoints);
    await second.running;
    await waitUntilCaughtUp(storeOf(namespace), admin, [{ group, topic }], { timeoutMs: 120_000 });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await expectCleanResult(namespace, events);
  },
);
