import { execPipeline, primaries, routeKeys, type RedisClient } from './client.js';
import { assertKeySegment } from './keys.js';

/**
 * Deletes every key of a namespace, `rtml:{namespace}:*`: feature hashes and the stream processors' checkpoints
 * alike. Meant for runs and tests on a shared Redis, which must remove only what they created (never FLUSHALL).
 * SCAN + UNLINK, so a large namespace neither blocks Redis nor has to fit one reply; on a cluster, SCAN runs on
 * every primary and UNLINK per hash slot.
 */
export async function deleteNamespace(redis: RedisClient, namespace: string): Promise<void> {
  assertKeySegment('namespace', namespace);
  const match = `rtml:${namespace.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  for (const server of await primaries(redis)) {
    for await (const keys of server.scanStream({ match, count: 1_000 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await unlink(redis, keys);
    }
  }
}

async function unlink(redis: RedisClient, keys: readonly string[]): Promise<void> {
  const nodes = await routeKeys(redis, keys.length, (index) => keys[index]!);
  await Promise.all(
    nodes.map((units) => {
      const pipeline = redis.pipeline();
      for (const unit of units) pipeline.unlink(...unit.map((index) => keys[index]!));
      return execPipeline(pipeline);
    }),
  );
}
