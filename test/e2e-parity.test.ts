import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createOnlineEngine, duration, runBackfill, type FeatureValue } from '@rtml/features';
import { offlineOnlineAgree, readBackfillHistory, rowAsOf, userTransactionFeatures } from '@rtml/features/testing';
import { OnlineStore } from '@rtml/online-store';
import { isoWithOffset, Random } from '@rtml/synthetic';
import { featureSetProcessor, StreamProcessor, waitUntilCaughtUp } from '@rtml/stream';
// The stream package's test harness is not part of its public API, hence the relative path.
import {
  createTopic,
  testClients,
  partitionOf,
  produce,
  readDeadLetters,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from '../packages/stream/src/testing/harness.js';

/*
 * The end-to-end promise: for the same events, the online values the stream processor leaves in Redis
 * equal the offline backfill. Events go through a real Kafka topic and the real StreamProcessor into Redis;
 * the same events go into DuckDB and through `runBackfill` (an independent SQL execution of the definition).
 * Every entity's Redis vector must equal the offline history row as of that vector's event time.
 */

const { brokers, kafka, admin, producer, redis, connect, close } = testClients('e2e-parity-test', {
  brokers: inject('kafkaBrokers'),
  redisUrl: inject('redisUrl'),
});
const PARTITIONS = 3;
const USERS = 300;
const EVENTS = 3_000;
const JITTER_MS = duration.minutes(20);
const ALLOWED_LATENESS = duration.minutes(30);
/**
 * Far fewer cached entity states than entities (300 users over 3 tasks): states are constantly evicted and
 * reloaded from their Redis snapshots, which must not change any value.
 */
const CACHED_ENTITIES_PER_TASK = 20;
/**
 * Small fetches (with small sends): many batches per partition, so entities are last written at many different stream
 * times and windows empty only by timers.
 */
const SMALL_BATCHES = { ...TEST_CONSUMER_TUNING, maxBytesPerPartition: 4_096 };
let duck: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  await connect();
  duck = await DuckDBInstance.create(':memory:');
  connection = await duck.connect();
});

afterAll(async () => {
  await close();
  connection?.closeSync();
  duck?.closeSync();
});

interface Generated {
  readonly userId: string;
  readonly eventId: string;
  readonly epochMs: number;
  /** What goes on the wire for eventTime: ISO with some offset, or epoch ms. */
  readonly wireTime: string | number;
  /** Always ISO: the offline side parses the text itself (DuckDB), independently of the online zod parse. */
  readonly isoTime: string;
  readonly amount: number | null;
  readonly merchantId: string;
}

/**
 * ~9 days of card transactions in arrival order, up to JITTER_MS out of event-time order (within the allowed
 * lateness, so none is dead-lettered). Times are whole seconds so ties occur (last/lastK tie-break on eventId),
 * gaps between a user's events span the 1 h / 24 h / 7 d windows, amounts are non-integral (float tolerance) or null.
 */
function generate(seed: number): Generated[] {
  const random = new Random(seed);
  const start = Date.UTC(2024, 2, 28, 20); // crosses a month end and the EU DST change in the offsets used below
  const zones = [0, 60, 120, -300, 330, 545, -720, 840];
  return Array.from({ length: EVENTS }, (_, i) => {
    const userId = `user${Math.floor(random.next() ** 2 * USERS)}`; // skewed: a few busy users, many sparse ones
    const epochMs = Math.round((start + i * 260_000 - random.next() * JITTER_MS) / 1000) * 1000;
    const zone = zones[Math.floor(random.next() * zones.length)]!;
    const iso = zone === 0 ? new Date(epochMs).toISOString() : isoWithOffset(epochMs, zone);
    const amount =
      random.next() < 0.12 ? null : Math.round(random.next() * 100_000) / 100 - (random.next() < 0.05 ? 500 : 0);
    return {
      userId,
      eventId: `tx-${seed}-${i}`,
      epochMs,
      wireTime: random.next() < 0.5 ? epochMs : iso,
      isoTime: iso,
      amount,
      merchantId: `m${Math.floor(random.next() * 30)}`,
    };
  });
}

async function loadOffline(table: string, events: readonly Generated[]): Promise<void> {
  await connection.run(
    `CREATE OR REPLACE TABLE ${table} ("eventId" VARCHAR, "eventTime" VARCHAR, "userId" VARCHAR, amount ` +
      `DOUBLE, "merchantId" VARCHAR)`,
  );
  const appender = await connection.createAppender(table);
  for (const e of events) {
    appender.appendVarchar(e.eventId);
    appender.appendVarchar(e.isoTime);
    appender.appendVarchar(e.userId);
    if (e.amount === null) appender.appendNull();
    else appender.appendDouble(e.amount);
    appender.appendVarchar(e.merchantId);
    appender.endRow();
  }
  appender.closeSync();
}

it('online vectors in Redis equal the offline DuckDB backfill as of each vector’s event time', async () => {
  const engine = createOnlineEngine(userTransactionFeatures);
  const processor = featureSetProcessor(userTransactionFeatures);
  const namespace = uniqueName('e2e');
  const topic = uniqueName('e2e-transactions');
  const group = uniqueName('e2e-group');
  const store = new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: processor.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
  // Every 25th event is delivered twice (as a topic with producer retries holds it): both paths count it once.
  const events = generate(20240328).flatMap((e, i) => (i % 25 === 0 ? [e, e] : [e]));
  const wire = events.map((e) => ({
    key: e.userId,
    body: { eventId: e.eventId, eventTime: e.wireTime, userId: e.userId, amount: e.amount, merchantId: e.merchantId },
  }));
  // The wire form must be valid: a dead-lettered event would be missing online but present offline.
  for (const { body } of wire) expect(engine.parse(body).ok).toBe(true);

  await createTopic(admin, topic, PARTITIONS);
  await produce(producer, topic, PARTITIONS, wire, 20);
  const stream = new StreamProcessor({
    topology: { topics: [topic], processor, allowedLateness: ALLOWED_LATENESS },
    kafka: { brokers },
    store,
    group,
    consumer: SMALL_BATCHES,
    progressIntervalMs: 0,
    maxCachedEntitiesPerTask: CACHED_ENTITIES_PER_TASK,
  });
  await stream.start();
  try {
    await waitUntilCaughtUp(store, admin, [{ group, topic }], { timeoutMs: 60_000 });
  } finally {
    await stream.stop();
  }
  // None may be dead-lettered; if some are, the failure lists each one's offset, reason and detail (for `late`,
  // the record that set the stream time).
  const deadLettered = (await stream.metrics.deadLetters.get()).values.reduce((sum, v) => sum + v.value, 0);
  const letters = deadLettered > 0 ? await readDeadLetters(kafka, `${topic}.dlq`, deadLettered) : [];
  expect(letters.map((l) => `${l.sourceTopic}@${l.offset} ${l.reason}: ${l.detail}`)).toEqual([]);

  await loadOffline('e2e_events', events);
  await runBackfill(connection, userTransactionFeatures, { events: 'e2e_events', into: 'e2e_history' });
  const history = await readBackfillHistory(connection, 'e2e_history');

  const users = [...new Set(events.map((e) => e.userId))].sort();
  expect(users.length).toBeGreaterThan(USERS / 2);
  // Each partition's final stream time: the vectors must still hold then (window expiry is written by timers).
  const streamTimes = new Map<number, number>();
  for (const e of events)
    streamTimes.set(
      partitionOf(e.userId, PARTITIONS),
      Math.max(streamTimes.get(partitionOf(e.userId, PARTITIONS)) ?? -Infinity, e.epochMs),
    );
  const online = await store.readMany(processor.name, users);
  const mismatches: string[] = [];
  const compare = (entityId: string, label: string, at: number, values: Readonly<Record<string, FeatureValue>>) => {
    const row = rowAsOf(history.get(entityId) ?? [], at);
    if (row === undefined) return void mismatches.push(`${entityId}: no offline row as of ${label}`);
    const own = [...new Map(events.filter((e) => e.userId === entityId).map((e) => [e.eventId, e])).values()];
    const sumAbs = own.reduce((sum, e) => sum + Math.abs(e.amount ?? 0), 0);
    for (const feature of userTransactionFeatures.aggregates) {
      const offlineValue = row.values[feature.name] ?? null;
      const onlineValue = values[feature.name] ?? null;
      if (!offlineOnlineAgree(feature, offlineValue, onlineValue, { count: own.length, absoluteSum: sumAbs })) {
        mismatches.push(
          `${entityId} ${feature.name} as of ${label} ${new Date(at).toISOString()}: offline ` +
            `${JSON.stringify(offlineValue)} != online ${JSON.stringify(onlineValue)}`,
        );
      }
    }
  };
  for (const read of online) {
    if (read.status === 'missing') {
      mismatches.push(`${read.entityId}: no vector in Redis`);
      continue;
    }
    compare(read.entityId, 'its event time', read.eventTime, read.values);
    compare(
      read.entityId,
      'the final stream time',
      streamTimes.get(partitionOf(read.entityId, PARTITIONS))!,
      read.values,
    );
  }
  expect(mismatches).toEqual([]);
  // Not vacuous: many entities were last written before their partition's final stream time (small batches),
  // and some 1 h windows were emptied by expiry alone, which only an event-time timer writes.
  const stale = online.filter(
    (read) => read.status !== 'missing' && read.eventTime < streamTimes.get(partitionOf(read.entityId, PARTITIONS))!,
  );
  expect(stale.length).toBeGreaterThan(users.length / 4);
  expect((await stream.metrics.timerEmits.get()).values[0]?.value ?? 0).toBeGreaterThan(0);
});
