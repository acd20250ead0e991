import type { FeatureVector } from '@rtml/features';
import type {
  Checkpoint,
  CheckpointKeys,
  CheckpointWrite,
  FieldWrite,
  WriteOptions,
  WriteResult,
} from '@rtml/online-store';
import type { CommitStore } from '../task.js';

interface StoredVector {
  readonly vector: FeatureVector;
  readonly version: number | undefined;
}

/**
 * The test driver's stand-in for Redis, with the online store's rules that exactly-once rests on: a vector is
 * written only if newer than the stored one (event time, then version; an unversioned one overwrites at an equal
 * event time), and a checkpoint applies only when its fence holds the expected value (states are read only as of
 * the caller's checkpoint). There are no replicas, so `awaitReplicas` has nothing to wait for.
 */
export class MemoryStore implements CommitStore {
  private readonly strings = new Map<string, string>();
  private readonly hashes = new Map<string, Map<string, string>>();
  /** By `featureSet\0entityId`. */
  private readonly latest = new Map<string, StoredVector>();

  writeBatch(vectors: readonly FeatureVector[], { version }: WriteOptions = {}): Promise<WriteResult> {
    let written = 0;
    for (const vector of vectors) {
      const id = `${vector.featureSet}\0${vector.entityId}`;
      const stored = this.latest.get(id);
      if (stored !== undefined && !newer(vector.eventTime, version, stored)) continue;
      // Through JSON, as Redis stores each value: what a test sees is what serving would read.
      this.latest.set(id, {
        vector: { ...vector, values: JSON.parse(JSON.stringify(vector.values)) as FeatureVector['values'] },
        version,
      });
      written += 1;
    }
    return Promise.resolve({ written, skippedOlder: vectors.length - written });
  }

  awaitReplicas(): Promise<'synced'> {
    return Promise.resolve('synced');
  }

  loadCheckpoint(keys: CheckpointKeys): Promise<Checkpoint> {
    return Promise.resolve({
      fence: this.strings.get(keys.fence) ?? null,
      meta: this.strings.get(keys.meta) ?? null,
      timers: Object.fromEntries(this.hash(keys.timers)),
    });
  }

  readStates(
    keys: CheckpointKeys,
    expected: string | null,
    entityIds: readonly string[],
  ): Promise<(string | null)[] | null> {
    if ((this.strings.get(keys.fence) ?? null) !== expected) return Promise.resolve(null);
    const states = this.hash(keys.states);
    return Promise.resolve(entityIds.map((id) => states.get(id) ?? null));
  }

  writeCheckpoint(keys: CheckpointKeys, write: CheckpointWrite): Promise<boolean> {
    if ((this.strings.get(keys.fence) ?? null) !== write.expected) return Promise.resolve(false);
    if (write.clear) {
      this.strings.delete(keys.meta);
      this.hashes.delete(keys.timers);
      this.hashes.delete(keys.states);
    }
    this.strings.set(keys.fence, write.next);
    if (write.meta !== undefined) this.strings.set(keys.meta, write.meta);
    applyFields(this.hash(keys.timers), write.timers);
    applyFields(this.hash(keys.states), write.states);
    return Promise.resolve(true);
  }

  /** Newest vectors of a feature set, by entity id. */
  vectors(featureSet: string): FeatureVector[] {
    return [...this.latest.values()]
      .map((stored) => stored.vector)
      .filter((vector) => vector.featureSet === featureSet)
      .sort((a, b) => (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0));
  }

  vector(featureSet: string, entityId: string): FeatureVector | undefined {
    return this.latest.get(`${featureSet}\0${entityId}`)?.vector;
  }

  /** Checkpoint keys present (fences, meta, timers and states hashes). */
  checkpointKeys(): string[] {
    return [...this.strings.keys(), ...[...this.hashes].filter(([, hash]) => hash.size > 0).map(([key]) => key)];
  }

  private hash(key: string): Map<string, string> {
    const hash = this.hashes.get(key) ?? new Map<string, string>();
    this.hashes.set(key, hash);
    return hash;
  }
}

/**
 * The online store's order: event time, then version (an unversioned write wins ties, a versioned one beats smaller or
 * none).
 */
function newer(eventTime: number, version: number | undefined, stored: StoredVector): boolean {
  if (eventTime !== stored.vector.eventTime) return eventTime > stored.vector.eventTime;
  return version === undefined || stored.version === undefined || version > stored.version;
}

function applyFields(hash: Map<string, string>, writes: readonly FieldWrite[] = []): void {
  for (const { field, value } of writes) {
    if (value === null) hash.delete(field);
    else hash.set(field, value);
  }
}
