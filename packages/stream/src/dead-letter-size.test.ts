import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { DEAD_LETTER_HEADERS, messageSize, toDeadLetterMessage, TRUNCATED_BODY_BYTES } from './dead-letter.js';
import { countingProcessor } from './testing/counting-processor.js';
import {
  createTopic,
  onlineValues,
  processUntilCaughtUp,
  produce,
  readDeadLetters,
  testClients,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';

const { brokers, kafka, admin, producer, redis, connect, close } = testClients('dead-letter-size-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
beforeAll(connect);
afterAll(close);

const TEN_MB = 10 * 1024 * 1024;
const t0 = 1_700_000_000_000;
const good = (i: number) => ({
  key: 'alice',
  body: { eventId: `g${i}`, userId: 'alice', eventTime: t0 + i, amount: 1 },
});

async function processAll(topic: string): Promise<OnlineStore> {
  const namespace = uniqueName('dlq-size');
  const processor = countingProcessor(60_000);
  const store = new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
  const group = uniqueName('dlq-size-group');
  await processUntilCaughtUp(admin, {
    topology: { topics: [topic], processor, allowedLateness: duration.seconds(30) },
    kafka: { brokers },
    store,
    group,
    consumer: TEST_CONSUMER_TUNING,
    progressIntervalMs: 0,
  });
  return store;
}

describe('oversized records', () => {
  it(
    'dead-letters a 10 MB bad record whole, into a dead-letter topic created to fit the input, and keeps ' + 'going',
    async () => {
      const topic = uniqueName('big-input');
      await createTopic(admin, topic, 1, { 'max.message.bytes': String(TEN_MB + 1024 * 1024) });
      await produce(producer, topic, 1, [good(1), { key: 'alice', body: 'x'.repeat(TEN_MB) }, good(2)], 1);
      const store = await processAll(topic);
      const [letter] = await readDeadLetters(kafka, `${topic}.dlq`, 1);
      expect(letter!.reason).toBe('malformed-json');
      expect(letter!.value.length).toBe(TEN_MB);
      expect(letter!.headers[DEAD_LETTER_HEADERS.truncated]).toBeUndefined();
      expect((await onlineValues(store, 'payments_counts', ['alice'])).get('alice')).toMatchObject({ count: 2 });
    },
  );

  it(
    'stores letters too large for an existing dead-letter topic bounded: first bytes, size, SHA-256, ' + 'source',
    async () => {
      const topic = uniqueName('big-input-small-dlq');
      await createTopic(admin, topic, 1, { 'max.message.bytes': String(TEN_MB + 1024 * 1024) });
      await createTopic(admin, `${topic}.dlq`, 1, { 'max.message.bytes': '200000' });
      const huge = `{"not json": ${'7'.repeat(TEN_MB)}`;
      const medium = 'y'.repeat(150_000); // fits alone; two of them would not fit one record batch
      await produce(
        producer,
        topic,
        1,
        [{ key: 'alice', body: huge }, { key: 'alice', body: medium }, { key: 'alice', body: medium }, good(1)],
        4,
      );
      const store = await processAll(topic);
      const letters = await readDeadLetters(kafka, `${topic}.dlq`, 3);
      expect(
        letters.map((l) => [l.offset, l.headers[DEAD_LETTER_HEADERS.truncated] ?? 'whole', l.value.length]),
      ).toEqual([
        ['0', 'true', TRUNCATED_BODY_BYTES],
        ['1', 'whole', 150_000],
        ['2', 'whole', 150_000],
      ]);
      expect(letters[0]!.value).toBe(huge.slice(0, TRUNCATED_BODY_BYTES));
      expect(letters[0]!.headers[DEAD_LETTER_HEADERS.originalSize]).toBe(String(huge.length));
      expect(letters[0]!.headers[DEAD_LETTER_HEADERS.originalSha256]).toBe(
        createHash('sha256').update(huge).digest('hex'),
      );
      expect(letters[0]!.sourceTopic).toBe(topic);
      expect((await onlineValues(store, 'payments_counts', ['alice'])).get('alice')).toMatchObject({ count: 1 });
    },
  );

  it('a bounded letter fits the limit it was made for, however long its key and detail', () => {
    const letter = {
      reason: 'schema' as const,
      detail: 'd'.repeat(100_000),
      topic: 't',
      partition: 0,
      offset: '5',
      key: Buffer.alloc(50_000, 'k'),
      value: Buffer.alloc(TEN_MB, 'v'),
    };
    for (const limit of [1_048_588, 100_000, 20_000])
      expect(messageSize(toDeadLetterMessage(letter, limit))).toBeLessThanOrEqual(limit);
  });
});
