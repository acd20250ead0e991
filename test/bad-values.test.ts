import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { duration } from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import { OnlineStore } from '@rtml/online-store';
import { featureSetProcessor, StreamProcessor, waitUntilCaughtUp } from '@rtml/stream';
// The stream package's test harness is not part of its public API, hence the relative path.
import {
  createTopic,
  readDeadLetters,
  testClients,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from '../packages/stream/src/testing/harness.js';

/*
 * NaN and ±Infinity on the stream path, end to end through Kafka into Redis: JSON has no NaN literal, a number too
 * large for a double (1e999) parses to Infinity and is dead-lettered by the schema, and a sum of finite values that
 * overflows is stored as missing. Before the overflow rule, two amounts of 1e308 made the vector unwritable
 * (the store refuses Infinity) and the partition retried that batch forever.
 */

const { brokers, kafka, admin, producer, redis, connect, close } = testClients('bad-values-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
beforeAll(connect);
afterAll(close);

it(
  'dead-letters non-finite numbers with a reason and stores an overflowing sum as missing, never stalling ' +
    'the partition',
  async () => {
    const processor = featureSetProcessor(userTransactionFeatures);
    const [namespace, topic, group] = [
      uniqueName('bad-values'),
      uniqueName('bad-values-transactions'),
      uniqueName('bad-values-group'),
    ];
    const store = new OnlineStore(redis, {
      namespace,
      featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
    });
    await createTopic(admin, topic, 1);
    const t = Date.UTC(2024, 0, 1);
    const event = (id: string, offset: number, user: string, amount: string) =>
      `{"eventId":"${id}","eventTime":${t + offset},"userId":"${user}","amount":${amount},"merchantId":"m"}`;
    const records = [
      event('a', 0, 'u1', '1e308'),
      event('b', 1, 'u1', '1e308'),
      event('c', 2, 'u2', '1e999'),
      event('d', 3, 'u2', '"NaN"'),
      event('e', 4, 'u2', 'NaN'),
      event('f', 5, 'u2', '5'),
    ];
    await producer.send({ topic, messages: records.map((value) => ({ key: 'k', value, partition: 0 })) });
    const stream = new StreamProcessor({
      topology: { topics: [topic], processor, allowedLateness: duration.minutes(10) },
      kafka: { brokers },
      store,
      group,
      consumer: TEST_CONSUMER_TUNING,
      progressIntervalMs: 0,
    });
    await stream.start();
    try {
      await waitUntilCaughtUp(store, admin, [{ group, topic }], { timeoutMs: 60_000 });
    } finally {
      await stream.stop();
    }
    const [u1, u2] = await store.readMany(processor.name, ['u1', 'u2']);
    expect(u1?.values).toMatchObject({
      txn_count_1h: 2,
      amount_sum_24h: null,
      amount_mean_lifetime: null,
      amount_max_24h: 1e308,
      last_amount: 1e308,
    });
    expect(u2?.values).toMatchObject({ txn_count_1h: 1, amount_sum_24h: 5, last_amount: 5 });
    const letters = await readDeadLetters(kafka, `${topic}.dlq`, 3);
    expect(letters.map((l) => [l.offset, l.reason, l.detail])).toEqual([
      ['2', 'schema', 'invalid transaction event: amount: Invalid input: expected number, received Infinity'],
      ['3', 'schema', 'invalid transaction event: amount: Invalid input: expected number, received string'],
      ['4', 'malformed-json', expect.stringContaining('is not valid JSON')],
    ]);
  },
);
