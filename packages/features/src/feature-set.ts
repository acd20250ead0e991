import {
  AGGREGATION_FIELD_TYPES,
  DefinitionError,
  IDENTIFIER,
  type Entity,
  type Aggregate,
  type FieldAggregate,
  type FieldType,
  type FieldsOf,
  type NeedType,
  type RequestFeature,
  type Source,
  type SourceEvent,
  type Transform,
} from './definition.js';
import { duration, type DurationMs } from './time.js';
import type { FeatureValue } from './vector.js';

/** The type of an aggregate feature's value; `null` (missing) is always possible too unless it is a count. */
export type ValueType = FieldType | 'number[]' | 'string[]';

export interface AggregateFeature {
  readonly name: string;
  readonly spec: Aggregate;
  readonly valueType: ValueType;
}

export interface NamedRequestFeature<E> {
  readonly name: string;
  compute(event: E): FeatureValue;
}

export interface NamedTransform {
  readonly name: string;
  readonly inputs: readonly string[];
  compute(...values: FeatureValue[]): FeatureValue;
}

/** How long a Redis entry lives after its last write when the definition says nothing (`onlineExpiry`). */
export const DEFAULT_ONLINE_EXPIRY = duration.days(30);

/** A validated feature set: what both executions (offline SQL, online engine) are built from. */
export interface FeatureSet<E extends SourceEvent> {
  readonly name: string;
  readonly entity: Entity;
  readonly source: Source<E>;
  /**
   * Freshness: a value whose event time is older than this is not used, online (the read is `stale`, the scorer
   * takes the fallback) and offline (the training-set join gives NULL). Undefined: never too old.
   */
  readonly maxAge: DurationMs | undefined;
  /** Redis expiry of an entity's online entry, refreshed on every write, so abandoned entities disappear. */
  readonly onlineExpiry: DurationMs;
  readonly aggregates: readonly AggregateFeature[];
  readonly requestFeatures: readonly NamedRequestFeature<E>[];
  readonly transforms: readonly NamedTransform[];
}

/**
 * Turns an aggregate over a field of the wrong type (or an unknown field) into a compile error naming the allowed
 * fields.
 */
type CheckAggregates<E, A> = {
  [N in keyof A]: A[N] extends FieldAggregate<infer F, infer Need>
    ? string extends F // a field name only known at run time (generated definitions): checked at run time
      ? A[N]
      : F extends FieldsOf<E, NeedType[Need]>
        ? A[N]
        : FieldAggregate<FieldsOf<E, NeedType[Need]>, Need>
    : A[N];
};

export interface FeatureSetDefinition<E extends SourceEvent, A extends Record<string, Aggregate>, R extends string> {
  readonly name: string;
  /** Whose features these are; its `key` must be a string field of the source's events. */
  readonly entity: Entity<FieldsOf<E, string>>;
  readonly source: Source<E>;
  /** See `FeatureSet.maxAge`. Default: never too old. */
  readonly maxAge?: DurationMs;
  /** See `FeatureSet.onlineExpiry`. Default `DEFAULT_ONLINE_EXPIRY` (30 days). */
  readonly onlineExpiry?: DurationMs;
  readonly features: A & CheckAggregates<E, A>;
  /**
   * A bare function `(event) => value` gets the event type inferred from the source; `request(fn)` needs its
   * parameter annotated (TypeScript cannot infer through the nested generic call).
   */
  readonly requestFeatures?: Readonly<Record<R, RequestFeature<E> | ((event: E) => FeatureValue)>>;
  readonly transforms?: Readonly<Record<string, Transform<NoInfer<(keyof A & string) | R>>>>;
}

const RESERVED_COLUMNS = new Set(['entity_id', 'event_time']);

export function featureSet<E extends SourceEvent, const A extends Record<string, Aggregate>, R extends string = never>(
  definition: FeatureSetDefinition<E, A, R>,
): FeatureSet<E> {
  const where = `feature set '${definition.name}'`;
  if (!IDENTIFIER.test(definition.name)) throw new DefinitionError(`${where}: name must be an identifier`);
  checkEntity(where, definition.entity, definition.source);
  const durations = { maxAge: definition.maxAge, onlineExpiry: definition.onlineExpiry ?? DEFAULT_ONLINE_EXPIRY };
  checkDurations(where, durations);
  const aggregates = Object.entries(definition.features as Record<string, Aggregate>).map(([name, spec]) =>
    resolveAggregate(`${where}, feature '${name}'`, name, spec, definition.source),
  );
  if (aggregates.length === 0) throw new DefinitionError(`${where}: define at least one aggregate feature`);
  const requestFeatures = Object.entries<RequestFeature<E> | ((event: E) => FeatureValue)>(
    definition.requestFeatures ?? {},
  ).map(([name, feature]) => ({ name, compute: typeof feature === 'function' ? feature : feature.compute }));
  const transforms = Object.entries(definition.transforms ?? {}).map(([name, t]) => ({
    name,
    inputs: t.inputs,
    compute: t.compute,
  }));
  checkNames(
    where,
    [...aggregates, ...requestFeatures, ...transforms].map((f) => f.name),
  );
  const inputs = new Set([...aggregates, ...requestFeatures].map((f) => f.name));
  for (const t of transforms) {
    const unknown = t.inputs.filter((input) => !inputs.has(input));
    if (unknown.length > 0) {
      throw new DefinitionError(
        `${where}, transform '${t.name}': unknown input(s) ${unknown.join(', ')} (inputs must be aggregate ` +
          `or request features)`,
      );
    }
  }
  const { name, entity, source } = definition;
  return { name, entity, source, ...durations, aggregates, requestFeatures, transforms };
}

function checkEntity<E extends SourceEvent>(where: string, entity: Entity, source: Source<E>): void {
  if (source.fieldTypes[entity.key] !== 'string') {
    const strings = Object.keys(source.fieldTypes).filter((field) => source.fieldTypes[field] === 'string');
    throw new DefinitionError(
      `${where}: entity '${entity.name}' is keyed by '${entity.key}', which is not a string field of source ` +
        `'${source.name}' (string fields: ${strings.join(', ')})`,
    );
  }
}

function checkDurations(where: string, durations: { maxAge: DurationMs | undefined; onlineExpiry: DurationMs }): void {
  if (durations.maxAge !== undefined && !(Number.isSafeInteger(durations.maxAge) && durations.maxAge >= 0)) {
    throw new DefinitionError(`${where}: maxAge must be a non-negative whole number of ms, got ${durations.maxAge}`);
  }
  if (!(Number.isSafeInteger(durations.onlineExpiry) && durations.onlineExpiry > 0)) {
    const got = durations.onlineExpiry;
    throw new DefinitionError(`${where}: onlineExpiry must be a positive whole number of ms, got ${got}`);
  }
}

function checkNames(where: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (!IDENTIFIER.test(name)) throw new DefinitionError(`${where}: feature name '${name}' must be an identifier`);
    if (RESERVED_COLUMNS.has(name)) throw new DefinitionError(`${where}: feature name '${name}' is reserved`);
    if (seen.has(name)) throw new DefinitionError(`${where}: feature name '${name}' is used twice`);
    seen.add(name);
  }
}

function resolveAggregate<E extends SourceEvent>(
  where: string,
  name: string,
  spec: Aggregate,
  source: Source<E>,
): AggregateFeature {
  const valueType = aggregateValueType(where, spec, source);
  if (spec.default !== null && !matchesValueType(spec.default, valueType)) {
    throw new DefinitionError(`${where}: default ${JSON.stringify(spec.default)} is not a ${valueType}`);
  }
  return { name, spec, valueType };
}

function aggregateValueType<E extends SourceEvent>(where: string, spec: Aggregate, source: Source<E>): ValueType {
  if (spec.kind === 'count') return 'number';
  const fieldType = source.fieldTypes[spec.field];
  if (fieldType === undefined) {
    const known = Object.keys(source.fieldTypes).join(', ');
    throw new DefinitionError(
      `${where}: unknown field '${spec.field}' in source '${source.name}' (plain fields: ${known})`,
    );
  }
  const allowed: readonly FieldType[] = AGGREGATION_FIELD_TYPES[spec.kind];
  if (!allowed.includes(fieldType)) {
    throw new DefinitionError(
      `${where}: ${spec.kind} needs a ${allowed.join(' or ')} field, '${spec.field}' is ${fieldType}`,
    );
  }
  if (spec.kind === 'last') return fieldType;
  if (spec.kind === 'lastK') return fieldType === 'string' ? 'string[]' : 'number[]';
  return 'number';
}

function matchesValueType(value: FeatureValue, type: ValueType): boolean {
  if (type === 'number[]' || type === 'string[]') {
    const item = type === 'number[]' ? 'number' : 'string';
    return Array.isArray(value) && value.every((v) => typeof v === item && (item !== 'number' || Number.isFinite(v)));
  }
  return typeof value === type && (type !== 'number' || Number.isFinite(value));
}
