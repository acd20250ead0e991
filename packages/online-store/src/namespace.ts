import type { Redis } from 'ioredis';
import { assertKeySegment } from './keys.js';

/**
 * Deletes every key of a namespace, `rtml:{namespace}:*`: feature hashes and the stream processors' checkpoints
 * alike. Meant for runs and tests on a shared Redis, which must remove only what they created (never FLUSHALL).
 * SCAN + UNLINK, so a large namespace neither blocks Redis nor has to fit one reply.
 */
export async function deleteNamespace(redis: Redis, namespace: string): Promise<void> {
  assertKeySegment('namespace', namespace);
  const match = `rtml:${namespace.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  for await (const keys of redis.scanStream({ match, count: 1_000 }) as AsyncIterable<string[]>) {
    if (keys.length > 0) await redis.unlink(...keys);
  }
}
