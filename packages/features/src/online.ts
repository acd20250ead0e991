import { inspect } from 'node:util';
import { accumulatorFor, type Accumulator, type Json } from './accumulators.js';
import type { SourceEvent } from './definition.js';
import type { AggregateFeature, FeatureSet } from './feature-set.js';
import { compareEventKeys } from './order.js';
import { createInterner, insertExact, removeFront, type Scalar } from './packed.js';
import { eventTime, type EventTime } from './time.js';
import type { FeatureValue, FeatureValues, FeatureVector } from './vector.js';

/** Layout version of `OnlineState`; a snapshot in another layout is upgraded (version 1) or rejected. */
const STATE_VERSION = 2;

/**
 * The state of ONE entity (key it by `engine.entityKey(event)`). Plain JSON data, for checkpoints and Redis.
 * `apply` and `compact` update it in place and return it: clone it first if you need the old one.
 *
 * The retained events are packed row-major into two flat arrays rather than one small array per event: V8
 * stores an all-number array unboxed (8 B a number) and a flat array has one header instead of one per event,
 * which at millions of entities is most of the heap (see packages/features/README.md, "Memory").
 */
export interface OnlineState {
  /** Layout version (2). */
  v: typeof STATE_VERSION;
  /**
   * Per retained event, in (eventTime, eventId) order: [eventTime, ...numeric fields sliding features read].
   * A null field is NaN in memory (keeps the array unboxed) and null after a JSON round trip; both read as null.
   */
  nums: (number | null)[];
  /** Per retained event, same order: [eventId, ...string and boolean fields sliding features read]. */
  refs: (Scalar | null)[];
  /** Running accumulators of the lifetime features, by feature name. */
  lifetime: Record<string, Json>;
}

export type ParseResult<E> = { readonly ok: true; readonly event: E } | { readonly ok: false; readonly reason: string };

export interface OnlineEngine<E extends SourceEvent> {
  readonly featureSet: FeatureSet<E>;
  /** Validates and normalises a raw event (zod); never throws. */
  parse(raw: unknown): ParseResult<E>;
  entityKey(event: E): string;
  initialState(): OnlineState;
  /** Any arrival order gives the same state (exact for sliding windows; lifetime sums up to float rounding). */
  apply(state: OnlineState, event: E): OnlineState;
  /** Aggregate values as of `asOf`. Sliding windows count events in (asOf - size, asOf]; lifetime ones count every applied event. */
  read(state: OnlineState, entityId: string, asOf: EventTime): FeatureVector;
  /** The first time after `after` at which a sliding value changes without a new event (an event leaving a window). */
  nextChange(state: OnlineState, after: EventTime): EventTime | undefined;
  /** Drops retained events no read at or after `watermark` can see and no redelivery can match (events older than the watermark must not arrive any more). */
  compact(state: OnlineState, watermark: EventTime): OnlineState;
  /** True when the state holds nothing: the entity's key can be deleted. */
  isEmpty(state: OnlineState): boolean;
  /** The full model input: aggregate values + request-time features + transforms. */
  serving(vector: FeatureVector, requestEvent: E): FeatureValues;
}

interface Planned {
  readonly feature: AggregateFeature;
  readonly accumulator: Accumulator<Json>;
  /** Where a sliding feature's field sits in a retained row: `nums` or `refs`, at this offset; undefined for count and lifetime. */
  readonly column: { readonly numeric: boolean; readonly offset: number } | undefined;
}

/** Version-1 layout (one `[eventTime, eventId, ...fields]` array per retained event, `lastK` as `[t, id, v]` entries). */
interface StateV1 {
  events: [number, string, ...(Scalar | null)[]][];
  lifetime: Record<string, Json>;
}

export function createOnlineEngine<E extends SourceEvent>(set: FeatureSet<E>): OnlineEngine<E> {
  // Each field is retained once per event, however many sliding features (of any window) read it.
  const slidingFields = [...new Set(set.aggregates.flatMap((f) => (f.spec.window.kind === 'sliding' && f.spec.kind !== 'count' ? [f.spec.field] : [])))];
  const numericFields = slidingFields.filter((field) => set.source.fieldTypes[field] === 'number');
  const refFields = slidingFields.filter((field) => set.source.fieldTypes[field] !== 'number');
  const numericFieldsRead = [...new Set(set.aggregates.flatMap((f) => (f.spec.kind !== 'count' && set.source.fieldTypes[f.spec.field] === 'number' ? [f.spec.field] : [])))];
  const numStride = 1 + numericFields.length;
  const refStride = 1 + refFields.length;
  const plan = (feature: AggregateFeature): Planned => {
    const spec = feature.spec;
    if (spec.kind === 'count' || spec.window.kind === 'lifetime') return { feature, accumulator: accumulatorFor(spec), column: undefined };
    const numeric = numericFields.includes(spec.field);
    return { feature, accumulator: accumulatorFor(spec), column: { numeric, offset: 1 + (numeric ? numericFields : refFields).indexOf(spec.field) } };
  };
  const sliding = set.aggregates.filter((f) => f.spec.window.kind === 'sliding').map(plan);
  const lifetime = set.aggregates.filter((f) => f.spec.window.kind === 'lifetime').map(plan);
  const windowSizes = [...new Set(sliding.map((p) => windowSize(p.feature)))];
  const longestWindow = Math.max(0, ...windowSizes);
  // Categorical values (merchant ids, ...) repeat across entities: keep one copy of each (event ids are unique: not interned).
  const intern = createInterner();
  const fieldOf = (event: E, field: string): Scalar | null => intern((event as unknown as Record<string, Scalar | null | undefined>)[field] ?? null);
  const initialState = (): OnlineState => ({
    v: STATE_VERSION,
    nums: [],
    refs: [],
    lifetime: Object.fromEntries(lifetime.map((p) => [p.feature.name, p.accumulator.init()])),
  });
  const emptyLifetime = JSON.stringify(initialState().lifetime);

  const rows = (state: OnlineState): number => state.nums.length / numStride;
  const timeAt = (state: OnlineState, row: number): number => state.nums[row * numStride] as number;
  const idAt = (state: OnlineState, row: number): string => state.refs[row * refStride] as string;

  /** First row not before (time, id). */
  function lowerBound(state: OnlineState, time: number, id: string): number {
    let lo = 0;
    let hi = rows(state);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEventKeys(timeAt(state, mid), idAt(state, mid), time, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First row whose event time is > time. */
  function upperBoundTime(state: OnlineState, time: number): number {
    let lo = 0;
    let hi = rows(state);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (timeAt(state, mid) <= time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Every entry point takes states restored from JSON, possibly written by an older engine. */
  function current(state: OnlineState): OnlineState {
    if (state.v === STATE_VERSION) return state;
    const old = state as unknown as Partial<StateV1> & { v?: unknown };
    if (old.v !== undefined || !Array.isArray(old.events) || typeof old.lifetime !== 'object' || old.lifetime === null) {
      throw new Error(`${set.name}: unsupported online state (layout version ${JSON.stringify(old.v ?? 'unknown')}; this engine reads versions 1 and ${String(STATE_VERSION)}): drop the entity's snapshot and rebuild it from the source`);
    }
    // Version 1 kept the sliding fields in `slidingFields` order after [eventTime, eventId].
    const events = old.events;
    const valueOf = (event: StateV1['events'][number], field: string) => event[2 + slidingFields.indexOf(field)] ?? null;
    state.nums = events.flatMap((e) => [e[0], ...numericFields.map((f) => (valueOf(e, f) as number | null) ?? NaN)]);
    state.refs = events.flatMap((e) => [e[1], ...refFields.map((f) => valueOf(e, f))]);
    for (const p of lifetime) {
      const acc = state.lifetime[p.feature.name];
      // lastK entries were [t, id, v] arrays and `last` started as null; both are one flat [t, id, v, ...] array now.
      if (p.feature.spec.kind === 'lastK' || p.feature.spec.kind === 'last') state.lifetime[p.feature.name] = Array.isArray(acc) ? acc.flat() : [];
    }
    delete (old as Partial<StateV1>).events;
    state.v = STATE_VERSION;
    return state;
  }

  function apply(input: OnlineState, event: E): OnlineState {
    const state = current(input);
    const time = event.eventTime;
    const id = event.eventId;
    assertFiniteNumbers(event);
    // Every applied event's (time, id) is retained, lifetime-only sets included, until `compact` proves it can no
    // longer arrive: a redelivered copy is then found here and ignored, as the offline backfill counts it once.
    const at = lowerBound(state, time, id);
    if (at < rows(state) && timeAt(state, at) === time && idAt(state, at) === id) return state;
    const numRow: number[] = [time];
    for (const field of numericFields) numRow.push((fieldOf(event, field) as number | null) ?? NaN);
    const refRow: (Scalar | null)[] = [id];
    for (const field of refFields) refRow.push(fieldOf(event, field));
    state.nums = insertExact(state.nums, at * numStride, numRow);
    state.refs = insertExact(state.refs, at * refStride, refRow);
    for (const p of lifetime) {
      const value = p.feature.spec.kind === 'count' ? null : fieldOf(event, p.feature.spec.field);
      state.lifetime[p.feature.name] = p.accumulator.add(state.lifetime[p.feature.name] ?? p.accumulator.init(), time, id, value);
    }
    return state;
  }

  /** `parse` never lets NaN or ±Infinity through (zod numbers are finite); an event built by hand must not either. */
  function assertFiniteNumbers(event: E): void {
    for (const field of numericFieldsRead) {
      const value = (event as unknown as Record<string, unknown>)[field];
      if (value !== null && value !== undefined && !Number.isFinite(value)) {
        throw new RangeError(`${set.name}: event ${JSON.stringify(event.eventId)}: ${field} must be a finite number or null, got ${inspect(value)}`);
      }
    }
  }

  function readSliding(state: OnlineState, p: Planned, asOf: number): FeatureValue {
    const from = upperBoundTime(state, asOf - windowSize(p.feature));
    const to = upperBoundTime(state, asOf);
    const { nums, refs } = state;
    const column = p.column;
    let acc = p.accumulator.init();
    for (let row = from; row < to; row++) {
      let value: Scalar | null = null;
      if (column?.numeric) {
        const x = nums[row * numStride + column.offset] ?? null;
        value = x === null || Number.isNaN(x) ? null : x;
      } else if (column) value = refs[row * refStride + column.offset] ?? null;
      acc = p.accumulator.add(acc, nums[row * numStride] as number, refs[row * refStride] as string, value);
    }
    return p.accumulator.result(acc);
  }

  function read(input: OnlineState, entityId: string, asOf: EventTime): FeatureVector {
    const state = current(input);
    const values: Record<string, FeatureValue> = {};
    for (const p of sliding) values[p.feature.name] = finiteOrMissing(readSliding(state, p, asOf) ?? p.feature.spec.default);
    for (const p of lifetime) {
      const acc = state.lifetime[p.feature.name] ?? p.accumulator.init();
      values[p.feature.name] = finiteOrMissing(p.accumulator.result(acc) ?? p.feature.spec.default);
    }
    return { featureSet: set.name, entityId, eventTime: asOf, values };
  }

  function nextChange(input: OnlineState, after: EventTime): EventTime | undefined {
    const state = current(input);
    let next: number | undefined;
    for (const size of windowSizes) {
      // The first retained event whose expiry (time + size) is still ahead.
      const row = upperBoundTime(state, after - size);
      if (row < rows(state) && (next === undefined || timeAt(state, row) + size < next)) next = timeAt(state, row) + size;
    }
    return next === undefined ? undefined : eventTime(next);
  }

  function compact(input: OnlineState, watermark: EventTime): OnlineState {
    const state = current(input);
    // A read at asOf >= watermark sees (asOf - size, asOf]: events at or before watermark - longestWindow are gone
    // for good. Removed like `insertExact` inserts: small arrays are copied at their exact size (with nulls read
    // back from JSON turned into NaN again, so the numbers are stored unboxed), large ones trimmed in place.
    // Events at or after the watermark may still be redelivered, so their (time, id) stays for de-duplication.
    const drop = Math.min(upperBoundTime(state, watermark - longestWindow), lowerBound(state, watermark, ''));
    if (drop > 0) {
      state.nums = removeFront(state.nums, drop * numStride, (x) => x ?? NaN);
      state.refs = removeFront(state.refs, drop * refStride);
    }
    return state;
  }

  return {
    featureSet: set,
    parse: (raw) => parseEvent(set, raw),
    entityKey: (event) => (event as unknown as Record<string, string>)[set.source.entityKey]!,
    initialState,
    apply,
    read,
    nextChange,
    compact,
    isEmpty: (input) => {
      const state = current(input);
      return state.nums.length === 0 && JSON.stringify(state.lifetime) === emptyLifetime;
    },
    serving: (vector, requestEvent) => modelInput(set, vector.values, requestEvent),
  };
}

function parseEvent<E extends SourceEvent>(set: FeatureSet<E>, raw: unknown): ParseResult<E> {
  const result = set.source.schema.safeParse(raw);
  if (result.success) return { ok: true, event: result.data };
  const reason = result.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`).join('; ');
  return { ok: false, reason: `invalid ${set.source.name} event: ${reason}` };
}

/**
 * Aggregate values + request-time features + transforms: the model input. The same function serves online
 * (`engine.serving`) and builds training rows offline (aggregates as of the labelled event, plus that event).
 */
export function modelInput<E extends SourceEvent>(set: FeatureSet<E>, aggregates: FeatureValues, requestEvent: E): FeatureValues {
  const values: Record<string, FeatureValue> = { ...aggregates };
  for (const feature of set.requestFeatures) values[feature.name] = feature.compute(requestEvent);
  for (const t of set.transforms) values[t.name] = t.compute(...t.inputs.map((input) => values[input] ?? null));
  return values;
}

/**
 * A sum (or mean) of finite values can still overflow to ±Infinity: reported as missing, on both paths (the backfill
 * does the same), and never replaced by the default, since the window is not empty. No path ever emits NaN/±Infinity.
 */
function finiteOrMissing(value: FeatureValue): FeatureValue {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

function windowSize(feature: AggregateFeature): number {
  return feature.spec.window.kind === 'sliding' ? feature.spec.window.size : Infinity;
}
