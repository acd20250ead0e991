import { z } from 'zod';
import type { DurationMs, EventTime } from './time.js';
import type { FeatureValue } from './vector.js';

/* ------------------------------------------------------------------ sources */

/** Every source event carries an id and an event time; together they give the total order (eventTime, eventId). */
export interface SourceEvent {
  readonly eventId: string;
  readonly eventTime: EventTime;
}

export type FieldType = 'number' | 'string' | 'boolean';

/** Names of the fields of E whose (non-null) values are of type T. */
export type FieldsOf<E, T> = { [K in keyof E & string]: NonNullable<E[K]> extends T ? K : never }[keyof E & string];

export interface Source<E extends SourceEvent> {
  readonly name: string;
  readonly schema: z.ZodType<E, unknown>;
  /** Value type of each plainly typed field (number / string / boolean), read from the zod schema. */
  readonly fieldTypes: Readonly<Record<string, FieldType>>;
}

/** A zod object schema whose output is a source event (an id and an event time, plus any fields). */
type EventSchema = z.ZodObject & z.ZodType<SourceEvent, unknown>;

/** A stream of events of one schema. Which entity an event belongs to is the feature set's `entity`. */
export function source<S extends EventSchema>(name: string, schema: S): Source<z.output<S>> {
  const fieldTypes = Object.fromEntries(
    Object.entries(schema.shape).flatMap(([field, type]: [string, z.ZodType]) => {
      const fieldType = plainFieldType(type);
      return fieldType ? [[field, fieldType]] : [];
    }),
  );
  for (const required of ['eventId', 'eventTime']) {
    if (!(required in schema.shape))
      throw new DefinitionError(`source '${name}': schema must have an '${required}' field`);
  }
  // S parses to z.output<S> by definition; TypeScript cannot relate a generic S to ZodType<output<S>> by itself.
  return { name, schema: schema as unknown as z.ZodType<z.output<S>, unknown>, fieldTypes };
}

/* ------------------------------------------------------------------ entities */

/**
 * What features describe (a user, a card, an item): its `name`, and the `key`, the event field holding its id.
 * Feature sets of one entity share its id space: the online store, the training-set join and the scorer read
 * every set of a request by `event[entity.key]`.
 */
export interface Entity<K extends string = string> {
  readonly name: string;
  readonly key: K;
}

/** Names that become SQL columns, Redis key segments and JSON keys: plain identifiers only. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function entity<const K extends string>(definition: { readonly name: string; readonly key: K }): Entity<K> {
  for (const [what, value] of [
    ['name', definition.name],
    ['key', definition.key],
  ] as const) {
    if (!IDENTIFIER.test(value)) throw new DefinitionError(`entity ${what} '${value}' must be an identifier`);
  }
  return { name: definition.name, key: definition.key };
}

function plainFieldType(type: z.ZodType): FieldType | undefined {
  if (type instanceof z.ZodOptional || type instanceof z.ZodNullable || type instanceof z.ZodDefault)
    return plainFieldType(type.unwrap() as z.ZodType);
  if (type instanceof z.ZodNumber) return 'number';
  if (type instanceof z.ZodString || type instanceof z.ZodEnum) return 'string';
  if (type instanceof z.ZodBoolean) return 'boolean';
  return undefined;
}

export class DefinitionError extends Error {
  override readonly name = 'DefinitionError';
}

/* ------------------------------------------------------------------ windows */

/** Sliding: as of T, the events with eventTime in (T - size, T]. Lifetime: every event with eventTime <= T. */
export type Window = { readonly kind: 'lifetime' } | { readonly kind: 'sliding'; readonly size: DurationMs };
export type SlidingWindow = Extract<Window, { kind: 'sliding' }>;

export const lifetime: Window = { kind: 'lifetime' };

export function sliding(size: DurationMs): SlidingWindow {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new DefinitionError(`sliding window size must be a positive whole number of ms, got ${size}`);
  }
  return { kind: 'sliding', size };
}

/* ------------------------------------------------------------------ aggregations */

/**
 * What a field must hold for an aggregation: numbers (sum/mean/min/max), scalars (last, distinctCount), list items
 * (lastK).
 */
export type FieldNeed = 'number' | 'scalar' | 'listable';
export type NeedType = { number: number; scalar: string | number | boolean; listable: string | number };

export type NumericAggregateKind = 'sum' | 'mean' | 'min' | 'max';

/**
 * The field types each aggregation over a field accepts (count takes no field). The one table: feature sets are
 * checked against it and the feature generator (templates/) offers fields from it.
 */
export const AGGREGATION_FIELD_TYPES = {
  sum: ['number'],
  mean: ['number'],
  min: ['number'],
  max: ['number'],
  last: ['number', 'string', 'boolean'],
  distinctCount: ['number', 'string', 'boolean'],
  lastK: ['number', 'string'],
} as const satisfies Record<NumericAggregateKind | 'last' | 'distinctCount' | 'lastK', readonly FieldType[]>;

export interface AggregateOptions {
  readonly window?: Window;
  /** Used only when the aggregate has no value (e.g. an empty window); null values are never replaced silently. */
  readonly default?: FeatureValue;
}

interface AggregateCommon {
  readonly window: Window;
  readonly default: FeatureValue;
}
export interface CountAggregate extends AggregateCommon {
  readonly kind: 'count';
}
export interface FieldAggregate<F extends string = string, Need extends FieldNeed = FieldNeed> extends AggregateCommon {
  readonly kind: NumericAggregateKind | 'last' | 'distinctCount' | 'lastK';
  readonly field: F;
  readonly need: Need;
  /** Only for lastK: how many values to keep. */
  readonly k?: number;
}
export type Aggregate = CountAggregate | FieldAggregate;

function common(options: AggregateOptions | undefined): AggregateCommon {
  return { window: options?.window ?? lifetime, default: options?.default ?? null };
}

/** Number of events in the window (null field values do not matter). Never missing: 0 when empty. */
export function count(options?: AggregateOptions): CountAggregate {
  return { kind: 'count', ...common(options) };
}

function numeric(kind: NumericAggregateKind) {
  return <F extends string>(field: F, options?: AggregateOptions): FieldAggregate<F, 'number'> => ({
    kind,
    field,
    need: 'number',
    ...common(options),
  });
}
/** Sum / mean / min / max of the non-null values in the window; missing when there are none. */
export const sum = numeric('sum');
export const mean = numeric('mean');
export const min = numeric('min');
export const max = numeric('max');

/** The latest non-null value by (eventTime, eventId). */
export function last<F extends string>(field: F, options?: AggregateOptions): FieldAggregate<F, 'scalar'> {
  return { kind: 'last', field, need: 'scalar', ...common(options) };
}

/** Number of distinct non-null values in the window. Never missing: 0 when empty. */
export function distinctCount<F extends string>(field: F, options?: AggregateOptions): FieldAggregate<F, 'scalar'> {
  return { kind: 'distinctCount', field, need: 'scalar', ...common(options) };
}

/** The k latest non-null values by (eventTime, eventId), newest first; missing when there are none. */
export function lastK<F extends string>(
  field: F,
  k: number,
  options?: AggregateOptions,
): FieldAggregate<F, 'listable'> {
  if (!Number.isSafeInteger(k) || k < 1)
    throw new DefinitionError(`lastK('${field}'): k must be a whole number >= 1, got ${k}`);
  return { kind: 'lastK', field, need: 'listable', k, ...common(options) };
}

/* ------------------------------------------------------------------ request features and transforms */

/** Computed from the request/event itself at serving time (and from the labelled event offline). */
export interface RequestFeature<E> {
  readonly kind: 'request';
  readonly compute: (event: E) => FeatureValue;
}
export function request<E>(compute: (event: E) => FeatureValue): RequestFeature<E> {
  return { kind: 'request', compute };
}

/** A stateless function of other features' values (aggregates or request features). */
export interface Transform<Input extends string = string> {
  readonly kind: 'transform';
  readonly inputs: readonly Input[];
  readonly compute: (...values: FeatureValue[]) => FeatureValue;
}
export function transform<const Inputs extends readonly string[]>(
  inputs: Inputs,
  compute: (...values: { [I in keyof Inputs]: FeatureValue }) => FeatureValue,
): Transform<Inputs[number]> {
  return { kind: 'transform', inputs, compute: compute as (...values: FeatureValue[]) => FeatureValue };
}
