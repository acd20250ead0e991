import { eventTime, type EventTime } from '@rtml/features';
import type { CheckpointKeys, CheckpointWrite, FieldWrite, OnlineStore } from '@rtml/online-store';
import type { KeyedProcessor } from './processor.js';
import { TimerIndex } from './timers.js';

/**
 * What the runtime needs of the online store: versioned vector writes, replica acknowledgement, and the fenced
 * checkpoint calls. `OnlineStore` in the runtime, `MemoryStore` in the test driver.
 */
export type CommitStore = Pick<
  OnlineStore,
  'writeBatch' | 'awaitReplicas' | 'loadCheckpoint' | 'readStates' | 'writeCheckpoint'
>;

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
  readonly streamTimeFrom?: StreamTimeSource;
  /** Shard count of the `timers` hash fields. */
  readonly timerShards: number;
}

/** Another instance checkpointed this partition since this task was loaded: its image is stale. */
export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
}

/**
 * In-memory image of one partition number: the last checkpoint in Redis (`fence`) and the position processed since
 * (`offsets`, ahead of it between checkpoints), plus a cache of entity states read lazily. Discarded on every
 * rebalance and rejected checkpoint, then rebuilt from the checkpoint and the replay of the offsets after it.
 * The cache is an LRU (Map insertion order = recency); entities changed since the last checkpoint (`dirty`) are
 * only in memory, so they are never evicted.
 */
export class Task<S> {
  /** Per topic, the offset this image last asked the consumer to seek to (see `batchPosition`). */
  readonly lastSeek = new Map<string, bigint>();
  readonly entities = new Map<string, S>();
  /** Entities whose state changed since the last checkpoint. */
  readonly dirty = new Set<string>();
  /** Redis nodes that received vector writes since the last checkpoint (each must reach a replica before the next). */
  readonly writtenNodes = new Set<string>();
  batchesSinceCheckpoint = 0;
  lastCheckpointAt = Date.now();
  /** Timer hash fields to delete at the next checkpoint (left by another shard count). */
  private staleTimerFields: string[] = [];

  constructor(
    readonly partition: number,
    readonly keys: CheckpointKeys,
    /** Raw fence value of the last checkpoint (null: none yet); the CAS token of the next one. */
    public fence: string | null,
    /** Next offset to process per topic: the checkpoint's, plus every batch processed since. */
    public offsets: TaskOffsets,
    /** Max event time seen by this task; the watermark is this minus the allowed lateness. */
    public streamTime: EventTime | undefined,
    public streamTimeFrom: StreamTimeSource | undefined,
    /** Entities whose values change at a known future event time (window expiry). */
    readonly timers: TimerIndex,
  ) {}

  static async load<S>(store: CommitStore, partition: number, keys: CheckpointKeys): Promise<Task<S>> {
    const checkpoint = await store.loadCheckpoint(keys);
    const offsets = checkpoint.fence ? (JSON.parse(checkpoint.fence) as TaskOffsets) : {};
    const meta: Partial<TaskMeta> = checkpoint.meta ? (JSON.parse(checkpoint.meta) as TaskMeta) : {};
    const timers = new TimerIndex(TIMER_SHARDS);
    const reshard = meta.timerShards !== undefined && meta.timerShards !== TIMER_SHARDS;
    timers.load(Object.values(checkpoint.timers), reshard);
    const streamTime =
      meta.streamTime === null || meta.streamTime === undefined ? undefined : eventTime(meta.streamTime);
    const task = new Task<S>(partition, keys, checkpoint.fence, offsets, streamTime, meta.streamTimeFrom, timers);
    if (reshard)
      task.staleTimerFields = Object.keys(checkpoint.timers).filter((field) => Number(field) >= TIMER_SHARDS);
    return task;
  }

  /**
   * Fills the cache for `entityIds` with one read of the states stored with this task's checkpoint (entities without
   * one start from the initial state) and marks them most recently used. Throws CheckpointMovedError when another
   * instance checkpointed since: its states may be ahead of this image.
   */
  async loadEntities(
    store: CommitStore,
    processor: KeyedProcessor<S, unknown>,
    entityIds: Iterable<string>,
  ): Promise<void> {
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
    const states = await store.readStates(this.keys, this.fence, missing);
    if (states === null)
      throw new CheckpointMovedError(`partition ${this.partition}: another instance checkpointed it`);
    missing.forEach((id, i) => {
      const state = states[i];
      this.entities.set(id, state ? (JSON.parse(state) as S) : processor.initialState());
    });
  }

  watermark(allowedLatenessMs: number): EventTime | undefined {
    return this.streamTime === undefined ? undefined : eventTime(this.streamTime - allowedLatenessMs);
  }

  /** Entities whose timer is due at the current stream time. */
  dueTimers(): string[] {
    return this.streamTime === undefined ? [] : this.timers.dueBy(this.streamTime);
  }

  /**
   * Version of the vectors written at the current position: the sum of the next offsets over the task's topics. It
   * grows with every batch, and equal positions (a replay) give equal versions and equal vectors, since processing is
   * deterministic in offset order.
   */
  version(): number {
    return Object.values(this.offsets).reduce((sum, offset) => sum + Number(offset), 0);
  }

  /** True when something was processed since the last checkpoint. */
  aheadOfCheckpoint(): boolean {
    return Object.keys(this.offsets).length > 0 && this.fence !== encodeOffsets(this.offsets);
  }

  /** The delta since the last checkpoint: position, meta, changed timer shards and dirty entity states. */
  checkpointWrite(processor: KeyedProcessor<S, unknown>): CheckpointWrite {
    const from = this.streamTimeFrom && { topic: this.streamTimeFrom.topic, offset: this.streamTimeFrom.offset };
    const meta: TaskMeta = {
      streamTime: this.streamTime ?? null,
      ...(from && { streamTimeFrom: from }),
      timerShards: this.timers.shards,
    };
    const timers: FieldWrite[] = this.timers
      .takeDirtyShards()
      .map(({ shard, value }) => ({ field: String(shard), value }));
    timers.push(...this.staleTimerFields.map((field) => ({ field, value: null })));
    const states = [...this.dirty].map((id): FieldWrite => {
      const state = this.entities.get(id)!;
      return { field: id, value: processor.isEmpty?.(state) ? null : JSON.stringify(state) };
    });
    return { expected: this.fence, next: encodeOffsets(this.offsets), meta: JSON.stringify(meta), timers, states };
  }

  /** After a checkpoint `write` was applied: it is the new base. */
  checkpointed(write: CheckpointWrite): void {
    this.fence = write.next;
    this.dirty.clear();
    this.writtenNodes.clear();
    this.staleTimerFields = [];
    this.batchesSinceCheckpoint = 0;
    this.lastCheckpointAt = Date.now();
  }

  /** Drops the least recently used clean entity states beyond `maxEntities` (dirty ones exist only here). */
  evictBeyond(maxEntities: number): void {
    let excess = this.entities.size - maxEntities;
    for (const id of this.entities.keys()) {
      if (excess <= 0) return;
      if (this.dirty.has(id)) continue;
      this.entities.delete(id);
      excess--;
    }
  }
}

/** Canonical fence value: sorted keys, so equal positions always encode to the same string. */
export function encodeOffsets(offsets: TaskOffsets): string {
  return JSON.stringify(Object.fromEntries(Object.entries(offsets).sort(([a], [b]) => a.localeCompare(b))));
}
