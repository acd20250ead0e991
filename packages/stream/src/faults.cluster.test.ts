import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { ensureTopics } from '@rtml/kafka';
import type { Cluster } from 'ioredis';
import {
  detachReplica,
  kafkaLeaderOf,
  kafkaNodeId,
  killNode,
  redisPrimaryOf,
  replicationOffset,
  startClusterStack,
  type KilledNode,
  type RunningCluster,
} from '@rtml/devstack';
import { createOnlineEngine, duration, type FeatureValues } from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import { connectCluster, OnlineStore } from '@rtml/online-store';
import { Random } from '@rtml/synthetic';
import { waitUntilCaughtUp } from './caught-up.js';
import { featureSetProcessor } from './feature-set.js';
import { checkpointKeys } from './keys.js';
import { spawnCli, type CliProcess } from './testing/cli-process.js';
import { onlineValues, produce, recompute, uniqueName, waitUntilSplit, type KeyedEvent } from './testing/harness.js';

/*
 * Issue #20's fault tests on the cluster topology: the stream CLI (real child processes, the real `user_txn` feature
 * set) on 3 Kafka brokers (RF 3, min ISR 2) and a Redis Cluster (3 primaries + 3 replicas) while events flow:
 *   a. the broker leading every input partition is SIGKILLed (and restarted later);
 *   b. a Redis primary holding checkpoint and feature keys is SIGKILLed after its replica stopped receiving its
 *      writes, so the promoted replica holds a strict prefix of what the processor wrote (asynchronous replication);
 *   c. one instance scales to three while events flow, one of the three is SIGKILLed and later started again.
 * After catching up, every entity's vector equals a clean recomputation by the same feature set's engine (each
 * entity's events applied once, in event-time order, read as of its partition's final stream time): a lost event or
 * one counted twice changes the lifetime mean, the 24 h sum and the last merchants.
 *
 * Its own cluster (not the run's shared one): these tests kill and restart nodes. Size: RTML_CLUSTER_FAULTS=full
 * for the README's run (npx vitest run with RTML_TOPOLOGY=cluster, see the stream README); the default is .ci/run's.
 */
const FULL = process.env.RTML_CLUSTER_FAULTS === 'full';
const SIZE = FULL ? { events: 32_000, users: 2_000, chunk: 120 } : { events: 4_000, users: 200, chunk: 30 };
/** Pause between produced chunks: the stream lasts ~30 s or more (reduced) so each fault hits it mid-flow. */
const CHUNK_PAUSE_MS = 200;
const PARTITIONS = 3;
const ALLOWED_LATENESS_MS = 60_000;
/** Retries outlasting a dead broker's session timeout (9 s) and a leader election, as the devstack's cluster test. */
const retry = { retries: 15, initialRetryTime: 300, multiplier: 2, maxRetryTime: 5_000 };

let cluster: RunningCluster;
let admin: Admin;
let producer: Producer;
let redis: Cluster;
const clis = new Set<CliProcess>();
const engine = createOnlineEngine(userTransactionFeatures);
const processor = featureSetProcessor(userTransactionFeatures);

beforeAll(async () => {
  cluster = await startClusterStack({ ignoreEnvironment: true });
  const kafka = new Kafka({
    clientId: 'stream-cluster-faults',
    brokers: cluster.kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
    retry,
  });
  admin = kafka.admin();
  // Idempotent: a send retried across a leader change is appended once (the expectation counts each event once).
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry });
  await Promise.all([admin.connect(), producer.connect()]);
  redis = connectCluster(cluster.redisClusterNodes);
});

/** Nodes a test killed: started again after it, pass or fail, so the next test has the whole cluster. */
const killed: KilledNode[] = [];

afterEach(async () => {
  for (const cli of clis) cli.child.kill('SIGKILL');
  for (const node of killed.splice(0)) await node.restart();
});

afterAll(async () => {
  for (const cli of clis) cli.child.kill('SIGKILL');
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  redis?.disconnect();
  await cluster?.stop();
});

interface Pipeline {
  readonly topic: string;
  readonly group: string;
  readonly store: OnlineStore;
  readonly events: readonly KeyedEvent[];
}

/** A fresh topic whose three partitions are all led by `leader` (a Kafka node id), a group and a namespace. */
async function freshPipeline(prefix: string, seed: number, leader: number): Promise<Pipeline> {
  const topic = uniqueName(`${prefix}-transactions`);
  const others = [1, 2, 3].filter((id) => id !== leader);
  const replicaAssignment = Array.from({ length: PARTITIONS }, (_, partition) => ({
    partition,
    replicas: [leader, ...others],
  }));
  await ensureTopics(admin, [{ topic, replicaAssignment }]);
  const namespace = uniqueName(prefix);
  const store = new OnlineStore(redis, { namespace, featureSets: [userTransactionFeatures] });
  return { topic, group: uniqueName(`${prefix}-group`), store, events: transactions(seed) };
}

/**
 * Card transactions in arrival order, up to 30 s out of event-time order (inside the allowed lateness); whole amounts,
 * so sums are exact in any order.
 */
function transactions(seed: number): KeyedEvent[] {
  const random = new Random(seed);
  const start = Date.now() - duration.days(3);
  return Array.from({ length: SIZE.events }, (_, i) => {
    const userId = `user${Math.floor(random.next() * SIZE.users)}`;
    const eventTime = Math.round(start + i * 20_000 - random.next() * 30_000);
    const body = {
      eventId: `tx-${seed}-${i}`,
      eventTime,
      userId,
      amount: Math.floor(random.next() * 50_000),
      merchantId: `m${Math.floor(random.next() * 40)}`,
    };
    return { key: userId, body };
  });
}

function startCli(pipeline: Pipeline): CliProcess {
  const args = [
    'run',
    '--feature-set',
    FEATURE_SET,
    '--topic',
    pipeline.topic,
    '--group',
    pipeline.group,
    '--namespace',
    pipeline.store.namespace,
  ];
  const cli = spawnCli([...args, '--allowed-lateness-ms', String(ALLOWED_LATENESS_MS), '--progress-ms', '1000'], {
    brokers: cluster.kafkaBrokers,
    redisClusterNodes: cluster.redisClusterNodes,
  });
  cli.child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[cli ${cli.child.pid}] ${chunk.toString()}`));
  clis.add(cli);
  void cli.exited.then(() => clis.delete(cli));
  return cli;
}

const FEATURE_SET = `${new URL('../../features/src/example.ts', import.meta.url).pathname}#userTransactionFeatures`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Produces the pipeline's events in paced chunks; `produced()` says how far it got. */
function flow(pipeline: Pipeline): { done: Promise<void>; produced(): number } {
  let produced = 0;
  const done = (async () => {
    for (; produced < pipeline.events.length; produced += SIZE.chunk) {
      await produce(
        producer,
        pipeline.topic,
        PARTITIONS,
        pipeline.events.slice(produced, produced + SIZE.chunk),
        SIZE.chunk,
      );
      await sleep(CHUNK_PAUSE_MS);
    }
  })();
  return { done, produced: () => Math.min(produced, pipeline.events.length) };
}

/**
 * The offset checkpointed in Redis for each partition of the pipeline's topic (0 before the first). Polled through
 * failovers: a read that fails meanwhile (the client's slot map still names the dead primary: MOVED, refused
 * connections) counts as no progress yet, and the next poll asks again.
 */
async function checkpoints(pipeline: Pipeline): Promise<number[]> {
  const keys = Array.from(
    { length: PARTITIONS },
    (_, p) => checkpointKeys(pipeline.store.namespace, pipeline.group, p).fence,
  );
  const fences = await pipeline.store.readFences(keys).catch(() => keys.map(() => null));
  return fences.map((fence) =>
    Number(fence ? ((JSON.parse(fence) as Record<string, string>)[pipeline.topic] ?? 0) : 0),
  );
}

const checkpointed = async (pipeline: Pipeline) => (await checkpoints(pipeline)).reduce((a, b) => a + b, 0);

/** Each partition's end offset now (just before a fault: a dead leader answers nothing). */
async function endOffsets(pipeline: Pipeline): Promise<number[]> {
  const offsets = await admin.fetchTopicOffsets(pipeline.topic);
  return Array.from({ length: PARTITIONS }, (_, p) => Number(offsets.find((o) => o.partition === p)?.high ?? 0));
}

/**
 * Time from a fault until EVERY partition has checkpointed past the end it had just before the fault, i.e. processed
 * an event sent after it (the README quotes these lines; events in flight at the fault do not count as recovery).
 */
async function logRecovery(
  pipeline: Pipeline,
  fault: string,
  faultAt: number,
  endsBefore: readonly number[],
): Promise<void> {
  for (
    const deadline = faultAt + 120_000;
    (await checkpoints(pipeline)).some((offset, p) => offset <= endsBefore[p]!);
    await sleep(100)
  ) {
    if (Date.now() > deadline)
      throw new Error(`${fault}: not every partition checkpointed past its pre-fault end within 120 s`);
  }
  console.log(
    `[cluster faults] ${fault}: every partition past its pre-fault end ` +
      `${((Date.now() - faultAt) / 1000).toFixed(1)} s later`,
  );
}

/** Waits until the checkpoints have moved past `above` (the processors are committing). */
async function waitForProgress(pipeline: Pipeline, above: number, timeoutMs = 90_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; (await checkpointed(pipeline)) <= above; await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`no checkpoint past ${above} within ${timeoutMs} ms`);
  }
}

async function catchUp(pipeline: Pipeline): Promise<void> {
  await waitUntilCaughtUp(pipeline.store, admin, [{ group: pipeline.group, topic: pipeline.topic }], {
    timeoutMs: 180_000,
  });
}

/** Every entity's vector in the Redis Cluster equals the clean recomputation of every event produced. */
async function expectCleanResult(pipeline: Pipeline): Promise<void> {
  const parsed = pipeline.events.map(({ body }) => {
    const result = engine.parse(body);
    if (!result.ok) throw new Error(`generated an invalid event: ${result.reason}`);
    return result.event;
  });
  const expected: Map<string, FeatureValues | undefined> = recompute(processor, parsed, PARTITIONS);
  expect(expected.size).toBeGreaterThan(SIZE.users / 2);
  expect(await onlineValues(pipeline.store, processor.name, [...expected.keys()])).toEqual(expected);
}

async function stopAll(...instances: CliProcess[]): Promise<void> {
  for (const cli of instances) cli.child.kill('SIGTERM');
  expect(await Promise.all(instances.map((cli) => cli.exited))).toEqual(instances.map(() => 0));
}

/** A fresh pipeline with one instance, events flowing and the first checkpoint written. */
async function flowing(
  prefix: string,
  seed: number,
  leader: number,
): Promise<{ pipeline: Pipeline; cli: CliProcess; events: ReturnType<typeof flow> }> {
  const pipeline = await freshPipeline(prefix, seed, leader);
  const cli = startCli(pipeline);
  const events = flow(pipeline);
  await waitForProgress(pipeline, 0);
  return { pipeline, cli, events };
}

/** After a node's death: the rest of the events flow, the instance that lived through it catches up exactly. */
async function expectSurvived(pipeline: Pipeline, events: { done: Promise<void> }, cli: CliProcess): Promise<void> {
  await events.done;
  await catchUp(pipeline);
  expect(cli.child.exitCode).toBeNull(); // the same instance carried on: nobody restarted it
  await expectCleanResult(pipeline);
  await stopAll(cli);
}

it(
  'a. the broker leading every input partition is SIGKILLed mid-stream: processing goes on after the ' +
    'election, exactly',
  async () => {
    const { pipeline, cli, events } = await flowing('fault-broker', 101, 1);
    const leader = await kafkaLeaderOf(cluster, pipeline.topic, 0);
    expect(kafkaNodeId(leader)).toBe(1);
    const before = await endOffsets(pipeline);
    killed.push(await killNode(cluster, leader));
    const killedAt = Date.now();
    expect(events.produced()).toBeLessThan(pipeline.events.length); // killed mid-stream
    await logRecovery(pipeline, 'a. partition leader SIGKILLed', killedAt, before);

    expect((await kafkaLeaderOf(cluster, pipeline.topic, 0)).name).not.toBe(leader.name);
    await expectSurvived(pipeline, events, cli);
  },
);

it(
  'b. a Redis primary with checkpoint and feature keys dies holding writes its replica never got: the ' +
    'promoted prefix is made whole',
  async () => {
    const { pipeline, cli, events } = await flowing('fault-redis', 202, 2);
    // The primary of partition 0's checkpoint; with 200+ users every primary also holds feature vectors.
    const primary = await redisPrimaryOf(cluster, checkpointKeys(pipeline.store.namespace, pipeline.group, 0).fence);
    const detached = await detachReplica(cluster, primary);
    // Writes reach the primary alone for a while: vectors, and checkpoints that could not wait for a replica.
    for (
      const deadline = Date.now() + 20_000;
      (await replicationOffset(primary)) <= detached.offsetAtDetach;
      await sleep(100)
    ) {
      if (Date.now() > deadline)
        throw new Error(`${primary.name} got no write within 20 s of its replica's detachment`);
    }
    await sleep(1_000);
    const killedAt = Date.now();
    const before = await endOffsets(pipeline);
    const { killed: primaryKilled, primaryOffset, promotedOffset } = await detached.killPrimaryAndPromote();
    killed.push(primaryKilled);
    await logRecovery(
      pipeline,
      `b. Redis primary SIGKILLed, promoted replica ${primaryOffset - promotedOffset} bytes behind it`,
      killedAt,
      before,
    );
    // The promoted replica holds a strict prefix of the dead primary's writes: what the processor wrote last is gone.
    expect(promotedOffset).toBeLessThan(primaryOffset);
    expect(events.produced()).toBeLessThan(pipeline.events.length); // the failover happened mid-stream

    await expectSurvived(pipeline, events, cli);
  },
);

it(
  'c. one instance scales to three while events flow; one of three is SIGKILLed and started again: ' + 'exact',
  async () => {
    const { pipeline, cli: first, events } = await flowing('fault-scale', 303, 3);
    const second = startCli(pipeline);
    const third = startCli(pipeline);
    await waitUntilSplit(admin, pipeline.group, pipeline.topic, 3);
    expect(events.produced()).toBeLessThan(pipeline.events.length); // scaled to three while events flowed
    await waitForProgress(pipeline, await checkpointed(pipeline));
    expect(events.produced()).toBeLessThan(pipeline.events.length); // killed while events flowed
    const before = await endOffsets(pipeline);
    second.child.kill('SIGKILL');
    const killedAt = Date.now();
    await second.exited;
    await logRecovery(pipeline, 'c. one of three instances SIGKILLed', killedAt, before);
    const restarted = startCli(pipeline);
    await waitUntilSplit(admin, pipeline.group, pipeline.topic, 3);

    await events.done;
    await catchUp(pipeline);
    await expectCleanResult(pipeline);
    await stopAll(first, third, restarted);
  },
);
