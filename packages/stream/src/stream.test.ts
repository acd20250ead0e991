import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { StreamProcessor } from './stream-processor.js';
import { countingProcessor, type Payment } from './testing/counting-processor.js';
import {
  createTopic,
  testClients,
  partitionOf,
  onlineValues,
  paymentStream,
  produce,
  readDeadLetters,
  recompute,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';
import { waitUntilCaughtUp } from './caught-up.js';

const { brokers, kafka, admin, producer, redis, connect, close } = testClients('stream-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
beforeAll(connect);
afterAll(close);

const PARTITIONS = 3;
const WINDOW_MS = 60_000;
const LATENESS = duration.seconds(30);

function setup(prefix: string) {
  const namespace = uniqueName(prefix);
  const processor = countingProcessor(WINDOW_MS);
  const store = new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
  return { namespace, processor, store, topic: uniqueName(`${prefix}-payments`), group: uniqueName(`${prefix}-group`) };
}

function startProcessor(s: ReturnType<typeof setup>) {
  const instance = new StreamProcessor({
    topology: { topics: [s.topic], processor: s.processor, allowedLateness: LATENESS },
    kafka: { brokers },
    store: s.store,
    group: s.group,
    consumer: TEST_CONSUMER_TUNING,
    progressIntervalMs: 0,
  });
  return instance;
}

describe('StreamProcessor', () => {
  it('writes the same values as a clean recomputation, with out-of-order events and window expiry', async () => {
    const s = setup('parity');
    await createTopic(admin, s.topic, PARTITIONS);
    // 1500 events over ~25 minutes of event time, up to 20 s out of order: windows slide and expire.
    const events = paymentStream({
      count: 1500,
      users: 40,
      start: 1_700_000_000_000,
      stepMs: 1_000,
      jitterMs: 20_000,
      seed: 7,
    });
    // Later, one event per partition from a fresh key, 10 minutes on: every other entity's window expires
    // without a new event of its own, so only event-time timers can bring its Redis value up to date.
    const ticks = Array.from({ length: PARTITIONS }, (_, p) => tickerFor(p)).map((userId, i) => ({
      key: userId,
      body: { eventId: `tick-${i}`, userId, eventTime: 1_700_000_000_000 + 1500 * 1_000 + 600_000, amount: 1 },
    }));
    await produce(producer, s.topic, PARTITIONS, events);
    const instance = startProcessor(s);
    await instance.start();
    try {
      await waitUntilCaughtUp(s.store, admin, [{ group: s.group, topic: s.topic }], { timeoutMs: 60_000 });
      await produce(producer, s.topic, PARTITIONS, ticks);
      await waitUntilCaughtUp(s.store, admin, [{ group: s.group, topic: s.topic }], { timeoutMs: 60_000 });
    } finally {
      await instance.stop();
    }
    const expected = recompute(
      s.processor,
      [...events, ...ticks].map((e) => e.body),
      PARTITIONS,
    );
    const actual = await onlineValues(s.store, s.processor.name, [...expected.keys()]);
    expect(actual).toEqual(expected);
    // The sums make double counting visible; window counts make missed timers visible.
    expect([...expected.values()].reduce((a, v) => a + (v.count as number), 0)).toBe(1500 + PARTITIONS);
    expect((await instance.metrics.timerEmits.get()).values[0]?.value).toBeGreaterThan(0);
  });

  it(
    'dead-letters bad JSON, schema failures, missing keys and too-late events with reasons and original ' + 'bytes',
    async () => {
      const s = setup('dlq');
      await createTopic(admin, s.topic, 1);
      const t0 = 1_700_000_000_000;
      const good = (i: number, eventTime: number) => ({
        key: 'alice',
        body: { eventId: `g${i}`, userId: 'alice', eventTime, amount: 1 },
      });
      await produce(producer, s.topic, 1, [
        good(1, t0),
        { key: 'alice', body: '{"eventId": "broken' },
        { key: 'alice', body: { eventId: 'x1', userId: 'alice', eventTime: t0, amount: 'ten' } },
        { key: 'nobody', body: { eventId: 'x2', userId: '', eventTime: t0, amount: 1 } },
        good(2, t0 + 120_000),
        good(3, t0 + 100_000), // 20 s late: within the allowed 30 s, counted
        good(4, t0 + 60_000), // 60 s late: dead-lettered
      ]);
      const instance = startProcessor(s);
      await instance.start();
      try {
        await waitUntilCaughtUp(s.store, admin, [{ group: s.group, topic: s.topic }], { timeoutMs: 60_000 });
      } finally {
        await instance.stop();
      }
      const letters = await readDeadLetters(kafka, `${s.topic}.dlq`, 4);
      expect(letters.map((l) => l.reason)).toEqual(['malformed-json', 'schema', 'missing-key', 'late']);
      expect(letters.map((l) => l.offset)).toEqual(['1', '2', '3', '6']);
      expect(letters[0]!.value).toBe('{"eventId": "broken');
      expect(letters[1]!.detail).toMatch(/amount/);
      // A late letter names the record that set the stream time it was judged against (good(2) at offset 4).
      expect(letters[3]!.detail).toContain(`stream time ${t0 + 120_000} set by ${s.topic}[0]@4`);
      expect(letters.every((l) => l.sourceTopic === s.topic && l.key === `${s.topic}:0:${l.offset}`)).toBe(true);
      const values = await onlineValues(s.store, s.processor.name, ['alice']);
      expect(values.get('alice')).toMatchObject({ count: 3, sum: 3 });
    },
  );

  it(
    'reads a transactional input exactly: aborted records skipped, transaction markers neither stall nor ' + 'skip',
    async () => {
      const s = setup('txn');
      await createTopic(admin, s.topic, 1);
      const events = paymentStream({
        count: 60,
        users: 5,
        start: 1_700_000_000_000,
        stepMs: 1_000,
        jitterMs: 0,
        seed: 11,
      }).map((e) => ({ key: e.key, value: JSON.stringify(e.body) }));
      const txProducer = kafka.producer({
        transactionalId: uniqueName('txn-input'),
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await txProducer.connect();
      // Ten transactions of six events, every third aborted: the log ends with a commit marker.
      for (let t = 0; t < 10; t++) {
        const transaction = await txProducer.transaction();
        await transaction.send({ topic: s.topic, messages: events.slice(t * 6, t * 6 + 6) });
        await (t % 3 === 1 ? transaction.abort() : transaction.commit());
      }
      await txProducer.disconnect();
      // One record batch per fetch, so some fetches hold nothing but a marker or aborted records.
      const instance = new StreamProcessor({
        topology: { topics: [s.topic], processor: s.processor, allowedLateness: LATENESS },
        kafka: { brokers },
        store: s.store,
        group: s.group,
        consumer: { ...TEST_CONSUMER_TUNING, maxBytesPerPartition: 64 },
        progressIntervalMs: 0,
      });
      await instance.start();
      try {
        await waitUntilCaughtUp(s.store, admin, [{ group: s.group, topic: s.topic }], { timeoutMs: 60_000 });
      } finally {
        await instance.stop();
      }
      const kept = events.filter((_, i) => Math.floor(i / 6) % 3 !== 1).map((e) => JSON.parse(e.value) as Payment);
      const expected = recompute(s.processor, kept, 1);
      expect(await onlineValues(s.store, s.processor.name, [...expected.keys()])).toEqual(expected);
      expect([...expected.values()].reduce((a, v) => a + (v.count as number), 0)).toBe(kept.length);
    },
  );

  it('two instances in one group split the partitions and stay correct through the rebalance', async () => {
    const s = setup('scale');
    await createTopic(admin, s.topic, 4);
    const events = paymentStream({
      count: 3000,
      users: 60,
      start: 1_700_000_000_000,
      stepMs: 500,
      jitterMs: 10_000,
      seed: 3,
    });
    const first = startProcessor(s);
    const second = startProcessor(s);
    await produce(producer, s.topic, 4, events.slice(0, 1500));
    await first.start();
    try {
      await waitUntilCaughtUp(s.store, admin, [{ group: s.group, topic: s.topic }], { timeoutMs: 60_000 });
      // The second member joins while the rest arrives: partitions move from the first instance mid-stream.
      const rest = produce(producer, s.topic, 4, events.slice(1500));
      await second.start();
      await rest;
      await waitUntilCaughtUp(s.store, admin, [{ group: s.group, topic: s.topic }], { timeoutMs: 60_000 });
      // Each instance reports the assignment of its last join; a member expelled for a missed heartbeat (a loaded
      // machine) keeps its old view until it rejoins, so the split is awaited rather than read once.
      const split = () => {
        const [a, b] = [first.assignedPartitions(), second.assignedPartitions()];
        return { bothOwnSome: a.length > 0 && b.length > 0, together: [...a, ...b].sort() };
      };
      await expect.poll(split, { timeout: 30_000 }).toEqual({ bothOwnSome: true, together: [0, 1, 2, 3] });
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    const expected = recompute(
      s.processor,
      events.map((e) => e.body),
      4,
    );
    expect(await onlineValues(s.store, s.processor.name, [...expected.keys()])).toEqual(expected);
  });
});

function tickerFor(partition: number): string {
  for (let i = 0; ; i++) if (partitionOf(`ticker${i}`, PARTITIONS) === partition) return `ticker${i}`;
}
