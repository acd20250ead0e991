import { randomUUID } from 'node:crypto';
import { ensureTopics } from '@rtml/kafka';
import { Random } from '@rtml/synthetic';
import { Redis } from 'ioredis';
import { AssignerProtocol, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import type { EventTime, FeatureValues } from '@rtml/features';
import type { OnlineStore } from '@rtml/online-store';
import type { KeyedProcessor } from '../processor.js';
import { StreamProcessor, type ConsumerTuning, type StreamProcessorOptions } from '../stream-processor.js';
import { waitUntilCaughtUp } from '../caught-up.js';
import { DEAD_LETTER_HEADERS } from '../dead-letter.js';

/** Short timings so a killed or departing member costs seconds (the broker's minimum session is 6 s). */
export const TEST_CONSUMER_TUNING: ConsumerTuning = {
  sessionTimeout: 6_000,
  heartbeatInterval: 500,
  rebalanceTimeout: 6_000,
  maxWaitTimeInMs: 100,
};

export interface TestClients {
  readonly brokers: string[];
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly producer: Producer;
  readonly redis: Redis;
  /** For `beforeAll`: connects the admin and the producer (Redis connects by itself). */
  readonly connect: () => Promise<void>;
  /** For `afterAll`. */
  readonly close: () => Promise<void>;
}

/** The Kafka and Redis clients a test file shares across its tests, created now and connected in `connect()`. */
export function testClients(clientId: string, endpoints: { brokers: string; redisUrl: string }): TestClients {
  const brokers = endpoints.brokers.split(',');
  const kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  // Idempotent: a retried send is never appended twice. A duplicate record batch would be double counted, or
  // dead-lettered as `late` when it lands after later sends, and either way break the tests' exact expectations.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const redis = new Redis(endpoints.redisUrl);
  return {
    brokers,
    kafka,
    admin,
    producer,
    redis,
    connect: async () => {
      await Promise.all([admin.connect(), producer.connect()]);
    },
    close: async () => {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
      redis.disconnect();
    },
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Deterministic key -> partition, so tests know each entity's partition (the runtime does not care how). */
export function partitionOf(key: string, partitions: number): number {
  let hash = 2166136261;
  for (const char of key) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return (hash >>> 0) % partitions;
}

export async function createTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  config: Readonly<Record<string, string>> = {},
): Promise<void> {
  const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
  await ensureTopics(admin, [{ topic, numPartitions: partitions, configEntries }]);
}

export interface KeyedEvent {
  readonly key: string;
  readonly body: unknown;
}

/**
 * Sends JSON bodies (or raw strings as-is) keyed and partitioned by `key`, `perSend` per request. A fetch
 * returns whole record batches, so small sends (with a small `maxBytesPerPartition`) make small processor batches.
 */
export async function produce(
  producer: Producer,
  topic: string,
  partitions: number,
  events: readonly KeyedEvent[],
  perSend = 1000,
): Promise<void> {
  const messages = events.map(({ key, body }) => ({
    key,
    partition: partitionOf(key, partitions),
    value: typeof body === 'string' ? body : JSON.stringify(body),
  }));
  for (let i = 0; i < messages.length; i += perSend)
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + perSend) });
}

/**
 * Clean recomputation: each entity's events applied in event-time order to a fresh state, read as of its
 * partition's final stream time (what the runtime's timers must have brought Redis to).
 */
export function recompute<S, E>(
  processor: KeyedProcessor<S, E>,
  events: readonly E[],
  partitions: number,
): Map<string, FeatureValues> {
  const streamTime = new Map<number, number>();
  const byEntity = new Map<string, E[]>();
  for (const event of events) {
    const id = processor.entityIdOf(event);
    const p = partitionOf(id, partitions);
    streamTime.set(p, Math.max(streamTime.get(p) ?? -Infinity, processor.eventTimeOf(event)));
    byEntity.set(id, [...(byEntity.get(id) ?? []), event]);
  }
  const expected = new Map<string, FeatureValues>();
  for (const [id, entityEvents] of byEntity) {
    const sorted = [...entityEvents].sort((a, b) => processor.eventTimeOf(a) - processor.eventTimeOf(b));
    const state = sorted.reduce((s, e) => processor.apply(s, e), processor.initialState());
    expected.set(id, processor.read(state, id, streamTime.get(partitionOf(id, partitions))! as EventTime).values);
  }
  return expected;
}

/** What Redis holds for these entities (missing ones map to undefined). */
export async function onlineValues(
  store: OnlineStore,
  featureSet: string,
  ids: readonly string[],
): Promise<Map<string, FeatureValues | undefined>> {
  const reads = await store.readMany(featureSet, ids);
  return new Map(reads.map((read) => [read.entityId, read.status === 'missing' ? undefined : read.values]));
}

export interface PaymentStreamOptions {
  readonly count: number;
  readonly users: number;
  readonly start: number;
  /** Event times advance by this on average per event (arrival order). */
  readonly stepMs: number;
  /** Each event's time is up to this much earlier than its arrival slot: out-of-order within lateness. */
  readonly jitterMs: number;
  readonly seed: number;
}

/**
 * Seeded payments in arrival order (whole-number amounts, so sums are exact in any order), out of event-time order by
 * up to `jitterMs`.
 */
export function paymentStream(
  options: PaymentStreamOptions,
): { key: string; body: { eventId: string; userId: string; eventTime: number; amount: number } }[] {
  const random = new Random(options.seed);
  return Array.from({ length: options.count }, (_, i) => {
    const userId = `u${Math.floor(random.next() * options.users)}`;
    const eventTime = Math.round(options.start + i * options.stepMs - random.next() * options.jitterMs);
    return {
      key: userId,
      body: { eventId: `e${options.seed}-${i}`, userId, eventTime, amount: Math.floor(random.next() * 10_000) },
    };
  });
}

export interface ReadDeadLetter {
  readonly reason: string;
  readonly detail: string;
  readonly sourceTopic: string;
  readonly offset: string;
  readonly key: string;
  readonly value: string;
  /** Every header, decoded as UTF-8. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The first `expectedCount` dead letters of `topic`, headers decoded; waits until that many have arrived. */
export async function readDeadLetters(kafka: Kafka, topic: string, expectedCount: number): Promise<ReadDeadLetter[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('dlq-reader'), ...TEST_CONSUMER_TUNING });
  const letters: ReadDeadLetter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const header = (name: string) => String(message.headers?.[name] ?? '');
        const headers = Object.fromEntries(Object.keys(message.headers ?? {}).map((name) => [name, header(name)]));
        letters.push({
          reason: header(DEAD_LETTER_HEADERS.reason),
          detail: header(DEAD_LETTER_HEADERS.detail),
          sourceTopic: header(DEAD_LETTER_HEADERS.topic),
          offset: header(DEAD_LETTER_HEADERS.offset),
          key: String(message.key),
          value: String(message.value),
          headers,
        });
        if (letters.length >= expectedCount) resolve();
      },
    });
  });
  await consumer.disconnect();
  return letters.slice(0, expectedCount);
}

/** Runs a processor until it has committed everything its topics held at the start, then stops it. */
export async function processUntilCaughtUp<S, E>(
  admin: Admin,
  options: StreamProcessorOptions<S, E>,
): Promise<StreamProcessor<S, E>> {
  const instance = new StreamProcessor(options);
  await instance.start();
  try {
    const inputs = options.topology.topics.map((topic) => ({ group: options.group, topic }));
    await waitUntilCaughtUp(options.store, admin, inputs, { timeoutMs: 60_000 });
  } finally {
    await instance.stop();
  }
  return instance;
}

/** Resolves once the group has `members` members that each own partitions of `topic`. */
export async function waitUntilSplit(
  admin: Admin,
  group: string,
  topic: string,
  members: number,
  timeoutMs = 60_000,
): Promise<void> {
  for (
    const deadline = Date.now() + timeoutMs;
    Date.now() < deadline;
    await new Promise((resolve) => setTimeout(resolve, 200))
  ) {
    const { groups } = await admin.describeGroups([group]);
    const owned = (groups[0]?.members ?? []).map(
      (member) => AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[topic] ?? [],
    );
    if (owned.length === members && owned.every((partitions) => partitions.length > 0)) return;
  }
  throw new Error(`group ${group} did not split ${topic} between ${members} members within ${timeoutMs / 1000} s`);
}
