import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { duration, eventTime, type FeatureVector } from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import { OnlineStore } from '@rtml/online-store';
import { createTestDriver, MemoryStore, type TestDriver } from './testing/index.js';
import { countingProcessor } from './testing/counting-processor.js';
import {
  createTopic,
  onlineValues,
  partitionOf,
  paymentStream,
  processUntilCaughtUp,
  recompute,
  testClients,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';

const { brokers, admin, producer, redis, connect, close } = testClients('test-driver-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
beforeAll(connect);
afterAll(close);

const PARTITIONS = 3;
const WINDOW_MS = 60_000;
const LATENESS = duration.seconds(30);
const T0 = 1_700_000_000_000;
// 1500 events over ~25 minutes of event time, up to 20 s out of order: windows slide and expire.
const events = paymentStream({ count: 1500, users: 40, start: T0, stepMs: 1_000, jitterMs: 20_000, seed: 7 });
/** One event per partition 10 minutes on: other entities' windows expire, which only timers write. */
const ticks = Array.from({ length: PARTITIONS }, (_, partition) => ({
  partition,
  body: {
    eventId: `tick-${partition}`,
    userId: `tick-${partition}`,
    eventTime: T0 + 1500 * 1_000 + 600_000,
    amount: 1,
  },
}));

async function pipeInChunks(
  driver: TestDriver,
  chunk: number,
  { restartEvery = Infinity, withTicks = true } = {},
): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    await driver.pipe(events.slice(i, i + chunk).map((e) => e.body));
    if ((i / chunk + 1) % restartEvery === 0) driver.restart();
  }
  if (withTicks) for (const tick of ticks) await driver.pipe([tick.body], { partition: tick.partition });
}

const valuesOf = (vectors: readonly FeatureVector[]) => new Map(vectors.map((v) => [v.entityId, v.values]));

describe('createTestDriver', () => {
  it(
    'gives the vectors the real Kafka + Redis pipeline commits for the same keyed records (partitioned as ' +
      'kafkajs does)',
    async () => {
      const processor = countingProcessor(WINDOW_MS);
      const topic = uniqueName('driver-parity');
      await createTopic(admin, topic, PARTITIONS);
      // Keyed, no partition: kafkajs' default partitioner places them, as a pipeline's producer does.
      await producer.send({
        topic,
        acks: -1,
        messages: events.map((e) => ({ key: e.key, value: JSON.stringify(e.body) })),
      });
      const namespace = uniqueName('driver-parity');
      const store = new OnlineStore(redis, {
        namespace,
        featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
      });
      await processUntilCaughtUp(admin, {
        topology: { topics: [topic], processor, allowedLateness: LATENESS },
        kafka: { brokers },
        store,
        group: uniqueName('driver-parity'),
        consumer: TEST_CONSUMER_TUNING,
        progressIntervalMs: 0,
      });

      const driver = createTestDriver(processor, { allowedLateness: LATENESS, partitions: PARTITIONS, startTime: T0 });
      await pipeInChunks(driver, 100, { withTicks: false });
      const driven = valuesOf(driver.vectors());
      // No ticks: each entity's window values are read as of its partition's final stream time, so they show whether
      // the driver put each key in the partition Kafka did.
      expect(driven.size).toBe(40);
      expect(await onlineValues(store, processor.name, [...driven.keys()])).toEqual(driven);
    },
  );

  it(
    'equals a clean recomputation however the records are batched, and across restarts from its ' + 'checkpoints',
    async () => {
      const processor = countingProcessor(WINDOW_MS);
      const expected = recompute(
        processor,
        [...events, ...ticks].map((e) => e.body),
        PARTITIONS,
      );
      const options = { allowedLateness: LATENESS, partitions: PARTITIONS, startTime: T0, partitioner: partitionOf };
      const whole = createTestDriver(processor, options);
      await pipeInChunks(whole, events.length);
      expect(valuesOf(whole.vectors())).toEqual(expected);
      // Small batches, a restart after every third one, and no entity cache: every state comes back from its
      // checkpoint.
      const restarted = createTestDriver(processor, { ...options, maxCachedEntitiesPerTask: 0 });
      await pipeInChunks(restarted, 7, { restartEvery: 3 });
      expect(valuesOf(restarted.vectors())).toEqual(expected);
      expect(restarted.deadLetters()).toEqual([]);
      // Checkpoints every 2 batches: a restart replays the batches since the last one, and the vectors stay exact.
      const replayed = createTestDriver(processor, { ...options, checkpointEveryBatches: 2 });
      await pipeInChunks(replayed, 7, { restartEvery: 3 });
      expect(valuesOf(replayed.vectors())).toEqual(expected);
    },
  );

  it(
    'dead-letters bad records with the runtime reasons and source offsets, and judges lateness per ' + 'partition',
    async () => {
      const driver = createTestDriver(userTransactionFeatures, { allowedLateness: duration.minutes(1), startTime: T0 });
      const txn = (fields: Record<string, unknown>) => ({
        eventId: uniqueName('e'),
        eventTime: T0 - 3_600_000,
        userId: 'alice',
        amount: 5,
        merchantId: 'm1',
        ...fields,
      });
      await driver.pipe([
        txn({}),
        'hello',
        null,
        '[1,2,3]',
        txn({ amount: 'ten' }),
        txn({ eventTime: T0 - 7_200_000 }),
        txn({ eventTime: T0 + duration.days(2) }),
        txn({ eventTime: T0 - 3_599_000 }),
      ]);
      expect(
        driver.deadLetters().map(({ reason, offset, partition, topic }) => [reason, offset, partition, topic]),
      ).toEqual([
        ['malformed-json', '1', 0, 'events'],
        ['malformed-json', '2', 0, 'events'],
        ['schema', '3', 0, 'events'],
        ['schema', '4', 0, 'events'],
        ['late', '5', 0, 'events'],
        ['future', '6', 0, 'events'],
      ]);
      expect(driver.deadLetters()[4]!.detail).toContain('stream time 1699996400000 set by events[0]@0');
      // Two applied events; the future one moved neither stream time nor the vector's time.
      expect([driver.vector('alice')?.values.txn_count_1h, driver.vector('alice')?.eventTime]).toEqual([
        2,
        T0 - 3_599_000,
      ]);
      // Once the wall clock has passed it, the same record is accepted.
      driver.advanceTime(duration.days(2));
      await driver.pipe([txn({ eventTime: T0 + duration.days(2) })]);
      expect(driver.vector('alice')?.eventTime).toBe(T0 + duration.days(2));
    },
  );

  it('a processor whose key comes out empty gets missing-key', async () => {
    const driver = createTestDriver(countingProcessor(WINDOW_MS), { allowedLateness: LATENESS, startTime: T0 });
    await driver.pipe([{ eventId: 'x', userId: '', eventTime: T0, amount: 1 }]);
    expect(driver.deadLetters().map((letter) => letter.reason)).toEqual(['missing-key']);
    expect(driver.vectors()).toEqual([]);
  });
});

describe('MemoryStore', () => {
  const vector = (entityId: string, at: number, count: number): FeatureVector => ({
    featureSet: 'fs',
    entityId,
    eventTime: eventTime(at),
    values: { count },
  });
  const keys = { fence: 'offsets', meta: 'meta', timers: 'timers', states: 'states' };

  it('writes no checkpoint on a fence mismatch and reads states only as of the expected checkpoint', async () => {
    const store = new MemoryStore();
    expect(
      await store.writeCheckpoint(keys, { expected: null, next: '1', states: [{ field: 'a', value: 's1' }] }),
    ).toBe(true);
    expect(
      await store.writeCheckpoint(keys, { expected: '0', next: '2', states: [{ field: 'a', value: 'zombie' }] }),
    ).toBe(false);
    expect(await store.readStates(keys, '1', ['a', 'b'])).toEqual(['s1', null]);
    expect(await store.readStates(keys, '0', ['a'])).toBeNull();
    expect(await store.writeCheckpoint(keys, { expected: '1', next: '2', states: [{ field: 'a', value: null }] })).toBe(
      true,
    );
    expect(await store.readStates(keys, '2', ['a'])).toEqual([null]);
  });

  it('never replaces a vector by an older one: event time first, then version', async () => {
    const store = new MemoryStore();
    await store.writeBatch([vector('a', 2, 2)], { version: 10 });
    expect(await store.writeBatch([vector('a', 1, 1), vector('b', 5, 5), vector('b', 4, 4)], { version: 20 })).toEqual({
      written: 1,
      skippedOlder: 2,
    });
    expect(await store.writeBatch([vector('a', 2, 9)], { version: 5 })).toEqual({ written: 0, skippedOlder: 1 });
    expect(await store.writeBatch([vector('a', 2, 3)], { version: 30 })).toEqual({ written: 1, skippedOlder: 0 });
    expect(store.vectors('fs').map((v) => [v.entityId, v.values.count])).toEqual([
      ['a', 3],
      ['b', 5],
    ]);
  });
});
