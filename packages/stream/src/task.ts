import type { Redis } from 'ioredis';
import { eventTime, type EventTime } from '@rtml/features';
import type { CheckpointKeys } from './keys.js';
import type { KeyedProcessor } from './processor.js';

/** Committed position of a task: next offset to read, per input topic. */
export type TaskOffsets = Readonly<Record<string, string>>;

interface TaskMeta {
  readonly streamTime: number | null;
  readonly timers: Readonly<Record<string, number>>;
}

/**
 * In-memory image of what is committed in Redis for one partition number, plus a cache of entity
 * states read lazily. Discarded on every rebalance and on every rejected fence, then rebuilt from Redis.
 */
export class Task<S> {
  /** Topics whose consumer position has been checked against `offsets` since this image was loaded. */
  readonly positioned = new Set<string>();
  readonly entities = new Map<string, S>();

  constructor(
    readonly partition: number,
    readonly keys: CheckpointKeys,
    /** Raw fence value as committed (null: nothing committed yet); the CAS token of the next commit. */
    public fence: string | null,
    public offsets: TaskOffsets,
    /** Max event time seen by this task; the watermark is this minus the allowed lateness. */
    public streamTime: EventTime | undefined,
    /** Entities whose values change at a known future event time (window expiry). */
    public timers: Map<string, EventTime>,
  ) {}

  static async load<S>(redis: Redis, partition: number, keys: CheckpointKeys): Promise<Task<S>> {
    const [fence, metaJson] = await redis.mget(keys.offsets, keys.meta);
    const offsets = fence ? (JSON.parse(fence) as TaskOffsets) : {};
    const meta: TaskMeta = metaJson ? (JSON.parse(metaJson) as TaskMeta) : { streamTime: null, timers: {} };
    const timers = new Map(Object.entries(meta.timers).map(([id, at]) => [id, eventTime(at)] as const));
    return new Task<S>(partition, keys, fence ?? null, offsets, meta.streamTime === null ? undefined : eventTime(meta.streamTime), timers);
  }

  /** Fills the cache for `entityIds` with one MGET; entities never checkpointed start from the initial state. */
  async loadEntities(redis: Redis, processor: KeyedProcessor<S, unknown>, entityIds: Iterable<string>): Promise<void> {
    const missing = [...new Set(entityIds)].filter((id) => !this.entities.has(id));
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
    const now = this.streamTime;
    if (now === undefined) return [];
    return [...this.timers].filter(([, at]) => at <= now).map(([id]) => id);
  }

  metaSnapshot(): string {
    const meta: TaskMeta = { streamTime: this.streamTime ?? null, timers: Object.fromEntries(this.timers) };
    return JSON.stringify(meta);
  }
}

/** Canonical fence value: sorted keys, so equal positions always encode to the same string. */
export function encodeOffsets(offsets: TaskOffsets): string {
  return JSON.stringify(Object.fromEntries(Object.entries(offsets).sort(([a], [b]) => a.localeCompare(b))));
}
