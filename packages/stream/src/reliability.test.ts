import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { duration } from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import { OnlineStore } from '@rtml/online-store';
import { featureSetProcessor } from './feature-set.js';
import {
  createTopic,
  processUntilCaughtUp,
  readDeadLetters,
  testClients,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';

const { brokers, kafka, admin, producer, redis, connect, close } = testClients('stream-reliability-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
beforeAll(connect);
afterAll(close);

const TEN_MB = 10 * 1024 * 1024;

/**
 * The README's "Reliability" table of bad inputs, run for real through the `user_txn` feature set: each record and
 * what becomes of it. Good events before and after show that none of them blocks the partition or moves stream time.
 */
it('bad inputs: each is dead-lettered with its reason or applied, and none blocks the partition', async () => {
  const topic = uniqueName('bad-inputs');
  await createTopic(admin, topic, 1, { 'max.message.bytes': String(TEN_MB + 1024 * 1024) });
  const now = Date.now() - 3_600_000;
  const txn = (fields: Record<string, unknown>) =>
    JSON.stringify({
      eventId: uniqueName('e'),
      eventTime: now,
      userId: 'alice',
      amount: 5,
      merchantId: 'm1',
      ...fields,
    });
  const cases: [string, string | null, string][] = [
    ['good event', txn({}), 'applied'],
    ['not JSON', 'hello', 'malformed-json'],
    ['empty value', '', 'malformed-json'],
    ['null value (tombstone)', null, 'malformed-json'],
    ['JSON array', '[1,2,3]', 'schema'],
    ['wrong type (amount "ten")', txn({ amount: 'ten' }), 'schema'],
    ['missing key (no userId)', txn({ userId: undefined }), 'schema'],
    ['empty key (userId "")', txn({ userId: '' }), 'schema'],
    ['1970 timestamp (eventTime 0)', txn({ eventTime: 0 }), 'late'],
    ['2100 timestamp', txn({ eventTime: '2100-01-01T00:00:00Z' }), 'future'],
    ['NaN literal', txn({}).replace('"amount":5', '"amount":NaN'), 'malformed-json'],
    ['amount 1e400 (Infinity once parsed)', txn({}).replace('"amount":5', '"amount":1e400'), 'schema'],
    ['amount null', txn({ amount: null }), 'applied'],
    ['10 MB valid record', txn({ merchantId: 'm'.repeat(TEN_MB) }), 'applied'],
    ['10 MB invalid record', `{"x":"${'7'.repeat(TEN_MB)}`, 'malformed-json'],
    ['good event after all of them', txn({ eventTime: now + 1_000 }), 'applied'],
  ];
  for (const [, value] of cases) await producer.send({ topic, acks: -1, messages: [{ key: 'alice', value }] });

  const processor = featureSetProcessor(userTransactionFeatures);
  const namespace = uniqueName('bad-inputs');
  const store = new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
  const group = uniqueName('bad-inputs-group');
  await processUntilCaughtUp(admin, {
    topology: { topics: [topic], processor, allowedLateness: duration.minutes(1) },
    kafka: { brokers },
    store,
    group,
    consumer: TEST_CONSUMER_TUNING,
    progressIntervalMs: 0,
  });
  const deadLetters = cases.filter(([, , outcome]) => outcome !== 'applied').length;
  const letters = new Map(
    (await readDeadLetters(kafka, `${topic}.dlq`, deadLetters)).map((letter) => [Number(letter.offset), letter]),
  );
  const outcomes = cases.map(([name], offset) => [name, letters.get(offset)?.reason ?? 'applied']);
  console.log(outcomes.map(([name, outcome]) => `| ${name} | ${outcome} |`).join('\n'));
  expect(outcomes).toEqual(cases.map(([name, , outcome]) => [name, outcome]));
  expect(letters.get(14)!.value.length).toBe(TEN_MB + 6); // dead-lettered whole
  const alice = await store.read(processor.name, 'alice');
  expect(alice.status).not.toBe('missing');
  // Four applied events, and stream time is the last good event's (neither 1970 nor 2100 moved it).
  expect(alice.status !== 'missing' && [alice.values.txn_count_1h, alice.eventTime]).toEqual([4, now + 1_000]);
});
