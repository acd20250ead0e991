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
 * The state of ONE entity (key it by `engine.entityIdOf(event)`). Plain JSON data, for checkpoints and Redis.
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
  /** The id of the entity the event belongs to: `event[featureSet.entity.key]`. */
  entityIdOf(event: E): string;
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

/** What an engine computes from its feature set once: the row layout of retained events and a plan per feature. */
interface EnginePlan<E extends SourceEvent> {
  readonly set: FeatureSet<E>;
  /** Sliding fields retained in `nums` / `refs` rows, after the event time / event id. Each once, however many features read it. */
  readonly numericFields: readonly string[];
  readonly refFields: readonly string[];
  /** Every numeric field any feature reads: checked finite on `apply`. */
  readonly numericFieldsRead: readonly string[];
  readonly numStride: number;
  readonly refStride: number;
  readonly sliding: readonly Planned[];
  readonly lifetime: readonly Planned[];
  readonly windowSizes: readonly number[];
  readonly longestWindow: number;
  /** Reads a field, interned: categorical values (merchant ids, ...) repeat across entities, one copy each is kept. */
  fieldOf(event: E, field: string): Scalar | null;
}

export function createOnlineEngine<E extends SourceEvent>(set: FeatureSet<E>): OnlineEngine<E> {
  const plan = planEngine(set);
  const initialState = (): OnlineState => ({
    v: STATE_VERSION,
    nums: [],
    refs: [],
    lifetime: Object.fromEntries(plan.lifetime.map((p) => [p.feature.name, p.accumulator.init()])),
  });
  const emptyLifetime = JSON.stringify(initialState().lifetime);
  // Every entry point takes states restored from JSON, possibly written by an older engine.
  const current = (state: OnlineState) => upgradeState(plan, state);
  return {
    featureSet: set,
    parse: (raw) => parseEvent(set, raw),
    entityIdOf: (event) => (event as unknown as Record<string, string>)[set.entity.key]!,
    initialState,
    apply: (state, event) => applyEvent(plan, current(state), event),
    read: (state, entityId, asOf) => readVector(plan, current(state), entityId, asOf),
    nextChange: (state, after) => nextChange(plan, current(state), after),
    compact: (state, watermark) => compactState(plan, current(state), watermark),
    isEmpty: (input) => {
      const state = current(input);
      return state.nums.length === 0 && JSON.stringify(state.lifetime) === emptyLifetime;
    },
    serving: (vector, requestEvent) => modelInput(set, vector.values, requestEvent),
  };
}

function planEngine<E extends SourceEvent>(set: FeatureSet<E>): EnginePlan<E> {
  const { aggregates, source } = set;
  const slidingFields = [...new Set(aggregates.flatMap((f) => (f.spec.window.kind === 'sliding' && f.spec.kind !== 'count' ? [f.spec.field] : [])))];
  const numericFields = slidingFields.filter((field) => source.fieldTypes[field] === 'number');
  const refFields = slidingFields.filter((field) => source.fieldTypes[field] !== 'number');
  const numericFieldsRead = [...new Set(aggregates.flatMap((f) => (f.spec.kind !== 'count' && source.fieldTypes[f.spec.field] === 'number' ? [f.spec.field] : [])))];
  const plan = (feature: AggregateFeature): Planned => {
    const spec = feature.spec;
    if (spec.kind === 'count' || spec.window.kind === 'lifetime') return { feature, accumulator: accumulatorFor(spec), column: undefined };
    const numeric = numericFields.includes(spec.field);
    return { feature, accumulator: accumulatorFor(spec), column: { numeric, offset: 1 + (numeric ? numericFields : refFields).indexOf(spec.field) } };
  };
  const sliding = aggregates.filter((f) => f.spec.window.kind === 'sliding').map(plan);
  const windowSizes = [...new Set(sliding.map((p) => windowSize(p.feature)))];
  const intern = createInterner();
  return {
    set,
    numericFields,
    refFields,
    numericFieldsRead,
    numStride: 1 + numericFields.length,
    refStride: 1 + refFields.length,
    sliding,
    lifetime: aggregates.filter((f) => f.spec.window.kind === 'lifetime').map(plan),
    windowSizes,
    longestWindow: Math.max(0, ...windowSizes),
    // Event ids are unique: not interned.
    fieldOf: (event, field) => intern((event as unknown as Record<string, Scalar | null | undefined>)[field] ?? null),
  };
}

/* ------------------------------------------------------------------ retained rows, in (eventTime, eventId) order */

const rowCount = (plan: EnginePlan<SourceEvent>, state: OnlineState): number => state.nums.length / plan.numStride;
const timeAt = (plan: EnginePlan<SourceEvent>, state: OnlineState, row: number): number => state.nums[row * plan.numStride] as number;
const idAt = (plan: EnginePlan<SourceEvent>, state: OnlineState, row: number): string => state.refs[row * plan.refStride] as string;

/** First row not before (time, id). */
function lowerBound(plan: EnginePlan<SourceEvent>, state: OnlineState, time: number, id: string): number {
  let lo = 0;
  let hi = rowCount(plan, state);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEventKeys(timeAt(plan, state, mid), idAt(plan, state, mid), time, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First row whose event time is > time. */
function upperBoundTime(plan: EnginePlan<SourceEvent>, state: OnlineState, time: number): number {
  let lo = 0;
  let hi = rowCount(plan, state);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timeAt(plan, state, mid) <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* ------------------------------------------------------------------ the engine's operations */

/** A state in the current layout; a version-1 snapshot is converted in place, anything else is refused. */
function upgradeState<E extends SourceEvent>(plan: EnginePlan<E>, state: OnlineState): OnlineState {
  if (state.v === STATE_VERSION) return state;
  const old = state as unknown as Partial<StateV1> & { v?: unknown };
  if (old.v !== undefined || !Array.isArray(old.events) || typeof old.lifetime !== 'object' || old.lifetime === null) {
    throw new Error(`${plan.set.name}: unsupported online state (layout version ${JSON.stringify(old.v ?? 'unknown')}; this engine reads versions 1 and ${STATE_VERSION}): drop the entity's snapshot and rebuild it from the source`);
  }
  // Version 1 kept the sliding fields in first-use order after [eventTime, eventId].
  const slidingFields = [...new Set(plan.sliding.flatMap((p) => (p.feature.spec.kind === 'count' ? [] : [p.feature.spec.field])))];
  const events = old.events;
  const valueOf = (event: StateV1['events'][number], field: string) => event[2 + slidingFields.indexOf(field)] ?? null;
  state.nums = events.flatMap((e) => [e[0], ...plan.numericFields.map((f) => (valueOf(e, f) as number | null) ?? NaN)]);
  state.refs = events.flatMap((e) => [e[1], ...plan.refFields.map((f) => valueOf(e, f))]);
  for (const p of plan.lifetime) {
    const acc = state.lifetime[p.feature.name];
    // lastK entries were [t, id, v] arrays and `last` started as null; both are one flat [t, id, v, ...] array now.
    if (p.feature.spec.kind === 'lastK' || p.feature.spec.kind === 'last') state.lifetime[p.feature.name] = Array.isArray(acc) ? acc.flat() : [];
  }
  delete (old as Partial<StateV1>).events;
  state.v = STATE_VERSION;
  return state;
}

function applyEvent<E extends SourceEvent>(plan: EnginePlan<E>, state: OnlineState, event: E): OnlineState {
  const time = event.eventTime;
  const id = event.eventId;
  assertFiniteNumbers(plan, event);
  // Every applied event's (time, id) is retained, lifetime-only sets included, until `compact` proves it can no
  // longer arrive: a redelivered copy is then found here and ignored, as the offline backfill counts it once.
  const at = lowerBound(plan, state, time, id);
  if (at < rowCount(plan, state) && timeAt(plan, state, at) === time && idAt(plan, state, at) === id) return state;
  const numRow: number[] = [time];
  for (const field of plan.numericFields) numRow.push((plan.fieldOf(event, field) as number | null) ?? NaN);
  const refRow: (Scalar | null)[] = [id];
  for (const field of plan.refFields) refRow.push(plan.fieldOf(event, field));
  state.nums = insertExact(state.nums, at * plan.numStride, numRow);
  state.refs = insertExact(state.refs, at * plan.refStride, refRow);
  for (const p of plan.lifetime) {
    const value = p.feature.spec.kind === 'count' ? null : plan.fieldOf(event, p.feature.spec.field);
    state.lifetime[p.feature.name] = p.accumulator.add(state.lifetime[p.feature.name] ?? p.accumulator.init(), time, id, value);
  }
  return state;
}

/** `parse` never lets NaN or ±Infinity through (zod numbers are finite); an event built by hand must not either. */
function assertFiniteNumbers<E extends SourceEvent>(plan: EnginePlan<E>, event: E): void {
  for (const field of plan.numericFieldsRead) {
    const value = (event as unknown as Record<string, unknown>)[field];
    if (value !== null && value !== undefined && !Number.isFinite(value)) {
      throw new RangeError(`${plan.set.name}: event ${JSON.stringify(event.eventId)}: ${field} must be a finite number or null, got ${String(value)}`);
    }
  }
}

function readSliding(plan: EnginePlan<SourceEvent>, state: OnlineState, p: Planned, asOf: number): FeatureValue {
  const from = upperBoundTime(plan, state, asOf - windowSize(p.feature));
  const to = upperBoundTime(plan, state, asOf);
  const { nums, refs } = state;
  const { numStride, refStride } = plan;
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

function readVector<E extends SourceEvent>(plan: EnginePlan<E>, state: OnlineState, entityId: string, asOf: EventTime): FeatureVector {
  const values: Record<string, FeatureValue> = {};
  for (const p of plan.sliding) values[p.feature.name] = finiteOrMissing(readSliding(plan, state, p, asOf) ?? p.feature.spec.default);
  for (const p of plan.lifetime) {
    const acc = state.lifetime[p.feature.name] ?? p.accumulator.init();
    values[p.feature.name] = finiteOrMissing(p.accumulator.result(acc) ?? p.feature.spec.default);
  }
  return { featureSet: plan.set.name, entityId, eventTime: asOf, values };
}

function nextChange<E extends SourceEvent>(plan: EnginePlan<E>, state: OnlineState, after: EventTime): EventTime | undefined {
  let next: number | undefined;
  for (const size of plan.windowSizes) {
    // The first retained event whose expiry (time + size) is still ahead.
    const row = upperBoundTime(plan, state, after - size);
    if (row < rowCount(plan, state) && (next === undefined || timeAt(plan, state, row) + size < next)) next = timeAt(plan, state, row) + size;
  }
  return next === undefined ? undefined : eventTime(next);
}

function compactState<E extends SourceEvent>(plan: EnginePlan<E>, state: OnlineState, watermark: EventTime): OnlineState {
  // A read at asOf >= watermark sees (asOf - size, asOf]: events at or before watermark - longestWindow are gone
  // for good. Removed like `insertExact` inserts: small arrays are copied at their exact size (with nulls read
  // back from JSON turned into NaN again, so the numbers are stored unboxed), large ones trimmed in place.
  // Events at or after the watermark may still be redelivered, so their (time, id) stays for de-duplication.
  const drop = Math.min(upperBoundTime(plan, state, watermark - plan.longestWindow), lowerBound(plan, state, watermark, ''));
  if (drop > 0) {
    state.nums = removeFront(state.nums, drop * plan.numStride, (x) => x ?? NaN);
    state.refs = removeFront(state.refs, drop * plan.refStride);
  }
  return state;
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
