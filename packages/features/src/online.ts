import { accumulatorFor, type Accumulator, type Json } from './accumulators.js';
import type { SourceEvent } from './definition.js';
import type { AggregateFeature, FeatureSet } from './feature-set.js';
import { compareEventKeys } from './order.js';
import type { Scalar } from './packed.js';
import { createStateCodec, TEXT_VERSION, type WorkingState } from './state-codec.js';
import { eventTime, type EventTime } from './time.js';
import type { FeatureValue, FeatureValues, FeatureVector } from './vector.js';

/**
 * The state of ONE entity (key it by `engine.entityKey(event)`): one flat string, which is also its snapshot
 * (`JSON.stringify` adds two quotes). `apply` and `compact` return the new state and leave the one passed unchanged.
 *
 * A string because millions of entities each hold a few events: as arrays and objects the same state took ~2.5x the
 * heap (headers, 8 B pointers, boxed numbers). Layout and encoding: state-codec.ts; packages/features/README.md, "Memory".
 */
export type OnlineState = string;

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
  const fieldOf = (event: E, field: string): Scalar | null => (event as unknown as Record<string, Scalar | null | undefined>)[field] ?? null;
  const initialWorking = (): WorkingState => ({
    nums: [],
    refs: [],
    lifetime: Object.fromEntries(lifetime.map((p) => [p.feature.name, p.accumulator.init()])),
  });
  const codec = createStateCodec({ numStride, refStride, lifetime: lifetime.map((p) => ({ name: p.feature.name, entries: p.feature.spec.kind === 'last' || p.feature.spec.kind === 'lastK' })) });
  const emptyState = codec.encode(initialWorking());
  const recent = new RecentStates();

  /** The decoded form of `state`; `forUpdate`: the caller will change it, so it no longer stands for `state`. */
  function open(state: OnlineState, forUpdate: boolean): WorkingState {
    const known = recent.get(state, forUpdate);
    if (known) return known;
    const decoded = decodeSnapshot(state);
    if (!forUpdate) recent.add(state, decoded);
    return decoded;
  }

  /** The state for a changed working form (kept decoded for the calls that usually follow: compact, read, ...). */
  function settle(working: WorkingState): OnlineState {
    const state = codec.encode(working);
    recent.add(state, working);
    return state;
  }

  /** `input`, decoded as `state`, did not change (a snapshot of the previous layout is re-encoded). */
  function unchanged(input: OnlineState, state: WorkingState): OnlineState {
    if (typeof input !== 'string') return settle(state);
    recent.add(input, state);
    return input;
  }

  /** Every entry point takes states restored from snapshots, possibly written by the previous engine (layout 2). */
  function decodeSnapshot(state: OnlineState): WorkingState {
    const snapshot = state as unknown;
    if (typeof snapshot === 'string' && snapshot.startsWith(TEXT_VERSION)) return codec.decode(snapshot);
    if (isLayout2(snapshot)) return { nums: snapshot.nums.map((x) => x ?? NaN), refs: snapshot.refs, lifetime: snapshot.lifetime };
    const version = typeof snapshot === 'object' && snapshot !== null && 'v' in snapshot ? JSON.stringify(snapshot.v) : 'unknown';
    throw new Error(`${set.name}: unsupported online state (layout version ${version}; this engine reads versions 2 and 3): drop the entity's snapshot and rebuild it from the source`);
  }

  const rows = (state: WorkingState): number => state.nums.length / numStride;
  const timeAt = (state: WorkingState, row: number): number => state.nums[row * numStride] as number;
  const idAt = (state: WorkingState, row: number): string => state.refs[row * refStride] as string;

  /** First row not before (time, id). */
  function lowerBound(state: WorkingState, time: number, id: string): number {
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
  function upperBoundTime(state: WorkingState, time: number): number {
    let lo = 0;
    let hi = rows(state);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (timeAt(state, mid) <= time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function apply(input: OnlineState, event: E): OnlineState {
    const state = open(input, true);
    const time = event.eventTime;
    const id = event.eventId;
    assertFiniteNumbers(event);
    // Every applied event's (time, id) is retained, lifetime-only sets included, until `compact` proves it can no
    // longer arrive: a redelivered copy is then found here and ignored, as the offline backfill counts it once.
    const at = lowerBound(state, time, id);
    if (at < rows(state) && timeAt(state, at) === time && idAt(state, at) === id) return unchanged(input, state);
    const numRow: number[] = [time];
    for (const field of numericFields) numRow.push((fieldOf(event, field) as number | null) ?? NaN);
    const refRow: (Scalar | null)[] = [id];
    for (const field of refFields) refRow.push(fieldOf(event, field));
    state.nums.splice(at * numStride, 0, ...numRow);
    state.refs.splice(at * refStride, 0, ...refRow);
    for (const p of lifetime) {
      const value = p.feature.spec.kind === 'count' ? null : fieldOf(event, p.feature.spec.field);
      state.lifetime[p.feature.name] = p.accumulator.add(state.lifetime[p.feature.name] ?? p.accumulator.init(), time, id, value);
    }
    return settle(state);
  }

  /** `parse` never lets NaN or ±Infinity through (zod numbers are finite); an event built by hand must not either. */
  function assertFiniteNumbers(event: E): void {
    for (const field of numericFieldsRead) {
      const value = (event as unknown as Record<string, unknown>)[field];
      if (value !== null && value !== undefined && !Number.isFinite(value)) {
        throw new RangeError(`${set.name}: event ${JSON.stringify(event.eventId)}: ${field} must be a finite number or null, got ${String(value)}`);
      }
    }
  }

  function readSliding(state: WorkingState, p: Planned, asOf: number): FeatureValue {
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
    const state = open(input, false);
    const values: Record<string, FeatureValue> = {};
    for (const p of sliding) values[p.feature.name] = finiteOrMissing(readSliding(state, p, asOf) ?? p.feature.spec.default);
    for (const p of lifetime) {
      const acc = state.lifetime[p.feature.name] ?? p.accumulator.init();
      values[p.feature.name] = finiteOrMissing(p.accumulator.result(acc) ?? p.feature.spec.default);
    }
    return { featureSet: set.name, entityId, eventTime: asOf, values };
  }

  function nextChange(input: OnlineState, after: EventTime): EventTime | undefined {
    const state = open(input, false);
    let next: number | undefined;
    for (const size of windowSizes) {
      // The first retained event whose expiry (time + size) is still ahead.
      const row = upperBoundTime(state, after - size);
      if (row < rows(state) && (next === undefined || timeAt(state, row) + size < next)) next = timeAt(state, row) + size;
    }
    return next === undefined ? undefined : eventTime(next);
  }

  function compact(input: OnlineState, watermark: EventTime): OnlineState {
    const state = open(input, true);
    // A read at asOf >= watermark sees (asOf - size, asOf]: events at or before watermark - longestWindow are gone
    // for good. Events at or after the watermark may still be redelivered, so their (time, id) stays for de-duplication.
    const drop = Math.min(upperBoundTime(state, watermark - longestWindow), lowerBound(state, watermark, ''));
    if (drop === 0) return unchanged(input, state);
    state.nums.splice(0, drop * numStride);
    state.refs.splice(0, drop * refStride);
    return settle(state);
  }

  return {
    featureSet: set,
    parse: (raw) => parseEvent(set, raw),
    entityKey: (event) => (event as unknown as Record<string, string>)[set.source.entityKey]!,
    initialState: () => emptyState,
    apply,
    read,
    nextChange,
    compact,
    // The encoding is canonical: a state equals the initial one exactly when its text does.
    isEmpty: (input) => (typeof input === 'string' && input.startsWith(TEXT_VERSION) ? input : codec.encode(open(input, false))) === emptyState,
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

/** What engines before layout 3 wrote: `{ v: 2, nums, refs, lifetime }` as JSON (a null number is null there). */
interface Layout2 {
  v: 2;
  nums: (number | null)[];
  refs: (Scalar | null)[];
  lifetime: Record<string, Json>;
}

function isLayout2(snapshot: unknown): snapshot is Layout2 {
  const state = snapshot as Partial<Layout2> | null;
  return typeof state === 'object' && state !== null && state.v === 2 && Array.isArray(state.nums) && Array.isArray(state.refs) && typeof state.lifetime === 'object' && state.lifetime !== null;
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
