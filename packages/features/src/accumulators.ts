import { compareEventKeys } from './order.js';
import type { Scalar } from './packed.js';
import type { Aggregate } from './definition.js';
import type { FeatureValue } from './vector.js';

/** Plain data, so states survive JSON checkpoints. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * One aggregation as a commutative fold: `add` in any order gives the same result (up to float summation
 * order), which is what makes late events exact for lifetime windows. Sliding windows fold the retained
 * events of the window in (eventTime, eventId) order on read.
 */
export interface Accumulator<A extends Json> {
  init(): A;
  /** May mutate `acc`; returns the new accumulator. `value` is null when the event's field is null. */
  add(acc: A, time: number, id: string, value: Scalar | null): A;
  /** null = missing (the caller applies the feature's default). */
  result(acc: A): FeatureValue;
}

const countAcc: Accumulator<number> = {
  init: () => 0,
  add: (n) => n + 1,
  result: (n) => n,
};

/** [sum, number of non-null values]. */
type SumState = [number, number];
const sumAcc: Accumulator<SumState> = {
  init: () => [0, 0],
  add: (acc, _t, _id, v) => {
    if (v !== null) {
      acc[0] += v as number;
      acc[1] += 1;
    }
    return acc;
  },
  result: ([s, n]) => (n === 0 ? null : s),
};
const meanAcc: Accumulator<SumState> = { ...sumAcc, result: ([s, n]) => (n === 0 ? null : s / n) };

function extremum(pick: (a: number, b: number) => number): Accumulator<number | null> {
  return {
    init: () => null,
    add: (acc, _t, _id, v) => (v === null ? acc : acc === null ? (v as number) : pick(acc, v as number)),
    result: (acc) => acc,
  };
}

/** The set as object keys (JSON-friendly, O(1) lookups) plus its size. */
type DistinctState = { n: number; seen: Record<string, 1> };
const distinctAcc: Accumulator<DistinctState> = {
  init: () => ({ n: 0, seen: {} }),
  add: (acc, _t, _id, v) => {
    if (v === null) return acc;
    const key = String(v);
    if (acc.seen[key] === undefined) {
      acc.seen[key] = 1;
      acc.n += 1;
    }
    return acc;
  },
  result: (acc) => acc.n,
};

/**
 * The k greatest (eventTime, eventId) non-null values, newest first, as ONE flat array [t0, id0, v0, t1, id1, v1, ...]
 * (one array per entity instead of one per entry). `last` is the same fold with k = 1.
 */
type Latest = Scalar[];
function latestAcc(k: number, result: (acc: Latest) => FeatureValue): Accumulator<Latest> {
  return {
    init: () => [],
    add: (acc, t, id, v) => {
      if (v === null) return acc;
      let at = acc.length / 3;
      while (at > 0 && compareEventKeys(acc[(at - 1) * 3] as number, acc[(at - 1) * 3 + 1] as string, t, id) < 0) at--;
      if (at >= k) return acc;
      if (acc.length === 3 * k) acc.length = 3 * (k - 1);
      acc.splice(at * 3, 0, t, id, v);
      return acc;
    },
    result,
  };
}
const lastAcc = latestAcc(1, (acc) => (acc.length === 0 ? null : (acc[2] as Scalar)));
const lastKAcc = (k: number) =>
  latestAcc(k, (acc) => (acc.length === 0 ? null : (acc.filter((_, i) => i % 3 === 2) as string[] | number[])));

function erase<A extends Json>(acc: Accumulator<A>): Accumulator<Json> {
  return acc;
}

export function accumulatorFor(spec: Aggregate): Accumulator<Json> {
  switch (spec.kind) {
    case 'count':
      return erase(countAcc);
    case 'sum':
      return erase(sumAcc);
    case 'mean':
      return erase(meanAcc);
    case 'min':
      return erase(extremum(Math.min));
    case 'max':
      return erase(extremum(Math.max));
    case 'last':
      return erase(lastAcc);
    case 'distinctCount':
      return erase(distinctAcc);
    case 'lastK':
      return erase(lastKAcc(spec.k ?? 1));
  }
}
