import { describe, expect, it } from 'vitest';
import { MinHeap } from './heap.js';
import { PendingEvents } from './pending.js';
import { Random } from './random.js';

describe('MinHeap', () => {
  it('pops in comparator order', () => {
    const random = new Random(7);
    const values = Array.from({ length: 500 }, () => random.int(0, 100));
    const heap = new MinHeap<number>((a, b) => a - b);
    for (const v of values) heap.push(v);
    expect(heap.size).toBe(500);
    const popped = Array.from({ length: 500 }, () => heap.pop());
    expect(popped).toEqual([...values].sort((a, b) => a - b));
    expect(heap.pop()).toBeUndefined();
  });
});

describe('PendingEvents', () => {
  interface Event {
    readonly id: string;
    readonly at: number;
  }

  it('releases only events strictly before the bound, in time order, ties in insertion order', () => {
    const pending = new PendingEvents<Event>((e) => e.at);
    for (const [id, at] of [
      ['c', 30],
      ['a', 10],
      ['b1', 20],
      ['b2', 20],
      ['d', 40],
    ] as const)
      pending.push({ id, at });
    expect([...pending.drainBefore(30)].map((e) => e.id)).toEqual(['a', 'b1', 'b2']);
    expect(pending.size).toBe(2);
    expect([...pending.drainBefore(Infinity)].map((e) => e.id)).toEqual(['c', 'd']);
  });

  it('breaks ties with the given comparator before insertion order', () => {
    const pending = new PendingEvents<Event>(
      (e) => e.at,
      (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    for (const id of ['z', 'm', 'a']) pending.push({ id, at: 5 });
    expect([...pending.drainBefore(6)].map((e) => e.id)).toEqual(['a', 'm', 'z']);
  });
});
