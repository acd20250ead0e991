/*
 * Storage helpers for per-entity state: millions of entities each hold a few small arrays and strings, so fixed
 * per-array and per-string overheads, not the data, decide the heap (packages/features/README.md, "Memory").
 */

/** One field value of an event, as per-entity state holds it. */
export type Scalar = string | number | boolean;

/** Arrays shorter than this are kept at their exact size (see insertExact). */
const EXACT_BELOW = 64;

/**
 * Inserts `items` at `index`; returns the array (a new one for small arrays). V8 grows an array that is pushed or
 * spliced into by 1.5x + 16 slots: for the few events one entity typically holds, those 16 slots outweigh the data
 * (and are paid per entity), so small arrays are copied at their exact size instead. Larger ones grow in place:
 * an exact copy per event would cost O(n) time, and their slack is at most half the data.
 */
export function insertExact<T>(array: T[], index: number, items: readonly T[]): T[] {
  if (array.length < EXACT_BELOW) return array.toSpliced(index, 0, ...items);
  if (index === array.length) for (const item of items) array.push(item);
  else array.splice(index, 0, ...items);
  return array;
}

/** Removes the first `count` items; the counterpart of `insertExact` (a small remainder is copied exact-size). */
export function removeFront<T>(array: T[], count: number): T[] {
  if (array.length - count < EXACT_BELOW) return array.slice(count);
  array.splice(0, count);
  return array;
}

/**
 * Returns one shared copy of each distinct string, so a value repeated across entities (a merchant id) is stored
 * once rather than once per event. Bounded: when `limit` strings are pooled the pool starts over (values already
 * in states keep their copy), so a high-cardinality field costs at most `limit` pooled strings, never a leak.
 */
export function createInterner(limit = 65_536): (value: Scalar | null) => Scalar | null {
  let pool = new Map<string, string>();
  return (value) => {
    if (typeof value !== 'string') return value;
    const known = pool.get(value);
    if (known !== undefined) return known;
    if (pool.size >= limit) pool = new Map();
    pool.set(value, value);
    return value;
  };
}
