import {
  eventTime,
  modelInput,
  nowProcessingTime,
  type FeatureService,
  type FeatureValues,
  type FeatureVector,
  type ProcessingTime,
  type SourceEvent,
} from '@rtml/features';
import type { OnlineRead, OnlineStore } from '@rtml/online-store';
import { modelRow, type Fallbacks } from '@rtml/ml';
import { ServingError } from './errors.js';
import type { FeatureStatus, ServedLog } from './served-log.js';

export interface ScoringModel {
  readonly name: string;
  readonly featureNames: readonly string[];
  /** Probability-like score for one model input row (in featureNames order). */
  score(row: readonly number[]): number;
}

/**
 * Builds the model input of the first feature set from its vector and the request. Default: `modelInput`, the code
 * training rows are built with (replace it only to measure what a re-implementation costs).
 */
export type Assembler<E extends SourceEvent> = (vector: FeatureVector, request: E) => FeatureValues;

export interface ScorerOptions<E extends SourceEvent> {
  readonly store: OnlineStore;
  /**
   * The model's feature sets. A request is an event of the first set's source; each set is read for the entity its
   * own `entity.key` names in it (a user set by `userId`, an item set by `itemId`): its aggregates come from the
   * online store, its request features and transforms from the request.
   */
  readonly featureSets: FeatureService<E>;
  readonly model: ScoringModel;
  /** Must cover every model feature: used when a value is missing, null or stale. */
  readonly fallbacks: Fallbacks;
  readonly log?: ServedLog;
}

export interface ServingOptions<E extends SourceEvent> extends ScorerOptions<E> {
  readonly assemble?: Assembler<E>;
  /** The "now" features are read at. Default: wall clock. Replays pass the request's event time. */
  readonly clock?: (request: E) => ProcessingTime;
}

export interface ServedFeature {
  readonly value: number | string | boolean | null | readonly (number | string)[];
  readonly freshnessMs: number | null;
  readonly status: FeatureStatus;
}

export interface Fallback {
  readonly feature: string;
  readonly reason: 'missing' | 'stale' | 'null';
  readonly value: number;
}

export interface ScoreResponse {
  readonly requestId: string;
  readonly score: number;
  readonly features: Readonly<Record<string, ServedFeature>>;
  readonly fallbacks: readonly Fallback[];
}

/** All requests of one batch are read at the same `now` (one pipelined round trip per feature set). */
export type BatchScorer<E> = (requests: readonly E[], now: ProcessingTime) => Promise<ScoreResponse[]>;

/** One feature set as the scorer reads it: under which entity id, and which aggregates it declares. */
interface ReadSource<E> {
  readonly name: string;
  readonly entityIdOf: (request: E) => string;
  readonly aggregates: readonly string[];
}

/**
 * Reads of every source for one request (in source order) -> the model input. Reads are already usable: see
 * `usableValues`.
 */
type ReadAssembler<E> = (
  values: readonly FeatureValues[],
  request: E,
  now: ProcessingTime,
  entityIds: readonly string[],
) => FeatureValues;

interface Core<E extends SourceEvent> extends ScorerOptions<E> {
  readonly assemble: ReadAssembler<E>;
}

function validateOptions<E extends SourceEvent>(options: ScorerOptions<E>): void {
  const uncovered = options.model.featureNames.filter((name) => options.fallbacks[name] === undefined);
  if (uncovered.length > 0) throw new ServingError(`no fallback for model feature(s): ${uncovered.join(', ')}`);
  const service = options.featureSets;
  const unknown = options.model.featureNames.filter((name) => !service.features.includes(name));
  if (unknown.length > 0) {
    const model = options.model.name;
    throw new ServingError(
      `model ${model} reads feature(s) ${unknown.join(', ')}, which feature service ${service.name} does not serve`,
    );
  }
}

function readSources<E extends SourceEvent>(service: FeatureService<E>): ReadSource<E>[] {
  return service.featureSets.map((set) => ({
    name: set.name,
    entityIdOf: (request: E) => (request as unknown as Record<string, string>)[set.entity.key]!,
    aggregates: set.aggregates.map((a) => a.name),
  }));
}

/** Stale and missing reads contribute no values: the model gets the fallbacks instead, flagged. */
function usableValues(read: OnlineRead): FeatureValues {
  return read.status === 'fresh' ? read.values : {};
}

/** Every declared aggregate, and every value a read returned, belongs to its source's read. */
function featureOrigins<E>(sources: readonly ReadSource<E>[], reads: readonly OnlineRead[]): Map<string, OnlineRead> {
  const origins = new Map<string, OnlineRead>();
  sources.forEach((source, i) => {
    const read = reads[i]!;
    for (const name of [...source.aggregates, ...(read.status === 'missing' ? [] : Object.keys(read.values))])
      origins.set(name, read);
  });
  return origins;
}

function describeFeatures<E>(
  values: FeatureValues,
  sources: readonly ReadSource<E>[],
  reads: readonly OnlineRead[],
  modelFeatures: readonly string[],
): Record<string, ServedFeature> {
  const origins = featureOrigins(sources, reads);
  const describe = (name: string): ServedFeature => {
    const origin = origins.get(name);
    // No read behind it: a request feature or transform, or an assembler's stand-in for a missing value.
    if (origin === undefined || origin.status === 'missing')
      return { value: values[name] ?? null, status: name in values ? 'computed' : 'missing', freshnessMs: null };
    // A stale value is reported as read (the model got the fallback, listed in `fallbacks`).
    return {
      value: values[name] ?? origin.values[name] ?? null,
      status: origin.status,
      freshnessMs: origin.freshnessMs,
    };
  };
  return Object.fromEntries(
    [...new Set([...Object.keys(values), ...origins.keys(), ...modelFeatures])].map((name) => [name, describe(name)]),
  );
}

function fallbackReason(feature: ServedFeature): Fallback['reason'] {
  return feature.status === 'stale' ? 'stale' : feature.status === 'missing' ? 'missing' : 'null';
}

async function readByEntity(
  store: OnlineStore,
  featureSet: string,
  entityIds: readonly string[],
  now: ProcessingTime,
): Promise<Map<string, OnlineRead>> {
  const reads = await store.readMany(featureSet, [...new Set(entityIds)], now);
  return new Map(reads.map((read) => [read.entityId, read]));
}

/** The one scoring path of both scorers: read every source per request, assemble, impute, score, log. */
function createBatchScorer<E extends SourceEvent>(core: Core<E>): BatchScorer<E> {
  validateOptions(core);
  const sources = readSources(core.featureSets);
  return async (requests, now) => {
    const read = (source: ReadSource<E>) => readByEntity(core.store, source.name, requests.map(source.entityIdOf), now);
    const bySource = await Promise.all(sources.map(read));
    return requests.map((request) => {
      const reads = sources.map((source, i) => bySource[i]!.get(source.entityIdOf(request))!);
      return scoreOne(core, sources, request, reads, now);
    });
  };
}

function scoreOne<E extends SourceEvent>(
  core: Core<E>,
  sources: readonly ReadSource<E>[],
  request: E,
  reads: readonly OnlineRead[],
  now: ProcessingTime,
): ScoreResponse {
  const { model, fallbacks } = core;
  const entityIds = reads.map((read) => read.entityId);
  const values = core.assemble(reads.map(usableValues), request, now, entityIds);
  const { row, imputed } = modelRow(values, model.featureNames, fallbacks);
  const score = model.score(row);
  const features = describeFeatures(values, sources, reads, model.featureNames);
  core.log?.append({
    requestId: request.eventId,
    // The log's Kafka key: every entity the row was read for ("user7|item12"), once.
    entityId: [...new Set(entityIds)].join('|'),
    requestTime: request.eventTime,
    servedAt: now,
    model: model.name,
    values,
    status: Object.fromEntries(Object.entries(features).map(([name, f]) => [name, f.status])),
    fallbacks: imputed,
    score,
  });
  const fallbackList = imputed.map((feature) => ({
    feature,
    reason: fallbackReason(features[feature]!),
    value: fallbacks[feature]!,
  }));
  return { requestId: request.eventId, score, features, fallbacks: fallbackList };
}

/** One request at a time, read at `clock(request)`: what the HTTP endpoint serves. */
export function createScorer<E extends SourceEvent>(
  options: ServingOptions<E>,
): (request: E) => Promise<ScoreResponse> {
  const [first] = options.featureSets.featureSets;
  const clock = options.clock ?? (() => nowProcessingTime());
  const assemble = options.assemble;
  const score = createBatchScorer({
    ...options,
    assemble:
      assemble === undefined
        ? allInputs(options.featureSets)
        : ([own, ...others], request, now, [entityId]) => {
            const at = eventTime(now);
            const vector: FeatureVector = { featureSet: first.name, entityId: entityId!, eventTime: at, values: own! };
            return Object.assign({}, ...others, assemble(vector, request)) as FeatureValues;
          },
  });
  return async (request) => (await score([request], clock(request)))[0]!;
}

/** A batch of requests (e.g. a user's candidate items), all read at one `now`. */
export function createMultiEntityScorer<E extends SourceEvent>(options: ScorerOptions<E>): BatchScorer<E> {
  return createBatchScorer({ ...options, assemble: allInputs(options.featureSets) });
}

/** Every set's model input (aggregates read, request features, transforms), merged: names are unique per service. */
function allInputs<E extends SourceEvent>(service: FeatureService<E>): ReadAssembler<E> {
  return (values, request) =>
    Object.assign({}, ...service.featureSets.map((set, i) => modelInput(set, values[i]!, request))) as FeatureValues;
}
