import { randomUUID } from 'node:crypto';
import { inject, describe, expect, it, afterAll } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';

const kafka = new Kafka({
  clientId: 'devstack-test',
  brokers: inject('kafkaBrokers').split(','),
  logLevel: logLevel.NOTHING,
});
const admin: Admin = kafka.admin();

afterAll(async () => {
  await admin.disconnect();
});

async function createTopic(partitions: number): Promise<string> {
  const topic = `devstack-test-${randomUUID()}`;
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  return topic;
}

describe('real Kafka broker', () => {
  it('delivers N keyed events to a consumer group in key order per partition', async () => {
    const topic = await createTopic(3);
    const keys = ['alice', 'bob', 'carol', 'dave', 'erin'];
    const perKey = 40;
    const producer = kafka.producer();
    await producer.connect();
    // Interleave keys so per-key order is a real property of partitioning, not of how we sent them.
    const messages = Array.from({ length: perKey }, (_, seq) =>
      keys.map((key) => ({ key, value: JSON.stringify({ key, seq }) })),
    ).flat();
    await producer.send({ topic, messages });
    await producer.disconnect();

    const received = new Map<string, { seq: number; partition: number }[]>();
    let count = 0;
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          const { key, seq } = JSON.parse(message.value!.toString()) as { key: string; seq: number };
          received.set(key, [...(received.get(key) ?? []), { seq, partition }]);
          if (++count === messages.length) resolve();
        },
      });
    });
    await consumer.disconnect();

    expect(count).toBe(keys.length * perKey);
    for (const key of keys) {
      const events = received.get(key)!;
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: perKey }, (_, i) => i));
      expect(new Set(events.map((e) => e.partition)).size).toBe(1);
    }
  });

  it('replays a topic from a timestamp', async () => {
    const topic = await createTopic(1);
    const producer = kafka.producer();
    await producer.connect();
    const base = Date.now() - 60_000;
    // Explicit record timestamps: event i is stamped base + i seconds.
    await producer.send({
      topic,
      messages: Array.from({ length: 10 }, (_, i) => ({
        key: 'k',
        value: String(i),
        timestamp: String(base + i * 1000),
      })),
    });
    await producer.disconnect();

    const [offset] = await admin.fetchTopicOffsetsByTimestamp(topic, base + 6_000);
    expect(offset?.offset).toBe('6');

    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic });
    const values: string[] = [];
    await new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek({ topic, partition: 0, offset: offset!.offset }));
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value!.toString());
          if (values.length === 4) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(values).toEqual(['6', '7', '8', '9']);
  });

  it('commits a transaction atomically and hides an aborted one from read_committed consumers', async () => {
    const topic = await createTopic(1);
    const producer = kafka.producer({
      transactionalId: `tx-${randomUUID()}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'k', value: 'committed' }] });
    await committed.commit();
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const value = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) });
    });
    await consumer.disconnect();
    expect(value).toBe('committed');
  });
});
