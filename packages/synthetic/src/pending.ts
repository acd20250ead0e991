import { MinHeap } from './heap.js';

interface Entry<T> {
  readonly event: T;
  readonly seq: number;
}

/**
 * Events generated ahead of the time being emitted (a click two minutes after its view, a chargeback weeks after
 * its purchase), released in event-time order once nothing earlier can still be generated. This is what lets a
 * generator stream millions of events while holding only the ones still pending.
 * Ties go by `tieBreak`, then by insertion order, so the output is deterministic for a seed.
 */
export class PendingEvents<T> {
  private readonly heap: MinHeap<Entry<T>>;
  private sequence = 0;

  constructor(
    private readonly timeOf: (event: T) => number,
    tieBreak: (a: T, b: T) => number = () => 0,
  ) {
    this.heap = new MinHeap((a, b) => timeOf(a.event) - timeOf(b.event) || tieBreak(a.event, b.event) || a.seq - b.seq);
  }

  get size(): number {
    return this.heap.size;
  }

  push(event: T): void {
    this.heap.push({ event, seq: this.sequence++ });
  }

  /** Every pending event strictly before `until`, earliest first: the caller generates nothing earlier any more. */
  *drainBefore(until: number): Generator<T> {
    while (this.heap.size > 0 && this.timeOf(this.heap.peek()!.event) < until) yield this.heap.pop()!.event;
  }
}
