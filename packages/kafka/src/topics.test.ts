import { randomUUID } from 'node:crypto';
import { afterAll, expect, inject, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics, TopicCreationError, whileTopicsPropagate } from './topics.js';

const kafka = new Kafka({
  clientId: 'kafka-helpers-test',
  brokers: inject('kafkaBrokers').split(','),
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
afterAll(() => admin.disconnect());

it('creates several topics at once and returns only when every partition has a leader', async () => {
  await admin.connect();
  const names = Array.from({ length: 4 }, (_, i) => `ensure-${i}-${randomUUID()}`);
  // Concurrent calls, as test suites and processors do: kafkajs' waitForLeaders flakes exactly here.
  await Promise.all(names.map((topic, i) => ensureTopics(admin, [{ topic, numPartitions: i + 1 }])));
  const { topics } = await admin.fetchTopicMetadata({ topics: names });
  expect(topics.map((t) => t.partitions.length).sort()).toEqual([1, 2, 3, 4]);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: names[3]!, messages: [0, 1, 2, 3].map((partition) => ({ partition, value: 'x' })) });
  await producer.disconnect();
});

/** An admin client whose kafkajs error log lines land in `errors`. */
async function watchedAdmin(errors: string[]) {
  const logCreator =
    () =>
    ({ log }: { log: { message: string; error?: string } }) =>
      void errors.push(`${log.message} ${log.error ?? ''}`);
  const watched = new Kafka({
    clientId: 'kafka-helpers-test-watched',
    brokers: inject('kafkaBrokers').split(','),
    logLevel: logLevel.ERROR,
    logCreator,
  }).admin();
  await watched.connect();
  return watched;
}

it('leaves an existing topic as it is, and says nothing about it', async () => {
  const topic = `ensure-existing-${randomUUID()}`;
  const errors: string[] = [];
  const watched = await watchedAdmin(errors);
  try {
    await ensureTopics(watched, [{ topic, numPartitions: 2 }]);
    await ensureTopics(watched, [{ topic, numPartitions: 5 }]);
  } finally {
    await watched.disconnect();
  }
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  expect(topics[0]!.partitions).toHaveLength(2);
  // The broker answers CreateTopics for an existing topic with TOPIC_ALREADY_EXISTS, which kafkajs logs as an ERROR.
  expect(errors).toEqual([]);
});

it("a topic the broker refuses: one error naming the topic and the broker's reason", async () => {
  const topic = `ensure-refused-${randomUUID()}`;
  const failure = ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 99 }]);
  await expect(failure).rejects.toBeInstanceOf(TopicCreationError);
  await expect(failure).rejects.toThrow(
    new RegExp(`^cannot create Kafka topic ${topic}: INVALID_REPLICATION_FACTOR \\([^\\n]+\\)$`),
  );
});

it('asks again while a broker does not know a new topic yet (kafkajs wraps that error), not otherwise', async () => {
  const unknownTopic = Object.assign(new Error('This server does not host this topic-partition'), {
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
  });
  let calls = 0;
  const answer = await whileTopicsPropagate(async () => {
    calls += 1;
    if (calls === 1) throw unknownTopic;
    if (calls === 2) throw Object.assign(new Error(unknownTopic.message), { cause: unknownTopic });
    return 'described';
  });
  expect([answer, calls]).toEqual(['described', 3]);

  calls = 0;
  const refused = Object.assign(new Error('Topic authorization failed'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
  await expect(
    whileTopicsPropagate(() => {
      calls += 1;
      return Promise.reject(refused);
    }),
  ).rejects.toBe(refused);
  expect(calls).toBe(1);
});
