import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { deleteNamespace, OnlineStore } from '@rtml/online-store';
import type { ScoreResponse } from '@rtml/serving';
import { waitUntilCaughtUp } from '@rtml/stream';
import { testClients } from '../packages/stream/src/testing/harness.js';

/*
 * The root README's "one feature set, end to end" snippet is test/readme-example.ts, verbatim: `npx tsc -p
 * tsconfig.tests.json` compiles it, and this test checks the README still shows exactly it, then runs it against
 * the stack (Kafka -> stream processor -> Redis -> POST /score). Its names (namespace demo, topic payments, group
 * spend) are fixed as written, so the test clears them before and after.
 */
const EXAMPLE = new URL('./readme-example.ts', import.meta.url);
const endpoints = { brokers: inject('kafkaBrokers'), redisUrl: inject('redisUrl') };
const { admin, producer, redis, connect, close } = testClients('readme-example-test', endpoints);

async function clear(): Promise<void> {
  await deleteNamespace(redis, 'demo');
  if ((await admin.listTopics()).includes('payments')) await admin.deleteTopics({ topics: ['payments'] });
  await admin.deleteGroups(['spend']).catch(() => undefined); // absent on a fresh stack
}

beforeAll(async () => {
  await connect();
  await clear();
});
afterAll(async () => {
  await clear();
  await close();
});

it('the README shows the example verbatim, with the feature set named once', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const example = readFileSync(EXAMPLE, 'utf8');
  expect(blocks).toContain(example);
  expect(example.match(/user_spend/g)).toHaveLength(1);
  expect(example.split('\n').length).toBeLessThanOrEqual(40);
});

it('runs: payments streamed into Redis are served with their sum over the last hour', async () => {
  process.env.KAFKA_BROKERS = endpoints.brokers;
  process.env.REDIS_URL = endpoints.redisUrl;
  const example = (await import(EXAMPLE.href)) as typeof import('./readme-example.js');
  try {
    const now = Date.now();
    const payment = (eventId: string, userId: string, minutesAgo: number, amount: number) => ({
      key: userId,
      value: JSON.stringify({ eventId, eventTime: now - minutesAgo * 60_000, userId, amount }),
    });
    // u1: 400 + 700 within the hour, 5,000 two hours ago (outside the window); u2: 50.
    const messages = [
      payment('p0', 'u1', 120, 5_000),
      payment('p1', 'u1', 10, 400),
      payment('p2', 'u2', 8, 50),
      payment('p3', 'u1', 5, 700),
    ];
    await producer.send({ topic: 'payments', acks: -1, messages });
    await waitUntilCaughtUp(
      new OnlineStore(redis, { namespace: 'demo', featureSets: example.spendModel }),
      admin,
      [{ group: 'spend', topic: 'payments' }],
      { timeoutMs: 60_000 },
    );

    const score = async (userId: string) => {
      const response = await example.app.inject({
        method: 'POST',
        url: '/score',
        payload: { eventId: `r-${userId}`, eventTime: now, userId, amount: 1 },
      });
      expect(response.statusCode).toBe(200);
      return response.json<ScoreResponse>();
    };
    const [u1, u2, u3] = [await score('u1'), await score('u2'), await score('u3')];
    expect(u1.features['amount_1h']).toMatchObject({ value: 1_100, status: 'fresh' });
    expect(u1.score).toBe(1);
    expect(u2.features['amount_1h']).toMatchObject({ value: 50, status: 'fresh' });
    expect(u2.score).toBe(0);
    expect(u3.fallbacks).toEqual([{ feature: 'amount_1h', reason: 'missing', value: 0 }]);
  } finally {
    await example.stream.stop();
    example.redis.disconnect();
  }
});
