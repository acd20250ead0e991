import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  count,
  createOnlineEngine,
  duration,
  featureSet,
  sliding,
  sum,
  type DurationMs,
  type OnlineState,
} from '@rtml/features';
import {
  transactions as transactionSource,
  user,
  userTransactionFeatures,
  type TransactionEvent,
} from '@rtml/features/testing';
import { OnlineStore } from '@rtml/online-store';
import { featureSetProcessor } from './feature-set.js';
import type { KeyedProcessor } from './processor.js';
import { StreamProcessor } from './stream-processor.js';
import {
  createTopic,
  testClients,
  onlineValues,
  produce,
  recompute,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';
import { waitUntilCaughtUp } from './caught-up.js';
import { checkpointKeys } from './keys.js';

const { brokers, admin, producer, redis, connect, close } = testClients('stream-features-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
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
      body: {
        eventId: `t${i}`,
        eventTime: i % 2 ? time : new Date(time).toISOString(),
        userId,
        amount: i % 11 === 0 ? null : (i * 37) % 500,
        merchantId: `m${(i * 13) % 17}`,
      },
    };
  });
}

/** A fresh topic, group and namespace for one feature-set processor. */
async function featureStream(
  prefix: string,
  processor: KeyedProcessor<OnlineState, TransactionEvent>,
  partitions: number,
  allowedLateness: DurationMs,
) {
  const [namespace, topic, group] = [
    uniqueName(prefix),
    uniqueName(`${prefix}-transactions`),
    uniqueName(`${prefix}-group`),
  ];
  const store = new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
  await createTopic(admin, topic, partitions);
  return {
    namespace,
    group,
    store,
    /** Produces the events, then runs a processor instance until Redis has everything produced so far. */
    run: async (events: readonly { key: string; body: unknown }[]): Promise<void> => {
      await produce(producer, topic, partitions, events);
      const stream = new StreamProcessor({
        topology: { topics: [topic], processor, allowedLateness },
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
    },
  };
}

it('the shared feature engine, streamed through Kafka into Redis, equals its clean recomputation', async () => {
  const engine = createOnlineEngine(userTransactionFeatures);
  const processor = featureSetProcessor(userTransactionFeatures);
  const { store, run } = await featureStream('fs', processor, 3, duration.minutes(10));
  const events = transactions(1200);
  await run(events);
  const parsed = events.map((e) => {
    const result = engine.parse(e.body);
    if (!result.ok) throw new Error(result.reason);
    return result.event;
  });
  const expected = recompute(processor, parsed, 3);
  expect(expected.size).toBe(25);
  expect(await onlineValues(store, processor.name, [...expected.keys()])).toEqual(expected);
});

it(
  'deletes the state snapshot of an entity whose windows have all expired, and restarts from that to the ' +
    'same values',
  async () => {
    // Only sliding windows: once an entity's last event leaves them, its state is empty (a lifetime aggregate never
    // is).
    const hourly = featureSet({
      name: 'user_hourly',
      entity: user,
      source: transactionSource,
      features: {
        n_1h: count({ window: sliding(duration.hours(1)) }),
        amount_1h: sum('amount', { window: sliding(duration.hours(1)), default: 0 }),
      },
    });
    const processor = featureSetProcessor(hourly);
    const { namespace, group, store, run } = await featureStream('fs-empty', processor, 1, duration.minutes(1));
    const t0 = Date.UTC(2024, 0, 1);
    const event = (id: string, userId: string, at: number) => ({
      key: userId,
      body: { eventId: id, eventTime: at, userId, amount: 5, merchantId: 'm' },
    });
    // alice's events leave the 1 h window when bob's event two hours later moves stream time past them.
    await run([event('a1', 'alice', t0), event('a2', 'alice', t0 + 60_000), event('b1', 'bob', t0 + 2 * 3_600_000)]);
    const keys = checkpointKeys(namespace, group, 0);
    expect(await redis.hexists(keys.states, 'alice')).toBe(0);
    expect(await redis.hexists(keys.states, 'bob')).toBe(1);
    expect((await onlineValues(store, processor.name, ['alice'])).get('alice')).toEqual({ n_1h: 0, amount_1h: 0 });
    // A second incarnation starts alice from the initial state (no snapshot) and counts only her new event.
    await run([event('a3', 'alice', t0 + 2 * 3_600_000 + 1_000)]);
    expect(await onlineValues(store, processor.name, ['alice', 'bob'])).toEqual(
      new Map([
        ['alice', { n_1h: 1, amount_1h: 5 }],
        ['bob', { n_1h: 1, amount_1h: 5 }],
      ]),
    );
  },
);
