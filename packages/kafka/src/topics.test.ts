import { randomUUID } from 'node:crypto';
import { afterAll, expect, inject, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from './topics.js';

const kafka = new Kafka({ clientId: 'kafka-helpers-test', brokers: inject('kafkaBrokers').split(','), logLevel: logLevel.NOTHING });
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

it('leaves an existing topic as it is', async () => {
  const topic = `ensure-existing-${randomUUID()}`;
  await ensureTopics(admin, [{ topic, numPartitions: 2 }]);
  await ensureTopics(admin, [{ topic, numPartitions: 5 }]);
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  expect(topics[0]!.partitions).toHaveLength(2);
});
