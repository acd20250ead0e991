import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { duration } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { StreamProcessor } from './stream-processor.js';
import { paymentsCounts } from './testing/counting-processor.js';
import { COUNTING_PROCESSOR, spawnCli } from './testing/cli-process.js';
import {
  createTopic,
  onlineValues,
  paymentStream,
  produce,
  recompute,
  testClients,
  TEST_CONSUMER_TUNING,
  uniqueName,
} from './testing/harness.js';
import { PrivateRedis } from './testing/private-redis.js';
import { waitUntilCaughtUp } from './caught-up.js';

const brokers = inject('kafkaBrokers');
// Kafka is shared; Redis is this file's own, so it can be restarted empty and flushed.
const { admin, producer, connect, close } = testClients('state-loss-test', { brokers, redisUrl: inject('redisUrl') });
let privateRedis: PrivateRedis;
let redis: Redis;
beforeAll(async () => {
  await connect();
  privateRedis = await PrivateRedis.start();
  redis = new Redis(privateRedis.url);
});
afterAll(async () => {
  redis.disconnect();
  await privateRedis.remove();
  await close();
});

function storeFor(namespace: string): OnlineStore {
  return new OnlineStore(redis, {
    namespace,
    featureSets: [{ name: paymentsCounts.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
  });
}

it(
  'Redis restarted without its data: says the online store lost its state and, with the log complete from ' +
    'offset 0, replays it exactly',
  async () => {
    const topic = uniqueName('loss-payments');
    const group = uniqueName('loss-group');
    const namespace = uniqueName('loss');
    await createTopic(admin, topic, 3);
    const events = paymentStream({
      count: 1200,
      users: 30,
      start: 1_700_000_000_000,
      stepMs: 1_000,
      jitterMs: 10_000,
      seed: 5,
    });
    const lines: string[] = [];
    const processorRedis = new Redis(privateRedis.url, { maxRetriesPerRequest: null });
    const instance = new StreamProcessor({
      topology: { topics: [topic], processor: paymentsCounts, allowedLateness: duration.seconds(30) },
      kafka: { brokers: brokers.split(',') },
      store: new OnlineStore(processorRedis, {
        namespace,
        featureSets: [{ name: paymentsCounts.name, onlineExpiry: duration.days(1), maxAge: duration.days(3650) }],
      }),
      group,
      consumer: TEST_CONSUMER_TUNING,
      progressIntervalMs: 0,
      log: (line) => lines.push(line),
    });
    await produce(producer, topic, 3, events.slice(0, 600));
    await instance.start();
    try {
      await waitUntilCaughtUp(storeFor(namespace), admin, [{ group, topic }], { timeoutMs: 60_000 });
      await privateRedis.restartEmpty();
      await produce(producer, topic, 3, events.slice(600));
      await waitUntilCaughtUp(storeFor(namespace), admin, [{ group, topic }], { timeoutMs: 60_000 });
    } finally {
      await instance.stop();
      processorRedis.disconnect();
    }
    const expected = recompute(
      paymentsCounts,
      events.map((e) => e.body),
      3,
    );
    expect(await onlineValues(storeFor(namespace), paymentsCounts.name, [...expected.keys()])).toEqual(expected);
    expect(
      lines.some(
        (line) =>
          line.includes('the online store lost its state') && line.includes('Replaying the partition from offset 0'),
      ),
    ).toBe(true);
    expect(lines.filter((line) => line.includes('another instance committed first'))).toEqual([]);
  },
);

it(
  'Redis flushed after retention deleted the head of the log: the CLI stops with one line and exit 1; ' +
    'rebuild --from-earliest-retained then resumes',
  async () => {
    const topic = uniqueName('loss-retention');
    const group = uniqueName('loss-retention-group');
    const namespace = uniqueName('loss-retention');
    const endpoints = { brokers, redisUrl: privateRedis.url };
    const common = ['--processor', COUNTING_PROCESSOR, '--topic', topic, '--group', group, '--namespace', namespace];
    const run = () =>
      spawnCli(['run', ...common, '--allowed-lateness-ms', '30000', '--session-timeout-ms', '6000'], endpoints);
    await createTopic(admin, topic, 1);
    const events = paymentStream({
      count: 120,
      users: 5,
      start: 1_700_000_000_000,
      stepMs: 1_000,
      jitterMs: 0,
      seed: 9,
    });
    await produce(producer, topic, 1, events.slice(0, 100));
    const first = run();
    await first.running;
    await waitUntilCaughtUp(storeFor(namespace), admin, [{ group, topic }], { timeoutMs: 60_000 });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '50' }] }); // retention, on demand
    await redis.flushall();
    await produce(producer, topic, 1, events.slice(100));
    const second = run();
    expect(await second.exited).toBe(1);
    const reasons = second
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('rtml-stream:'));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(
      /^rtml-stream: stopped: the online store lost its state: partition 0 .* starts at 50\b.*rtml-stream rebuild/,
    );

    const refused = spawnCli(['rebuild', ...common], endpoints);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/retention has deleted events .*starts at offset 50.* --from-earliest-retained/);
    const rebuild = spawnCli(['rebuild', ...common, '--from-earliest-retained'], endpoints);
    expect(await rebuild.exited).toBe(0);
    const third = run();
    await third.running;
    await waitUntilCaughtUp(storeFor(namespace), admin, [{ group, topic }], { timeoutMs: 60_000 });
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    const retained = events.slice(50).map((e) => e.body);
    const expected = recompute(paymentsCounts, retained, 1);
    expect(await onlineValues(storeFor(namespace), paymentsCounts.name, [...expected.keys()])).toEqual(expected);
  },
);
