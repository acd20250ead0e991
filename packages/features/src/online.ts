import { inspect } from 'node:util';
import { accumulatorFor, type Accumulator, type Json } from './accumulators.js';
import type { SourceEvent } from './definition.js';
import type { AggregateFeature, FeatureSet } from './feature-set.js';
import { compareEventKeys } from './order.js';
import type { Scalar } from './packed.js';
import { createStateCodec, TEXT_VERSION, type StateCodec, type WorkingState } from './state-codec.js';
import { eventTime, type EventTime } from './time.js';
import type { FeatureValue, FeatureValues, FeatureVector } from './vector.js';

/**
 * The state of ONE entity (key it by `engine.entityIdOf(event)`): one flat string, which is also its snapshot
 * (`JSON.stringify` adds two quotes). `apply` and `compact` return the new state and leave the one passed unchanged.
 *
 * A string because millions of entities each hold a few events: as arrays and objects the same state took ~2.5x the
 * heap (headers, 8 B pointers, boxed numbers). Layout and encoding: state-codec.ts; packages/features/README.md,
 * "Memory".
 */
export type OnlineState = string;

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
  /**
   * Aggregate values as of `asOf`. Sliding windows count events in (asOf - size, asOf]; lifetime ones count every
   * applied event.
   */
  read(state: OnlineState, entityId: string, asOf: EventTime): FeatureVector;
  /** The first time after `after` at which a sliding value changes without a new event (an event leaving a window). */
  nextChange(state: OnlineState, after: EventTime): EventTime | undefined;
  /**
   * Drops retained events no read at or after `watermark` can see and no redelivery can match (events older than the
   * watermark must not arrive any more).
   */
  compact(state: OnlineState, watermark: EventTime): OnlineState;
  /** True when the state holds nothing: the entity's key can be deleted. */
  isEmpty(state: OnlineState): boolean;
  /** The full model input: aggregate values + request-time features + transforms. */
  serving(vector: FeatureVector, requestEvent: E): FeatureValues;
}

interface Planned {
  readonly feature: AggregateFeature;
  readonly accumulator: Accumulator<Json>;
  /**
   * Where a sliding feature's field sits in a retained row: `nums` or `refs`, at this offset; undefined for count and
   * lifetime.
   */
  readonly column: { readonly numeric: boolean; readonly offset: number } | undefined;
}

/** What an engine computes from its feature set once: the row layout of retained events and a plan per feature. */
interface EnginePlan<E extends SourceEvent> {
  readonly set: FeatureSet<E>;
  /**
   * Sliding fields retained in `nums` / `refs` rows, after the event time / event id. Each once, however many features
   * read it.
   */
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
  /** Reads a field of an event (null when absent). */
  fieldOf(event: E, field: string): Scalar | null;
}

/**
 * The engine of one feature set: its plan (computed once), the state codec, and the decoded forms of recently used
 * states; each operation below is a named function of the plan and a decoded state.
 */
export function createOnlineEngine<E extends SourceEvent>(set: FeatureSet<E>): OnlineEngine<E> {
  const plan = planEngine(set);
  const states = new DecodedStates(plan);
  const emptyState = states.codec.encode(initialWorking(plan));
  return {
    featureSet: set,
    parse: (raw) => parseEvent(set, raw),
    entityIdOf: (event) => (event as unknown as Record<string, string>)[set.entity.key]!,
    initialState: () => emptyState,
    apply: (input, event) => {
      const state = states.open(input, true);
      return applyEvent(plan, state, event) ? states.settle(state) : states.unchanged(input, state);
    },
    read: (input, entityId, asOf) => readVector(plan, states.open(input, false), entityId, asOf),
    nextChange: (input, after) => nextChange(plan, states.open(input, false), after),
    compact: (input, watermark) => {
      const state = states.open(input, true);
      return compactState(plan, state, watermark) ? states.settle(state) : states.unchanged(input, state);
    },
    // The encoding is canonical: a state equals the initial one exactly when its text does.
    isEmpty: (input) =>
      (typeof input === 'string' && input.startsWith(TEXT_VERSION)
        ? input
        : states.codec.encode(states.open(input, false))) === emptyState,
    serving: (vector, requestEvent) => modelInput(set, vector.values, requestEvent),
  };
}

function planEngine<E extends SourceEvent>(set: FeatureSet<E>): EnginePlan<E> {
  const { aggregates, source } = set;
  const slidingFields = [
    ...new Set(
      aggregates.flatMap((f) => (f.spec.window.kind === 'sliding' && f.spec.kind !== 'count' ? [f.spec.field] : [])),
    ),
  ];
  const numericFields = slidingFields.filter((field) => source.fieldTypes[field] === 'number');
  const refFields = slidingFields.filter((field) => source.fieldTypes[field] !== 'number');
  const numericFieldsRead = [
    ...new Set(
      aggregates.flatMap((f) =>
        f.spec.kind !== 'count' && source.fieldTypes[f.spec.field] === 'number' ? [f.spec.field] : [],
      ),
    ),
  ];
  const plan = (feature: AggregateFeature): Planned => {
    const spec = feature.spec;
    if (spec.kind === 'count' || spec.window.kind === 'lifetime')
      return { feature, accumulator: accumulatorFor(spec), column: undefined };
    const numeric = numericFields.includes(spec.field);
    return {
      feature,
      accumulator: accumulatorFor(spec),
      column: { numeric, offset: 1 + (numeric ? numericFields : refFields).indexOf(spec.field) },
    };
  };
  const sliding = aggregates.filter((f) => f.spec.window.kind === 'sliding').map(plan);
  const windowSizes = [...new Set(sliding.map((p) => windowSize(p.feature)))];
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
    fieldOf: (event, field) => (event as unknown as Record<string, Scalar | null | undefined>)[field] ?? null,
  };
}

function initialWorking(plan: EnginePlan<SourceEvent>): WorkingState {
  return {
    nums: [],
    refs: [],
    lifetime: Object.fromEntries(plan.lifetime.map((p) => [p.feature.name, p.accumulator.init()])),
  };
}

/**
 * States as the engine hands them out (encoded strings) and their decoded working forms: the calls a stream task
 * makes per entity and batch (apply ..., compact, read, nextChange, isEmpty) decode a state once, not per call.
 */
class DecodedStates {
  readonly codec: StateCodec;
  private readonly recent = new RecentStates();

  constructor(private readonly plan: EnginePlan<SourceEvent>) {
    const { numStride, refStride, lifetime } = plan;
    this.codec = createStateCodec({
      numStride,
      refStride,
      lifetime: lifetime.map((p) => ({
        name: p.feature.name,
        entries: p.feature.spec.kind === 'last' || p.feature.spec.kind === 'lastK',
      })),
    });
  }

  /** The decoded form of `state`; `forUpdate`: the caller will change it, so it no longer stands for `state`. */
  open(state: OnlineState, forUpdate: boolean): WorkingState {
    const known = this.recent.get(state, forUpdate);
    if (known) return known;
    const decoded = this.decodeSnapshot(state);
    if (!forUpdate) this.recent.add(state, decoded);
    return decoded;
  }

  /** The state for a changed working form (kept decoded for the calls that usually follow: compact, read, ...). */
  settle(working: WorkingState): OnlineState {
    const state = this.codec.encode(working);
    this.recent.add(state, working);
    return state;
  }

  /** `input`, decoded as `state`, did not change (a snapshot of the previous layout is re-encoded). */
  unchanged(input: OnlineState, state: WorkingState): OnlineState {
    if (typeof input !== 'string') return this.settle(state);
    this.recent.add(input, state);
    return input;
  }

  /** Every entry point takes states restored from snapshots, possibly written by the previous engine (layout 2). */
  private decodeSnapshot(state: OnlineState): WorkingState {
    const snapshot = state as unknown;
    if (typeof snapshot === 'string' && snapshot.startsWith(TEXT_VERSION)) return this.codec.decode(snapshot);
    if (isLayout2(snapshot))
      return { nums: snapshot.nums.map((x) => x ?? NaN), refs: snapshot.refs, lifetime: snapshot.lifetime };
    const version =
      typeof snapshot === 'object' && snapshot !== null && 'v' in snapshot ? JSON.stringify(snapshot.v) : 'unknown';
    throw new Error(
      `${this.plan.set.name}: unsupported online state (layout version ${version}; this engine reads ` +
        `versions 2 and 3): drop the entity's snapshot and rebuild it from the source`,
    );
  }
}

/* ------------------------------------------------------------------ retained rows, in (eventTime, eventId) order */

const rowCount = (plan: EnginePlan<SourceEvent>, state: WorkingState): number => state.nums.length / plan.numStride;
const timeAt = (plan: EnginePlan<SourceEvent>, state: WorkingState, row: number): number =>
  state.nums[row * plan.numStride] as number;
const idAt = (plan: EnginePlan<SourceEvent>, state: WorkingState, row: number): string =>
  state.refs[row * plan.refStride] as string;

/** First row not before (time, id). */
function lowerBound(plan: EnginePlan<SourceEvent>, state: WorkingState, time: number, id: string): number {
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
function upperBoundTime(plan: EnginePlan<SourceEvent>, state: WorkingState, time: number): number {
  let lo = 0;
  let hi = rowCount(plan, state);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timeAt(plan, state, mid) <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* ------------------------------------------------------------------ the engine's operations, on a decoded state */

/** Applies `event` to `state` in place; false when it was already applied (a redelivery). */
function applyEvent<E extends SourceEvent>(plan: EnginePlan<E>, state: WorkingState, event: E): boolean {
  const time = event.eventTime;
  const id = event.eventId;
  assertFiniteNumbers(plan, event);
  // Every applied event's (time, id) is retained, lifetime-only sets included, until `compact` proves it can no
  // longer arrive: a redelivered copy is then found here and ignored, as the offline backfill counts it once.
  const at = lowerBound(plan, state, time, id);
  if (at < rowCount(plan, state) && timeAt(plan, state, at) === time && idAt(plan, state, at) === id) return false;
  const numRow: number[] = [time];
  for (const field of plan.numericFields) numRow.push((plan.fieldOf(event, field) as number | null) ?? NaN);
  const refRow: (Scalar | null)[] = [id];
  for (const field of plan.refFields) refRow.push(plan.fieldOf(event, field));
  state.nums.splice(at * plan.numStride, 0, ...numRow);
  state.refs.splice(at * plan.refStride, 0, ...refRow);
  for (const p of plan.lifetime) {
    const value = p.feature.spec.kind === 'count' ? null : plan.fieldOf(event, p.feature.spec.field);
    state.lifetime[p.feature.name] = p.accumulator.add(
      state.lifetime[p.feature.name] ?? p.accumulator.init(),
      time,
      id,
      value,
    );
  }
  return true;
}

/** `parse` never lets NaN or ±Infinity through (zod numbers are finite); an event built by hand must not either. */
function assertFiniteNumbers<E extends SourceEvent>(plan: EnginePlan<E>, event: E): void {
  for (const field of plan.numericFieldsRead) {
    const value = (event as unknown as Record<string, unknown>)[field];
    if (value !== null && value !== undefined && !Number.isFinite(value)) {
      throw new RangeError(
        `${plan.set.name}: event ${JSON.stringify(event.eventId)}: ${field} must be a finite number or null, ` +
          `got ${inspect(value)}`,
      );
    }
  }
}

function readSliding(plan: EnginePlan<SourceEvent>, state: WorkingState, p: Planned, asOf: number): FeatureValue {
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

function readVector<E extends SourceEvent>(
  plan: EnginePlan<E>,
  state: WorkingState,
  entityId: string,
  asOf: EventTime,
): FeatureVector {
  const values: Record<string, FeatureValue> = {};
  for (const p of plan.sliding)
    values[p.feature.name] = finiteOrMissing(readSliding(plan, state, p, asOf) ?? p.feature.spec.default);
  for (const p of plan.lifetime) {
    const acc = state.lifetime[p.feature.name] ?? p.accumulator.init();
    values[p.feature.name] = finiteOrMissing(p.accumulator.result(acc) ?? p.feature.spec.default);
  }
  return { featureSet: plan.set.name, entityId, eventTime: asOf, values };
}

function nextChange<E extends SourceEvent>(
  plan: EnginePlan<E>,
  state: WorkingState,
  after: EventTime,
): EventTime | undefined {
  let next: number | undefined;
  for (const size of plan.windowSizes) {
    // The first retained event whose expiry (time + size) is still ahead.
    const row = upperBoundTime(plan, state, after - size);
    if (row < rowCount(plan, state) && (next === undefined || timeAt(plan, state, row) + size < next))
      next = timeAt(plan, state, row) + size;
  }
  return next === undefined ? undefined : eventTime(next);
}

/** Drops in place what no read at or after `watermark` can see and no redelivery can match; false when nothing. */
function compactState<E extends SourceEvent>(plan: EnginePlan<E>, state: WorkingState, watermark: EventTime): boolean {
  // A read at asOf >= watermark sees (asOf - size, asOf]: events at or before watermark - longestWindow are gone
  // for good. Events at or after the watermark may still be redelivered, so their (time, id) stays for de-duplication.
  const drop = Math.min(
    upperBoundTime(plan, state, watermark - plan.longestWindow),
    lowerBound(plan, state, watermark, ''),
  );
  if (drop === 0) return false;
  state.nums.splice(0, drop * plan.numStride);
  state.refs.splice(0, drop * plan.refStride);
  return true;
}

function parseEvent<E extends SourceEvent>(set: FeatureSet<E>, raw: unknown): ParseResult<E> {
  const result = set.source.schema.safeParse(raw);
  if (result.success) return { ok: true, event: result.data };
  const reason = result.error.issues
    .map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`)
    .join('; ');
  return { ok: false, reason: `invalid ${set.source.name} event: ${reason}` };
}

/**
 * Aggregate values + request-time features + transforms: the model input. The same function serves online
 * (`engine.serving`) and builds training rows offline (aggregates as of the labelled event, plus that event).
 */
export function modelInput<E extends SourceEvent>(
  set: FeatureSet<E>,
  aggregates: FeatureValues,
  requestEvent: E,
): FeatureValues {
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

/** What engines before layout 3 wrote: `{ v: 2, nums, refs, lifetime }` as JSON (a null number is null there). */
interface Layout2 {
  v: 2;
  nums: (number | null)[];
  refs: (Scalar | null)[];
  lifetime: Record<string, Json>;
}

function isLayout2(snapshot: unknown): snapshot is Layout2 {
  const state = snapshot as Partial<Layout2> | null;
  return (
    typeof state === 'object' &&
    state !== null &&
    state.v === 2 &&
    Array.isArray(state.nums) &&
    Array.isArray(state.refs) &&
    typeof state.lifetime === 'object' &&
    state.lifetime !== null
  );
}

/**
 * The decoded forms of the most recently used states, so the calls a stream task makes per entity and batch
 * (apply ..., compact, read, nextChange, isEmpty) decode its state once rather than per call. Bounded: two
 * generations of at most `limit / 2` states each; when the young one is full it becomes the old one.
 */
class RecentStates {
  private young = new Map<OnlineState, WorkingState>();
  private old = new Map<OnlineState, WorkingState>();

  constructor(private readonly limit = 16_384) {}

  /** `take`: remove it (its caller changes it). */
  get(state: OnlineState, take: boolean): WorkingState | undefined {
    const generation = this.young.has(state) ? this.young : this.old;
    const working = generation.get(state);
    if (take && working) generation.delete(state);
    return working;
  }

  add(state: OnlineState, working: WorkingState): void {
    if (this.young.size >= this.limit / 2) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(state, working);
  }
}
