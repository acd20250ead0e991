import { afterAll, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { checkpointKeys } from './keys.js';
import { Task, TIMER_SHARDS } from './task.js';
import { uniqueName } from './testing/harness.js';

const redis = new Redis(inject('redisUrl'));
afterAll(() => redis.disconnect());

it('reads a checkpoint written before timers were sharded and rewrites every shard at the next commit', async () => {
  const keys = checkpointKeys(uniqueName('task'), 'g', 0);
  await redis.mset(keys.offsets, '{"t":"42"}', keys.meta, JSON.stringify({ streamTime: 1_000, timers: { a: 1_500, b: 900 } }));
  const task = await Task.load(redis, 0, keys);
  expect(task.offsets).toEqual({ t: '42' });
  expect(task.streamTime).toBe(1_000);
  expect(task.dueTimers()).toEqual(['b']);
  const writes = task.checkpointWrites();
  expect(writes[0]).toEqual({ key: keys.meta, value: JSON.stringify({ streamTime: 1_000, timerShards: TIMER_SHARDS }) });
  expect(writes.length).toBe(1 + TIMER_SHARDS);
  // Written back, the sharded form loads to the same timers and nothing left to rewrite.
  await redis.mset(...writes.flatMap((w) => [w.key, w.value]));
  const reloaded = await Task.load(redis, 0, keys);
  expect([reloaded.timers.get('a'), reloaded.timers.get('b')]).toEqual([1_500, 900]);
  expect(reloaded.checkpointWrites().length).toBe(1);
  await redis.del(keys.offsets, ...writes.map((w) => w.key));
});
