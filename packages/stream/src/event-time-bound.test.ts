import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { duration, type DurationMs } from '@rtml/features';
import { EVENT_TIME_FIELD, OnlineStore } from '@rtml/online-store';
import { checkpointKeys } from './keys.js';
import { rebuildCheckpoints } from './rebuild.js';
import type { StreamTopology } from './stream-processor.js';
import { countingProcessor, type CountingState, type Payment } from './testing/counting-processor.js';
import {
  createTopic,
  onlineValues,
  processUntilCaughtUp,
  produce,
  readDeadLetters,
  recompute,
  testClients,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';

const { brokers, kafka, admin, producer, redis, connect, close } = testClients('event-time-bound-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
beforeAll(connect);
afterAll(close);

const YEAR_2100 = Date.UTC(2100, 0, 1);

function setup(prefix: string) {
  const namespace = uniqueName(prefix);
  const processor = countingProcessor(60_000);
  const store = new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
  return { namespace, processor, store, topic: uniqueName(`${prefix}-payments`), group: uniqueName(`${prefix}-group`) };
}

type Setup = ReturnType<typeof setup>;

async function runUntilCaughtUp(
  s: Setup,
  topology: Partial<StreamTopology<CountingState, Payment>> = {},
): Promise<void> {
  await processUntilCaughtUp(admin, {
    topology: { topics: [s.topic], processor: s.processor, allowedLateness: duration.seconds(30), ...topology },
    kafka: { brokers },
    store: s.store,
    group: s.group,
    consumer: TEST_CONSUMER_TUNING,
    progressIntervalMs: 0,
  });
}

/** 40 payments of one user, a second apart, ending a minute ago, with a 2100-dated one after the 10th. */
function poisonedStream() {
  const start = Date.now() - 60_000 - 40_000;
  const payment = (i: number, eventTime: number) => ({
    key: 'alice',
    body: { eventId: `p${i}`, userId: 'alice', eventTime, amount: i },
  });
  const good = Array.from({ length: 40 }, (_, i) => payment(i, start + i * 1_000));
  return { good, all: [...good.slice(0, 10), payment(999, YEAR_2100), ...good.slice(10)] };
}

it('dead-letters an event dated beyond now + maxEventTimeAhead as `future`; it never moves stream time', async () => {
  const s = setup('future');
  await createTopic(admin, s.topic, 1);
  const { good, all } = poisonedStream();
  await produce(producer, s.topic, 1, all);
  await runUntilCaughtUp(s);
  const letters = await readDeadLetters(kafka, `${s.topic}.dlq`, 1);
  expect(letters.map((l) => [l.reason, l.offset])).toEqual([['future', '10']]);
  expect(letters[0]!.detail).toContain('2100-01-01T00:00:00.000Z');
  // Every good event counted, none judged late against a stream time of 2100.
  const expected = recompute(
    s.processor,
    good.map((e) => e.body),
    1,
  );
  expect(await onlineValues(s.store, s.processor.name, ['alice'])).toEqual(expected);
  const meta = JSON.parse((await s.store.loadCheckpoint(checkpointKeys(s.namespace, s.group, 0))).meta!) as {
    streamTime: number;
  };
  expect(meta.streamTime).toBe(good.at(-1)!.body.eventTime);
});

it('rebuild --poisoned repairs a partition whose stream time a far-future event already poisoned', async () => {
  const s = setup('poisoned');
  await createTopic(admin, s.topic, 1);
  const { good, all } = poisonedStream();
  await produce(producer, s.topic, 1, all);
  // A processor without the bound (as before it existed) lets the 2100 event set stream time; later events are late.
  await runUntilCaughtUp(s, { maxEventTimeAhead: Infinity as DurationMs });
  expect((await s.store.read(s.processor.name, 'alice')).status).not.toBe('missing');
  expect(Number(await redis.hget(s.store.keyOf(s.processor.name, 'alice'), EVENT_TIME_FIELD))).toBe(YEAR_2100);

  const report = await rebuildCheckpoints({
    admin,
    store: s.store,
    group: s.group,
    topics: [s.topic],
    featureSet: s.processor.name,
    partitions: 'poisoned',
    maxEventTimeAhead: duration.days(1),
  });
  expect(report).toEqual({ partitions: [0], deletedVectors: 1 });
  await runUntilCaughtUp(s);
  const expected = recompute(
    s.processor,
    good.map((e) => e.body),
    1,
  );
  expect(await onlineValues(s.store, s.processor.name, ['alice'])).toEqual(expected);
  // A second run finds nothing poisoned any more.
  const again = await rebuildCheckpoints({
    admin,
    store: s.store,
    group: s.group,
    topics: [s.topic],
    featureSet: s.processor.name,
    partitions: 'poisoned',
    maxEventTimeAhead: duration.days(1),
  });
  expect(again.partitions).toEqual([]);
});
