import {
  AGGREGATION_FIELD_TYPES,
  DefinitionError,
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
  readonly compute: (event: E) => FeatureValue;
}

export interface NamedTransform {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly compute: (...values: FeatureValue[]) => FeatureValue;
}

/** A validated feature set: what both executions (offline SQL, online engine) are built from. */
export interface FeatureSet<E extends SourceEvent> {
  readonly name: string;
  readonly entity: string;
  readonly source: Source<E>;
  readonly aggregates: readonly AggregateFeature[];
  readonly requestFeatures: readonly NamedRequestFeature<E>[];
  readonly transforms: readonly NamedTransform[];
}

/** Turns an aggregate over a field of the wrong type (or an unknown field) into a compile error naming the allowed fields. */
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
  readonly entity: string;
  readonly source: Source<E>;
  readonly features: A & CheckAggregates<E, A>;
  /**
   * A bare function `(event) => value` gets the event type inferred from the source; `request(fn)` needs its
   * parameter annotated (TypeScript cannot infer through the nested generic call).
   */
  readonly requestFeatures?: Readonly<Record<R, RequestFeature<E> | ((event: E) => FeatureValue)>>;
  readonly transforms?: Readonly<Record<string, Transform<NoInfer<(keyof A & string) | R>>>>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_COLUMNS = new Set(['entity_id', 'event_time']);

export function featureSet<
  E extends SourceEvent,
  const A extends Record<string, Aggregate>,
  R extends string = never,
>(definition: FeatureSetDefinition<E, A, R>): FeatureSet<E> {
  const where = `feature set '${definition.name}'`;
  if (!IDENTIFIER.test(definition.name)) throw new DefinitionError(`${where}: name must be an identifier`);
  const aggregates = Object.entries(definition.features as Record<string, Aggregate>).map(([name, spec]) =>
    resolveAggregate(`${where}, feature '${name}'`, name, spec, definition.source),
  );
  if (aggregates.length === 0) throw new DefinitionError(`${where}: define at least one aggregate feature`);
  const requestFeatures = Object.entries<RequestFeature<E> | ((event: E) => FeatureValue)>(definition.requestFeatures ?? {}).map(
    ([name, feature]) => ({ name, compute: typeof feature === 'function' ? feature : feature.compute }),
  );
  const transforms = Object.entries(definition.transforms ?? {}).map(([name, t]) => ({ name, inputs: t.inputs, compute: t.compute }));
  checkNames(where, [...aggregates, ...requestFeatures, ...transforms].map((f) => f.name));
  const inputs = new Set([...aggregates, ...requestFeatures].map((f) => f.name));
  for (const t of transforms) {
    const unknown = t.inputs.filter((input) => !inputs.has(input));
    if (unknown.length > 0) {
      throw new DefinitionError(`${where}, transform '${t.name}': unknown input(s) ${unknown.join(', ')} (inputs must be aggregate or request features)`);
    }
  }
  return { name: definition.name, entity: definition.entity, source: definition.source, aggregates, requestFeatures, transforms };
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

function resolveAggregate<E extends SourceEvent>(where: string, name: string, spec: Aggregate, source: Source<E>): AggregateFeature {
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
    throw new DefinitionError(`${where}: unknown field '${spec.field}' in source '${source.name}' (plain fields: ${known})`);
  }
  const allowed: readonly FieldType[] = AGGREGATION_FIELD_TYPES[spec.kind];
  if (!allowed.includes(fieldType)) {
    throw new DefinitionError(`${where}: ${spec.kind} needs a ${allowed.join(' or ')} field, '${spec.field}' is ${fieldType}`);
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
