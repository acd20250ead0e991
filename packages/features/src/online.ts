import { accumulatorFor, type Accumulator, type Json, type Scalar } from './accumulators.js';
import type { SourceEvent } from './definition.js';
import type { AggregateFeature, FeatureSet } from './feature-set.js';
import { compareEventKeys } from './order.js';
import { eventTime, type EventTime } from './time.js';
import type { FeatureValue, FeatureValues, FeatureVector } from './vector.js';

/** An event kept for sliding windows: [eventTime, eventId, ...values of the fields sliding features read]. */
export type RetainedEvent = [number, string, ...(Scalar | null)[]];

/**
 * The state of ONE entity (key it by `engine.entityKey(event)`). Plain JSON data, for checkpoints and Redis.
 * `apply` and `compact` update it in place and return it: clone it first if you need the old one.
 */
export interface OnlineState {
  /** Sorted by (eventTime, eventId); only what sliding windows still need. */
  events: RetainedEvent[];
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
  /** Drops retained events no read at or after `watermark` can see (events older than the watermark must not arrive any more). */
  compact(state: OnlineState, watermark: EventTime): OnlineState;
  /** True when the state holds nothing: the entity's key can be deleted. */
  isEmpty(state: OnlineState): boolean;
  /** The full model input: aggregate values + request-time features + transforms. */
  serving(vector: FeatureVector, requestEvent: E): FeatureValues;
}

interface Planned {
  readonly feature: AggregateFeature;
  readonly accumulator: Accumulator<Json>;
  /** Index of the feature's field in a RetainedEvent (sliding) or undefined for count. */
  readonly slot: number | undefined;
}

export function createOnlineEngine<E extends SourceEvent>(set: FeatureSet<E>): OnlineEngine<E> {
  const slidingFields = [...new Set(set.aggregates.flatMap((f) => (f.spec.window.kind === 'sliding' && f.spec.kind !== 'count' ? [f.spec.field] : [])))];
  const plan = (feature: AggregateFeature): Planned => ({
    feature,
    accumulator: accumulatorFor(feature.spec),
    slot: feature.spec.kind === 'count' || feature.spec.window.kind === 'lifetime' ? undefined : 2 + slidingFields.indexOf(feature.spec.field),
  });
  const sliding = set.aggregates.filter((f) => f.spec.window.kind === 'sliding').map(plan);
  const lifetime = set.aggregates.filter((f) => f.spec.window.kind === 'lifetime').map(plan);
  const windowSizes = [...new Set(sliding.map((p) => windowSize(p.feature)))];
  const longestWindow = Math.max(0, ...windowSizes);
  const fieldOf = (event: E, field: string): Scalar | null => ((event as unknown as Record<string, Scalar | null | undefined>)[field] ?? null);
  const initialState = (): OnlineState => ({
    events: [],
    lifetime: Object.fromEntries(lifetime.map((p) => [p.feature.name, p.accumulator.init()])),
  });
  const emptyLifetime = JSON.stringify(initialState().lifetime);

  function apply(state: OnlineState, event: E): OnlineState {
    const time = event.eventTime;
    const id = event.eventId;
    if (sliding.length > 0) {
      const at = lowerBound(state.events, time, id);
      const existing = state.events[at];
      // A redelivered event (same time and id) still retained: applying it again would double count.
      if (existing !== undefined && existing[0] === time && existing[1] === id) return state;
      state.events.splice(at, 0, [time, id, ...slidingFields.map((field) => fieldOf(event, field))]);
    }
    for (const p of lifetime) {
      const value = p.feature.spec.kind === 'count' ? null : fieldOf(event, p.feature.spec.field);
      state.lifetime[p.feature.name] = p.accumulator.add(state.lifetime[p.feature.name] ?? p.accumulator.init(), time, id, value);
    }
    return state;
  }

  function readSliding(state: OnlineState, p: Planned, asOf: number): FeatureValue {
    const from = upperBoundTime(state.events, asOf - windowSize(p.feature));
    const to = upperBoundTime(state.events, asOf);
    let acc = p.accumulator.init();
    for (let i = from; i < to; i++) {
      const event = state.events[i]!;
      acc = p.accumulator.add(acc, event[0], event[1], p.slot === undefined ? null : (event[p.slot] ?? null));
    }
    return p.accumulator.result(acc);
  }

  function read(state: OnlineState, entityId: string, asOf: EventTime): FeatureVector {
    const values: Record<string, FeatureValue> = {};
    for (const p of sliding) values[p.feature.name] = readSliding(state, p, asOf) ?? p.feature.spec.default;
    for (const p of lifetime) {
      const acc = state.lifetime[p.feature.name] ?? p.accumulator.init();
      values[p.feature.name] = p.accumulator.result(acc) ?? p.feature.spec.default;
    }
    return { featureSet: set.name, entityId, eventTime: asOf, values };
  }

  function nextChange(state: OnlineState, after: EventTime): EventTime | undefined {
    let next: number | undefined;
    for (const size of windowSizes) {
      // The first retained event whose expiry (time + size) is still ahead.
      const event = state.events[upperBoundTime(state.events, after - size)];
      if (event !== undefined && (next === undefined || event[0] + size < next)) next = event[0] + size;
    }
    return next === undefined ? undefined : eventTime(next);
  }

  function compact(state: OnlineState, watermark: EventTime): OnlineState {
    // A read at asOf >= watermark sees (asOf - size, asOf]: events at or before watermark - longestWindow are gone for good.
    state.events.splice(0, upperBoundTime(state.events, watermark - longestWindow));
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
    isEmpty: (state) => state.events.length === 0 && JSON.stringify(state.lifetime) === emptyLifetime,
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

function windowSize(feature: AggregateFeature): number {
  return feature.spec.window.kind === 'sliding' ? feature.spec.window.size : Infinity;
}

/** First index whose event is not before (time, id). */
function lowerBound(events: readonly RetainedEvent[], time: number, id: string): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = events[mid]!;
    if (compareEventKeys(e[0], e[1], time, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose event time is > time. */
function upperBoundTime(events: readonly RetainedEvent[], time: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]![0] <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
