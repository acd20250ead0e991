import type { EventTime } from '@rtml/features';

/**
 * A task's event-time timers (entity -> when its value next changes without a new event).
 *
 * Two costs used to grow with the number of active entities on EVERY batch: scanning all timers for due ones,
 * and re-serialising all of them into the checkpoint. Here a min-heap finds due timers in O(due · log n), and
 * the persisted form is split into `shards` keys by entity hash, so a commit rewrites only the shards whose
 * timers changed (a batch touching k entities rewrites at most k of them), in the same fenced call as before.
 */
export class TimerIndex {
  private readonly byShard = new Map<number, Map<string, EventTime>>();
  /** [at, entity] entries; superseded entries stay until popped or rebuilt (lazy deletion). */
  private heap: [number, string][] = [];
  private readonly dirty = new Set<number>();
  private count = 0;

  constructor(readonly shards: number) {
    if (!Number.isInteger(shards) || shards < 1)
      throw new Error(`TimerIndex: shards must be a positive integer, got ${shards}`);
  }

  get size(): number {
    return this.count;
  }

  shardOf(entityId: string): number {
    // FNV-1a: stable across processes and versions (the shard is part of the persisted layout).
    let hash = 2166136261;
    for (let i = 0; i < entityId.length; i++) hash = Math.imul(hash ^ entityId.charCodeAt(i), 16777619);
    return (hash >>> 0) % this.shards;
  }

  get(entityId: string): EventTime | undefined {
    return this.byShard.get(this.shardOf(entityId))?.get(entityId);
  }

  /** Arms (or with `undefined` disarms) the entity's timer; marks its shard for the next checkpoint if it changed. */
  set(entityId: string, at: EventTime | undefined): void {
    const shard = this.shardOf(entityId);
    let timers = this.byShard.get(shard);
    const previous = timers?.get(entityId);
    if (previous === at) return;
    if (at === undefined) {
      timers!.delete(entityId);
      this.count -= 1;
    } else {
      if (!timers) this.byShard.set(shard, (timers = new Map<string, EventTime>()));
      if (previous === undefined) this.count += 1;
      timers.set(entityId, at);
      this.push([at, entityId]);
    }
    this.dirty.add(shard);
    if (this.heap.length > 2 * this.count + 1024) this.rebuildHeap();
  }

  /** Entities whose timer is at or before `time`, without removing them (the emit re-arms or disarms each). */
  dueBy(time: number): string[] {
    const due = new Set<string>();
    // Walk only the part of the heap at or before `time`: a node's children are never earlier than it.
    const stack = this.heap.length > 0 ? [0] : [];
    while (stack.length > 0) {
      const i = stack.pop()!;
      const [at, id] = this.heap[i]!;
      if (at > time) continue;
      if (this.get(id) === at) due.add(id);
      for (const child of [2 * i + 1, 2 * i + 2]) if (child < this.heap.length) stack.push(child);
    }
    this.dropStaleTop();
    return [...due];
  }

  /** Checkpoint values of the shards changed since the last call (an emptied shard is written as `{}`). */
  takeDirtyShards(): { shard: number; value: string }[] {
    const out = [...this.dirty].map((shard) => ({
      shard,
      value: JSON.stringify(Object.fromEntries(this.byShard.get(shard) ?? [])),
    }));
    this.dirty.clear();
    return out;
  }

  /**
   * Restores from checkpoint values (JSON `{entity: at}`, null = never written). With `rewriteAll` (values from
   * another layout) every shard is written at the next checkpoint, else nothing is dirty afterwards.
   */
  load(values: Iterable<string | null>, rewriteAll = false): void {
    for (const value of values) {
      if (!value) continue;
      for (const [id, at] of Object.entries(JSON.parse(value) as Record<string, number>)) this.set(id, at as EventTime);
    }
    this.dirty.clear();
    if (rewriteAll) for (let shard = 0; shard < this.shards; shard++) this.dirty.add(shard);
  }

  private push(entry: [number, string]): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (heap[parent]![0] <= entry[0]) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]![0] < heap[left]![0] ? right : left;
      if (heap[child]![0] >= last[0]) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }

  /** Superseded entries at the top would otherwise be revisited by every `dueBy`. */
  private dropStaleTop(): void {
    while (this.heap.length > 0) {
      const [at, id] = this.heap[0]!;
      if (this.get(id) === at) return;
      this.pop();
    }
  }

  private rebuildHeap(): void {
    this.heap = [];
    for (const timers of this.byShard.values()) for (const [id, at] of timers) this.push([at, id]);
  }
}
