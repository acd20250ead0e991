import type { Redis } from 'ioredis';
import { execPipeline, primaries, routeKeys, withCurrentSlots, type RedisClient } from './client.js';
import { assertKeySegment, globLiteral } from './keys.js';

/**
 * Deletes every key of a namespace, `rtml:{namespace}:*`: feature hashes and the stream processors' checkpoints
 * alike. Meant for runs and tests on a shared Redis, which must remove only what they created (never FLUSHALL).
 * SCAN + UNLINK, so a large namespace neither blocks Redis nor has to fit one reply; on a cluster, SCAN runs on
 * every primary and UNLINK per hash slot.
 */
export async function deleteNamespace(redis: RedisClient, namespace: string): Promise<void> {
  assertKeySegment('namespace', namespace);
  await deleteMatching(redis, `rtml:${globLiteral(namespace)}:*`);
}

/** Deletes the keys matching `match` (those `select` picks from each scanned batch, if given); returns how many. */
export async function deleteMatching(
  redis: RedisClient,
  match: string,
  select?: (server: Redis, keys: string[]) => Promise<string[]>,
): Promise<number> {
  let deleted = 0;
  for (const server of await primaries(redis)) {
    for await (const keys of server.scanStream({ match, count: 1_000 }) as AsyncIterable<string[]>) {
      const doomed = select && keys.length > 0 ? await select(server, keys) : keys;
      if (doomed.length > 0) await unlink(redis, doomed);
      deleted += doomed.length;
    }
  }
  return deleted;
}

async function unlink(redis: RedisClient, keys: readonly string[]): Promise<void> {
  await withCurrentSlots(redis, async () => {
    const nodes = await routeKeys(redis, keys.length, (index) => keys[index]!);
    await Promise.all(
      nodes.map((units) => {
        const pipeline = redis.pipeline();
        for (const unit of units) pipeline.unlink(...unit.map((index) => keys[index]!));
        return execPipeline(pipeline);
      }),
    );
  });
}
