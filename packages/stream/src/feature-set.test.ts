import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { Kafka } from 'kafkajs';
import { createOnlineEngine, duration, userTransactionFeatures, type TransactionEvent } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { featureSetProcessor } from './feature-set.js';
import { StreamProcessor } from './stream-processor.js';
import { createTopic, testClients, onlineValues, produce, recompute, TEST_CONSUMER_TUNING, uniqueName } from './testing/harness.js';
import { waitUntilCaughtUp } from './caught-up.js';

const { brokers, admin, producer, redis, connect, close } = testClients('stream-features-test', { brokers: inject('kafkaBrokers'), redisUrl: inject('redisUrl') });
beforeAll(connect);
afterAll(close);

/** Card transactions over ~3 days, arriving up to 5 minutes out of order; half the times as ISO strings. */
function transactions(count: number) {
  const start = Date.UTC(2024, 0, 1);
  return Array.from({ length: count }, (_, i) => {
    const userId = `user${(i * 7919) % 25}`;
    const time = start + i * 200_000 - ((i * 104_729) % 300_000);
    return {
      key: userId,
      body: { eventId: `t${i}`, eventTime: i % 2 ? time : new Date(time).toISOString(), userId, amount: i % 11 === 0 ? null : (i * 37) % 500, merchantId: `m${(i * 13) % 17}` },
    };
  });
}

it('the shared feature engine, streamed through Kafka into Redis, equals its clean recomputation', async () => {
  const engine = createOnlineEngine(userTransactionFeatures);
  const processor = featureSetProcessor(engine);
  const namespace = uniqueName('fs');
  const topic = uniqueName('fs-transactions');
  const group = uniqueName('fs-group');
  const store = new OnlineStore(redis, { namespace, featureSets: { [processor.name]: { ttl: duration.days(1), maxAge: duration.days(3650) } } });
  await createTopic(admin, topic, 3);
  const events = transactions(1200);
  await produce(producer, topic, 3, events);
  const stream = new StreamProcessor({ brokers, redis, store, group, topics: [topic], processor, allowedLateness: duration.minutes(10), consumer: TEST_CONSUMER_TUNING, progressIntervalMs: 0 });
  await stream.start();
  try {
    await waitUntilCaughtUp(redis, admin, [{ group, topic }], { namespace, timeoutMs: 60_000 });
  } finally {
    await stream.stop();
  }
  const parsed = events.map((e) => {
    const result = engine.parse(e.body);
    if (!result.ok) throw new Error(result.reason);
    return result.event as TransactionEvent;
  });
  const expected = recompute(processor, parsed, 3);
  expect(expected.size).toBe(25);
  expect(await onlineValues(store, processor.name, [...expected.keys()])).toEqual(expected);
});
