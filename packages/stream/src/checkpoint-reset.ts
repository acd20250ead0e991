import type { Redis } from 'ioredis';
import type { OnlineStore } from '@rtml/online-store';
import { checkpointKeys, checkpointPrefix } from './keys.js';

/**
 * Fence value of a partition reset to "nothing applied yet": every input topic starts at its earliest retained
 * offset. Unlike an absent fence (which, with Kafka group offsets present, means the online store lost its
 * state), it says the reset was deliberate, so a crash during the replay just continues it.
 */
export const EMPTY_CHECKPOINT = '{}';

/** Escapes Redis glob characters, so a namespace or group is matched literally. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Every key matching `pattern` (SCAN, so Redis is never blocked). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Meta, timer shards and entity states of one partition (everything but its fence). */
export async function partitionCheckpointKeys(redis: Redis, namespace: string, group: string, partition: number): Promise<string[]> {
  const keys = checkpointKeys(namespace, group, partition);
  const prefix = globLiteral(checkpointPrefix(namespace, group));
  const [timers, states] = await Promise.all([scanKeys(redis, `${prefix}:timers:${partition}:*`), scanKeys(redis, `${prefix}:state:${partition}:*`)]);
  return [keys.meta, ...timers, ...states];
}

/**
 * Resets a partition's checkpoint to `EMPTY_CHECKPOINT`, deleting its meta, timers and entity states in the same
 * fenced call, so it applies only if the fence still holds `expectedFence` (no instance committed meanwhile).
 * The next owner then replays the partition from the earliest retained offset. False when the fence moved.
 */
export async function resetPartition(redis: Redis, store: OnlineStore, group: string, partition: number, expectedFence: string | null): Promise<boolean> {
  const stale = await partitionCheckpointKeys(redis, store.namespace, group, partition);
  const fence = { key: checkpointKeys(store.namespace, group, partition).offsets, expected: expectedFence, next: EMPTY_CHECKPOINT, sideWrites: stale.map((key) => ({ key, value: null })) };
  return (await store.writeBatch([], { fence })).applied;
}
