import { inject, expect, it } from 'vitest';
import { Redis } from 'ioredis';

it('round-trips a hash through the real Redis server', async () => {
  const redis = new Redis(inject('redisUrl'));
  await redis.hset('devstack:test', { a: '1', b: 'two' });
  await redis.pexpire('devstack:test', 60_000);
  expect(await redis.hgetall('devstack:test')).toEqual({ a: '1', b: 'two' });
  expect(await redis.pttl('devstack:test')).toBeGreaterThan(0);
  await redis.quit();
});
