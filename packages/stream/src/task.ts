import { eventTime, type EventTime } from '@rtml/features';
import type { CheckpointKeys } from './keys.js';
import type { KeyedProcessor } from './processor.js';
import { TimerIndex } from './timers.js';

/**
 * Where a task's checkpoint is read from: Redis (ioredis' `mget`) in the runtime, an in-memory map in the test
 * driver. One call per read, so fence, meta and shards come from the same commit.
 */
export interface CheckpointReader {
  mget(...keys: string[]): Promise<(string | null)[]>;
}

/** Persisted timer shards per task; changing it re-shards on load (the meta records the count it was written with). */
export const TIMER_SHARDS = 256;

/** Committed position of a task: next offset to read, per input topic. */
export type TaskOffsets = Readonly<Record<string, string>>;

/** The record whose event time is the task's stream time: named in `late` dead letters, so they can be explained. */
export interface StreamTimeSource {
  readonly topic: string;
  readonly offset: string;
}

interface TaskMeta {
  readonly streamTime: number | null;
  /** Absent in checkpoints written before it was recorded. */
  readonly streamTimeFrom?: StreamTimeSource;
  /** Shard count of the `timers:{p}:{shard}` keys; absent in checkpoints written before timers were sharded. */
  readonly timerShards?: number;
  /** Checkpoints written before sharding kept every timer here; read once and migrated to shards. */
  readonly timers?: Readonly<Record<string, number>>;
}

/**
 * In-memory image of what is committed in Redis for one partition number, plus a cache of entity
 * states read lazily. Discarded on every rebalance and on every rejected fence, then rebuilt from Redis.
 * The cache is an LRU (Map insertion order = recency): after a commit, everything in it is also in Redis,
 * so evicting the least recently used entities beyond the bound loses nothing.
 */
export class Task<S> {
  /** Per topic, the offset this image last asked the consumer to seek to (see `batchPosition`). */
  readonly lastSeek = new Map<string, bigint>();
  readonly entities = new Map<string, S>();

  constructor(
    readonly partition: number,
    readonly keys: CheckpointKeys,
    /** Raw fence value as committed (null: nothing committed yet); the CAS token of the next commit. */
    public fence: string | null,
    public offsets: TaskOffsets,
    /** Max event time seen by this task; the watermark is this minus the allowed lateness. */
    public streamTime: EventTime | undefined,
    public streamTimeFrom: StreamTimeSource | undefined,
    /** Entities whose values change at a known future event time (window expiry). */
    readonly timers: TimerIndex,
  ) {}

  static async load<S>(redis: CheckpointReader, partition: number, keys: CheckpointKeys): Promise<Task<S>> {
    // One MGET (atomic) so fence, meta and shards come from the same commit.
    const shardKeys = Array.from({ length: TIMER_SHARDS }, (_, shard) => keys.timers(shard));
    const [fence, metaJson, ...shards] = await redis.mget(keys.offsets, keys.meta, ...shardKeys);
    const offsets = fence ? (JSON.parse(fence) as TaskOffsets) : {};
    const meta: TaskMeta = metaJson ? (JSON.parse(metaJson) as TaskMeta) : { streamTime: null };
    const timers = new TimerIndex(TIMER_SHARDS);
    if (meta.timers !== undefined) timers.load([JSON.stringify(meta.timers)], true);
    else if (meta.timerShards !== undefined && meta.timerShards !== TIMER_SHARDS) {
      const written = await redis.mget(...Array.from({ length: meta.timerShards }, (_, shard) => keys.timers(shard)));
      timers.load(written, true);
    } else timers.load(shards);
    const streamTime = meta.streamTime === null ? undefined : eventTime(meta.streamTime);
    return new Task<S>(partition, keys, fence ?? null, offsets, streamTime, meta.streamTimeFrom, timers);
  }

  /**
   * Fills the cache for `entityIds` with one MGET (entities never checkpointed start from the initial state)
   * and marks them most recently used.
   */
  async loadEntities(redis: CheckpointReader, processor: KeyedProcessor<S, unknown>, entityIds: Iterable<string>): Promise<void> {
    const missing: string[] = [];
    for (const id of new Set(entityIds)) {
      const cached = this.entities.get(id);
      if (cached === undefined) missing.push(id);
      else {
        this.entities.delete(id);
        this.entities.set(id, cached);
      }
    }
    if (missing.length === 0) return;
    const snapshots = await redis.mget(...missing.map((id) => this.keys.state(id)));
    missing.forEach((id, i) => {
      const snapshot = snapshots[i];
      this.entities.set(id, snapshot ? (JSON.parse(snapshot) as S) : processor.initialState());
    });
  }

  watermark(allowedLatenessMs: number): EventTime | undefined {
    return this.streamTime === undefined ? undefined : eventTime(this.streamTime - allowedLatenessMs);
  }

  /** Entities whose timer is due at the current stream time. */
  dueTimers(): string[] {
    return this.streamTime === undefined ? [] : this.timers.dueBy(this.streamTime);
  }

  /** Side writes of the task's meta and of the timer shards changed since the last checkpoint. */
  checkpointWrites(): { key: string; value: string }[] {
    const from = this.streamTimeFrom && { topic: this.streamTimeFrom.topic, offset: this.streamTimeFrom.offset };
    const meta: TaskMeta = { streamTime: this.streamTime ?? null, ...(from && { streamTimeFrom: from }), timerShards: this.timers.shards };
    return [{ key: this.keys.meta, value: JSON.stringify(meta) }, ...this.timers.takeDirtyShards().map(({ shard, value }) => ({ key: this.keys.timers(shard), value }))];
  }

  /** Drops the least recently used entity states beyond `maxEntities`. Only call with everything committed. */
  evictBeyond(maxEntities: number): void {
    for (const id of this.entities.keys()) {
      if (this.entities.size <= maxEntities) return;
      this.entities.delete(id);
    }
  }
}

/** Canonical fence value: sorted keys, so equal positions always encode to the same string. */
export function encodeOffsets(offsets: TaskOffsets): string {
  return JSON.stringify(Object.fromEntries(Object.entries(offsets).sort(([a], [b]) => a.localeCompare(b))));
}
