import type { RedisClient } from './client.js';
import { OnlineStoreError } from './errors.js';
import { featureKeyPrefix } from './keys.js';

/**
 * Compare-and-set guard committed in the same atomic script as a batch of vector writes.
 * If `GET key` differs from `expected` (null = key absent), nothing at all is written.
 * Otherwise the vectors are written, `key` is set to `next`, and every side write is SET (or deleted when its
 * value is null). The stream processor uses key = its partition's committed offset and side writes for state
 * snapshots, so offsets, state and feature values commit together or not at all.
 */
export interface Fence {
  readonly key: string;
  readonly expected: string | null;
  readonly next: string;
  readonly sideWrites: readonly SideWrite[];
}

/** A key written (or, with `value: null`, deleted) in the same atomic call as a fenced batch. */
export interface SideWrite {
  readonly key: string;
  readonly value: string | null;
}

/** Current value of a fence key (or of a side-write key); null when absent. */
export async function readFence(redis: RedisClient, key: string): Promise<string | null> {
  assertNonEmptyKey('fence key', key);
  return redis.get(key);
}

function assertNonEmptyKey(kind: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new OnlineStoreError(`${kind} must be a non-empty string, got ${JSON.stringify(key)}`);
}

/** Rejects malformed fences and keys that would clobber a feature hash of this namespace. */
export function validateFence(fence: Fence, namespace: string): void {
  const reserved = featureKeyPrefix(namespace);
  const keys = [fence.key, ...fence.sideWrites.map((write) => write.key)];
  keys.forEach((key, index) => {
    assertNonEmptyKey(index === 0 ? 'fence key' : 'side-write key', key);
    if (key.startsWith(reserved)) throw new OnlineStoreError(`fence/side-write key "${key}" lies inside the feature keyspace "${reserved}*"`);
  });
  if (new Set(keys).size !== keys.length) throw new OnlineStoreError(`fence and side-write keys must be distinct: ${keys.join(', ')}`);
  if (fence.expected !== null && typeof fence.expected !== 'string') throw new OnlineStoreError('fence.expected must be a string or null');
  if (typeof fence.next !== 'string') throw new OnlineStoreError('fence.next must be a string');
  for (const write of fence.sideWrites) {
    if (typeof write.value !== 'string' && write.value !== null) throw new OnlineStoreError(`side write "${write.key}" must have a string value, or null to delete the key`);
  }
}
