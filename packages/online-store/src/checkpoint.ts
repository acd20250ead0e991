import calculateSlot from 'cluster-key-slot';
import { OnlineStoreError } from './errors.js';
import { featureKeyPrefix } from './keys.js';

/**
 * The four keys of one checkpoint (e.g. one stream partition's). They must share a hash slot (a `{…}` hash tag),
 * so every checkpoint call is one atomic script on a single Redis and on a Redis Cluster alike.
 */
export interface CheckpointKeys {
  /** String: the compare-and-set token (e.g. the committed offsets). */
  readonly fence: string;
  /** String: free-form metadata written with every checkpoint. */
  readonly meta: string;
  /** Hash: field -> value (e.g. timer shards). */
  readonly timers: string;
  /** Hash: entity -> state. */
  readonly states: string;
}

/** What `loadCheckpoint` reads, atomically. */
export interface Checkpoint {
  /** null: no checkpoint was ever written (or it was lost). */
  readonly fence: string | null;
  readonly meta: string | null;
  readonly timers: Readonly<Record<string, string>>;
}

/** A hash field to set, or (value null) to delete. */
export interface FieldWrite {
  readonly field: string;
  readonly value: string | null;
}

/** A checkpoint delta, applied only if the fence still holds `expected` (null = absent). */
export interface CheckpointWrite {
  readonly expected: string | null;
  readonly next: string;
  /** Replaces the meta key; absent leaves it (or, with `clear`, leaves none). */
  readonly meta?: string;
  /** Delete meta, timers and states first (a reset). */
  readonly clear?: boolean;
  /** Changed timer fields only. */
  readonly timers?: readonly FieldWrite[];
  /** Changed entity states only (null: the entity's state is empty and is deleted). */
  readonly states?: readonly FieldWrite[];
}

/** Checkpoint keys must lie outside the feature keyspace and in one hash slot. */
export function validateCheckpointKeys(keys: CheckpointKeys, namespace: string): void {
  const all = [keys.fence, keys.meta, keys.timers, keys.states];
  const reserved = featureKeyPrefix(namespace);
  for (const key of all) {
    if (typeof key !== 'string' || key.length === 0)
      throw new OnlineStoreError(`checkpoint key must be a non-empty string, got ${JSON.stringify(key)}`);
    if (key.startsWith(reserved))
      throw new OnlineStoreError(`checkpoint key "${key}" lies inside the feature keyspace "${reserved}*"`);
  }
  if (new Set(all).size !== all.length)
    throw new OnlineStoreError(`checkpoint keys must be distinct: ${all.join(', ')}`);
  if (new Set(all.map((key) => calculateSlot(key))).size !== 1)
    throw new OnlineStoreError(`checkpoint keys must share one hash slot (a {…} hash tag): ${all.join(', ')}`);
}

/** ARGV of the fence check the checkpoint scripts share. */
export function fenceArgs(expected: string | null): [string, string] {
  return expected === null ? ['0', ''] : ['1', expected];
}

/** ARGV of CHECKPOINT_WRITE_LUA after the fence check (layout in checkpoint-script.ts). */
export function checkpointWriteArgs(write: CheckpointWrite): string[] {
  const split = (writes: readonly FieldWrite[] = []) => ({
    sets: writes.filter((w) => w.value !== null).flatMap((w) => [w.field, w.value!]),
    deletes: writes.filter((w) => w.value === null).map((w) => w.field),
  });
  const timers = split(write.timers);
  const states = split(write.states);
  const counts = [timers.sets.length / 2, timers.deletes.length, states.sets.length / 2, states.deletes.length].map(
    String,
  );
  return [
    ...fenceArgs(write.expected),
    write.next,
    write.clear ? '1' : '0',
    write.meta ?? '',
    ...counts,
    ...timers.sets,
    ...timers.deletes,
    ...states.sets,
    ...states.deletes,
  ];
}

/** HGETALL's flat [field, value, ...] reply as an object. */
export function fromFlatHash(flat: readonly string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return hash;
}
