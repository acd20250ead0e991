import { DefinitionError, IDENTIFIER, type SourceEvent } from './definition.js';
import type { FeatureSet } from './feature-set.js';

/**
 * The feature sets one model reads, registered once (Chronon's Join, Feast's FeatureService): the online store,
 * the training-set builder, the scorers and the stream processors take it instead of feature set names.
 *
 * A request (or labelled event) is an event of the FIRST set's source. Every set is read for the entity its own
 * `entity.key` names in that event, so each set's entity key must be a string field of it; a set with request
 * features computes them from the request, so it must share the first set's source.
 */
export interface FeatureService<E extends SourceEvent = SourceEvent> {
  readonly name: string;
  readonly featureSets: readonly [FeatureSet<E>, ...FeatureSet<SourceEvent>[]];
  /** The model's inputs, in row order (default: every feature of every set). */
  readonly features: readonly string[];
}

type FeatureSets = readonly [FeatureSet<SourceEvent>, ...FeatureSet<SourceEvent>[]];
/** The request type: the first set's event type. */
type RequestOf<S extends FeatureSets> = S[0] extends FeatureSet<infer E> ? E : never;

export interface FeatureServiceDefinition<S extends FeatureSets> {
  readonly name: string;
  readonly featureSets: S;
  readonly features?: readonly string[];
}

/**
 * The result keeps each set's own event type (`S`) for code that handles one set at a time (stream lanes, backfills).
 */
export function featureService<const S extends FeatureSets>(
  definition: FeatureServiceDefinition<S>,
): Omit<FeatureService<RequestOf<S>>, 'featureSets'> & { readonly featureSets: S } {
  const where = `feature service '${definition.name}'`;
  if (!IDENTIFIER.test(definition.name)) throw new DefinitionError(`${where}: name must be an identifier`);
  const [request, ...others] = definition.featureSets;
  checkSetNames(where, definition.featureSets);
  for (const set of others) checkReadableFromRequest(where, request, set);
  const all = featureNames(where, definition.featureSets);
  const features = definition.features ?? all;
  const unknown = features.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    throw new DefinitionError(`${where}: unknown feature(s) ${unknown.join(', ')} (features: ${all.join(', ')})`);
  }
  if (new Set(features).size !== features.length) {
    throw new DefinitionError(`${where}: a model feature is listed twice`);
  }
  return { name: definition.name, featureSets: definition.featureSets, features };
}

/** Every feature name of a set, in definition order: aggregates, request features, transforms. */
function featureNamesOf(set: FeatureSet<SourceEvent>): string[] {
  return [...set.aggregates, ...set.requestFeatures, ...set.transforms].map((f) => f.name);
}

function checkSetNames(where: string, sets: readonly FeatureSet<SourceEvent>[]): void {
  const names = sets.map((set) => set.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new DefinitionError(`${where}: feature set '${twice}' is listed twice`);
}

function checkReadableFromRequest(where: string, request: FeatureSet<SourceEvent>, set: FeatureSet<SourceEvent>): void {
  if (request.source.fieldTypes[set.entity.key] !== 'string') {
    throw new DefinitionError(
      `${where}: feature set '${set.name}' is read by ${set.entity.name} '${set.entity.key}', ` +
        `which requests (source '${request.source.name}') do not carry`,
    );
  }
  if (set.requestFeatures.length > 0 && set.source !== request.source) {
    throw new DefinitionError(
      `${where}: feature set '${set.name}' has request features but another source than the request ` +
        `('${request.source.name}'); list it first or move them`,
    );
  }
}

/** The model input merges every set's values by name: two sets may not define the same feature. */
function featureNames(where: string, sets: readonly FeatureSet<SourceEvent>[]): string[] {
  const owner = new Map<string, string>();
  for (const set of sets) {
    for (const name of featureNamesOf(set)) {
      const other = owner.get(name);
      if (other !== undefined) {
        throw new DefinitionError(`${where}: feature '${name}' is defined by both '${other}' and '${set.name}'`);
      }
      owner.set(name, set.name);
    }
  }
  return [...owner.keys()];
}
