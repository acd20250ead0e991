import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { duration, eventTime, type EventTime, type FeatureValues } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { temporalJoin, type JoinEvent, type JoinSide } from './join.js';
import { StreamProcessor } from './stream-processor.js';
import { createTestDriver } from './testing/index.js';
import {
  createTopic,
  testClients,
  onlineValues,
  produce,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';
import { waitUntilCaughtUp } from './caught-up.js';

const Txn = z.object({ eventId: z.string(), accountId: z.string().min(1), eventTime: z.number(), amount: z.number() });
const Profile = z.object({
  eventId: z.string(),
  accountId: z.string().min(1),
  eventTime: z.number(),
  tier: z.string(),
});
type Txn = z.infer<typeof Txn>;
type Profile = z.infer<typeof Profile>;

function side<T extends { eventId: string; accountId: string; eventTime: number }>(
  topic: string,
  schema: z.ZodType<T>,
): JoinSide<T> {
  return {
    topic,
    parse: (raw) => {
      const r = schema.safeParse(raw);
      return r.success ? { ok: true, event: r.data } : { ok: false, reason: r.error.message };
    },
    key: (e) => e.accountId,
    time: (e) => eventTime(e.eventTime),
    id: (e) => e.eventId,
  };
}

const WITHIN = duration.minutes(10);
const combine = (txn: Txn | undefined, profile: Profile | undefined): FeatureValues => ({
  last_amount: txn?.amount ?? null,
  tier_at_last_txn: profile?.tier ?? null,
});
const joinFor = (txnTopic: string, profileTopic: string) =>
  temporalJoin({
    name: 'txn_with_profile',
    left: side(txnTopic, Txn),
    right: side(profileTopic, Profile),
    within: WITHIN,
    combine,
  });

/** Brute force, straight from the definition. */
function expectedJoin(txns: readonly Txn[], profiles: readonly Profile[], asOf: number): FeatureValues {
  const order = (a: { eventTime: number; eventId: string }, b: { eventTime: number; eventId: string }) =>
    a.eventTime - b.eventTime || a.eventId.localeCompare(b.eventId);
  const last = [...txns]
    .filter((t) => t.eventTime <= asOf)
    .sort(order)
    .at(-1);
  const profile =
    last &&
    [...profiles]
      .filter((p) => p.eventTime <= last.eventTime && p.eventTime >= last.eventTime - WITHIN)
      .sort(order)
      .at(-1);
  return combine(last, profile);
}

describe('temporalJoin', () => {
  it('gives the definition result for any arrival order within the lateness, with compaction on the way', () => {
    const lateness = 5 * 60_000;
    const event = fc.record({
      isTxn: fc.boolean(),
      t: fc.integer({ min: 0, max: 60 * 60_000 }),
      value: fc.integer({ min: 0, max: 9 }),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 40 }), (raw) => {
        const join = joinFor('txns', 'profiles');
        let state = join.initialState();
        let streamTime = -Infinity;
        const accepted: JoinEvent<Txn, Profile>[] = [];
        raw.forEach((r, i) => {
          const e: JoinEvent<Txn, Profile> = r.isTxn
            ? {
                side: 'left',
                event: { eventId: `t${String(i).padStart(3, '0')}`, accountId: 'a', eventTime: r.t, amount: r.value },
              }
            : {
                side: 'right',
                event: {
                  eventId: `p${String(i).padStart(3, '0')}`,
                  accountId: 'a',
                  eventTime: r.t,
                  tier: `tier${r.value}`,
                },
              };
          if (r.t < streamTime - lateness) return; // the runtime dead-letters these
          streamTime = Math.max(streamTime, r.t);
          state = join.compact(join.apply(state, e), (streamTime - lateness) as EventTime);
          accepted.push(e);
        });
        const txns = accepted.flatMap((e) => (e.side === 'left' ? [e.event] : []));
        const profiles = accepted.flatMap((e) => (e.side === 'right' ? [e.event] : []));
        expect(join.read(state, 'a', streamTime as EventTime).values).toEqual(expectedJoin(txns, profiles, streamTime));
      }),
      { numRuns: 300 },
    );
  });

  it('joins two co-partitioned Kafka topics in the stream runtime, profile updates arriving late', async () => {
    const { brokers, admin, producer, redis, connect, close } = testClients('join-test', {
      brokers: inject('kafkaBrokers'),
      redisUrl: inject('redisUrl'),
    });
    await connect();
    const [txnTopic, profileTopic, group, namespace] = [
      uniqueName('join-txns'),
      uniqueName('join-profiles'),
      uniqueName('join-group'),
      uniqueName('join'),
    ];
    try {
      await Promise.all([createTopic(admin, txnTopic, 2), createTopic(admin, profileTopic, 2)]);
      const { accounts, profiles, txns } = joinInputs();
      // Transactions first: every profile update arrives after the transactions it belongs to.
      await produce(
        producer,
        txnTopic,
        2,
        txns.map((t) => ({ key: t.accountId, body: t })),
      );
      const join = joinFor(txnTopic, profileTopic);
      const store = new OnlineStore(redis, {
        namespace,
        featureSets: [{ name: join.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
      });
      const stream = new StreamProcessor({
        topology: { topics: [txnTopic, profileTopic], processor: join, allowedLateness: duration.hours(1) },
        kafka: { brokers },
        store,
        group,
        consumer: TEST_CONSUMER_TUNING,
        progressIntervalMs: 0,
      });
      await stream.start();
      try {
        await waitUntilCaughtUp(store, admin, [{ group, topic: txnTopic }], { timeoutMs: 60_000 });
        await produce(
          producer,
          profileTopic,
          2,
          profiles.map((p) => ({ key: p.accountId, body: p })),
        );
        await waitUntilCaughtUp(store, admin, [{ group, topic: profileTopic }], { timeoutMs: 60_000 });
      } finally {
        await stream.stop();
      }
      expectJoined(await onlineValues(store, join.name, accounts));
    } finally {
      await close();
    }
  });

  it('joins the same two topics in the test driver, without Kafka or Redis', async () => {
    const { accounts, profiles, txns } = joinInputs();
    const driver = createTestDriver(joinFor('txns', 'profiles'), {
      allowedLateness: duration.hours(1),
      partitions: 2,
      topics: ['txns', 'profiles'],
      startTime: Date.UTC(2024, 0, 1),
    });
    await driver.pipe(txns, { topic: 'txns' });
    await driver.pipe(profiles, { topic: 'profiles' });
    expectJoined(new Map(accounts.map((id) => [id, driver.vector(id)?.values])));
  });
});

function joinInputs() {
  const t0 = 1_700_000_000_000;
  const accounts = ['acc1', 'acc2', 'acc3', 'acc4', 'acc5'];
  const profiles: Profile[] = accounts.flatMap((accountId, a) =>
    [0, 1, 2].map((k) => ({
      eventId: `p${a}-${k}`,
      accountId,
      eventTime: t0 + k * 7 * 60_000 + a * 1000,
      tier: `tier${a}-${k}`,
    })),
  );
  const txns: Txn[] = accounts.flatMap((accountId, a) =>
    [0, 1, 2, 3].map((k) => ({
      eventId: `t${a}-${k}`,
      accountId,
      eventTime: t0 + k * 6 * 60_000 + a * 3000 + 30_000,
      amount: 10 * a + k,
    })),
  );
  return { accounts, profiles, txns };
}

/**
 * Each account's value equals the brute-force join as of its last event, with a profile found for its last transaction.
 */
function expectJoined(actual: ReadonlyMap<string, FeatureValues | undefined>): void {
  const { accounts, profiles, txns } = joinInputs();
  for (const accountId of accounts) {
    const mine = <T extends { accountId: string }>(list: T[]) => list.filter((e) => e.accountId === accountId);
    const asOf = Math.max(...[...mine(txns), ...mine(profiles)].map((e) => e.eventTime));
    expect(actual.get(accountId)).toEqual(expectedJoin(mine(txns), mine(profiles), asOf));
    expect(actual.get(accountId)?.tier_at_last_txn).not.toBeNull();
  }
}
