import type { FeatureVector } from '@rtml/features';
import type { Fence } from '@rtml/online-store';
import type { CheckpointReader } from '../task.js';

/**
 * The test driver's stand-in for Redis: checkpoint keys plus the newest vector per entity, with the rules of
 * `OnlineStore.writeBatch` (its Lua script) that exactly-once rests on: a fence that does not match writes nothing;
 * otherwise every vector is written unless an older event time would replace a newer one (also within the batch),
 * then the fence and the side writes (null deletes the key).
 */
export class MemoryStore implements CheckpointReader {
  private readonly keys = new Map<string, string>();
  /** By `featureSet\0entityId`. */
  private readonly latest = new Map<string, FeatureVector>();

  mget(...keys: string[]): Promise<(string | null)[]> {
    return Promise.resolve(keys.map((key) => this.keys.get(key) ?? null));
  }

  writeBatch(vectors: readonly FeatureVector[], { fence }: { readonly fence: Fence }): Promise<{ applied: boolean; written: number; skippedOlder: number }> {
    if ((this.keys.get(fence.key) ?? null) !== fence.expected) return Promise.resolve({ applied: false, written: 0, skippedOlder: 0 });
    let written = 0;
    for (const vector of vectors) {
      const id = `${vector.featureSet}\0${vector.entityId}`;
      const stored = this.latest.get(id);
      if (stored !== undefined && vector.eventTime < stored.eventTime) continue;
      // Through JSON, as Redis stores each value: what a test sees is what serving would read.
      this.latest.set(id, { ...vector, values: JSON.parse(JSON.stringify(vector.values)) as FeatureVector['values'] });
      written += 1;
    }
    this.keys.set(fence.key, fence.next);
    for (const { key, value } of fence.sideWrites) {
      if (value === null) this.keys.delete(key);
      else this.keys.set(key, value);
    }
    return Promise.resolve({ applied: true, written, skippedOlder: vectors.length - written });
  }

  /** Newest vectors of a feature set, by entity id. */
  vectors(featureSet: string): FeatureVector[] {
    return [...this.latest.values()].filter((vector) => vector.featureSet === featureSet).sort((a, b) => (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0));
  }

  vector(featureSet: string, entityId: string): FeatureVector | undefined {
    return this.latest.get(`${featureSet}\0${entityId}`);
  }

  /** Checkpoint keys present (fences, meta, timer shards, state snapshots). */
  checkpointKeys(): string[] {
    return [...this.keys.keys()];
  }
}
