import {
  createOnlineEngine,
  eventTime,
  modelInput,
  nowProcessingTime,
  type FeatureSet,
  type FeatureValues,
  type FeatureVector,
  type OnlineEngine,
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

/** Builds the model input from the primary vector and the request. Default: `engine.serving` (the shared code). */
export type Assembler<E extends SourceEvent> = (vector: FeatureVector, request: E) => FeatureValues;

interface ScorerBase {
  readonly store: OnlineStore;
  readonly model: ScoringModel;
  /** Must cover every model feature: used when a value is missing, null or stale. */
  readonly fallbacks: Fallbacks;
  readonly log?: ServedLog;
}

export interface ServingOptions<E extends SourceEvent> extends ScorerBase {
  /** Parses the request and owns the request-time features (the primary feature set). */
  readonly engine: OnlineEngine<E>;
  /** Other feature sets keyed by the same entity, read alongside the primary one (aggregates only). */
  readonly contextFeatureSets?: readonly string[];
  readonly assemble?: Assembler<E>;
  /** The "now" features are read at. Default: wall clock. Replays pass the request's event time. */
  readonly clock?: (request: E) => ProcessingTime;
}

export interface MultiEntityScorerOptions<E extends SourceEvent> extends ScorerBase {
  /**
   * Each set is read for the entity its own source is keyed by (a user set by `userId`, an item set by `itemId`):
   * its aggregates come from the online store, its request features and transforms from the request.
   */
  readonly featureSets: readonly FeatureSet<E>[];
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

/** One feature set as the scorer reads it: under which entity, and which aggregates it declares (if known). */
interface ReadSource<E> {
  readonly name: string;
  readonly entityKey: (request: E) => string;
  readonly aggregates: readonly string[];
}

/** Reads of every source for one request (in source order) -> the model input. Reads are already usable: see `usableValues`. */
type ReadAssembler<E> = (values: readonly FeatureValues[], request: E, now: ProcessingTime, entityIds: readonly string[]) => FeatureValues;

interface Core<E> extends ScorerBase {
  readonly sources: readonly ReadSource<E>[];
  readonly assemble: ReadAssembler<E>;
}

function validateOptions(options: ScorerBase): void {
  const uncovered = options.model.featureNames.filter((name) => options.fallbacks[name] === undefined);
  if (uncovered.length > 0) throw new ServingError(`no fallback for model feature(s): ${uncovered.join(', ')}`);
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
    for (const name of [...source.aggregates, ...(read.status === 'missing' ? [] : Object.keys(read.values))]) origins.set(name, read);
  });
  return origins;
}

function describeFeatures<E>(values: FeatureValues, sources: readonly ReadSource<E>[], reads: readonly OnlineRead[], modelFeatures: readonly string[]): Record<string, ServedFeature> {
  const origins = featureOrigins(sources, reads);
  const describe = (name: string): ServedFeature => {
    const origin = origins.get(name);
    // No read behind it: a request feature or transform, or an assembler's stand-in for a missing value.
    if (origin === undefined || origin.status === 'missing') return { value: values[name] ?? null, status: name in values ? 'computed' : 'missing', freshnessMs: null };
    // A stale value is reported as read (the model got the fallback, listed in `fallbacks`).
    return { value: values[name] ?? origin.values[name] ?? null, status: origin.status, freshnessMs: origin.freshnessMs };
  };
  return Object.fromEntries([...new Set([...Object.keys(values), ...origins.keys(), ...modelFeatures])].map((name) => [name, describe(name)]));
}

function fallbackReason(feature: ServedFeature): Fallback['reason'] {
  return feature.status === 'stale' ? 'stale' : feature.status === 'missing' ? 'missing' : 'null';
}

async function readByEntity(store: OnlineStore, featureSet: string, entityIds: readonly string[], now: ProcessingTime): Promise<Map<string, OnlineRead>> {
  const reads = await store.readMany(featureSet, [...new Set(entityIds)], now);
  return new Map(reads.map((read) => [read.entityId, read]));
}

/** The one scoring path of both scorers: read every source per request, assemble, impute, score, log. */
function createBatchScorer<E extends SourceEvent>(core: Core<E>): BatchScorer<E> {
  validateOptions(core);
  return async (requests, now) => {
    const bySource = await Promise.all(core.sources.map((source) => readByEntity(core.store, source.name, requests.map(source.entityKey), now)));
    return requests.map((request) => scoreOne(core, request, core.sources.map((source, i) => bySource[i]!.get(source.entityKey(request))!), now));
  };
}

function scoreOne<E extends SourceEvent>(core: Core<E>, request: E, reads: readonly OnlineRead[], now: ProcessingTime): ScoreResponse {
  const { model, fallbacks } = core;
  const entityIds = reads.map((read) => read.entityId);
  const values = core.assemble(reads.map(usableValues), request, now, entityIds);
  const { row, imputed } = modelRow(values, model.featureNames, fallbacks);
  const score = model.score(row);
  const features = describeFeatures(values, core.sources, reads, model.featureNames);
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
  const fallbackList = imputed.map((feature) => ({ feature, reason: fallbackReason(features[feature]!), value: fallbacks[feature]! }));
  return { requestId: request.eventId, score, features, fallbacks: fallbackList };
}

/** One request, one entity: the engine's set plus context sets keyed by the same entity. */
export function createScorer<E extends SourceEvent>(options: ServingOptions<E>): (request: E) => Promise<ScoreResponse> {
  const { engine } = options;
  const primary = engine.featureSet;
  const entityKey = (request: E) => engine.entityKey(request);
  const sources: ReadSource<E>[] = [
    { name: primary.name, entityKey, aggregates: primary.aggregates.map((a) => a.name) },
    ...(options.contextFeatureSets ?? []).map((name) => ({ name, entityKey, aggregates: [] })),
  ];
  const assemble = options.assemble ?? ((vector, request) => engine.serving(vector, request));
  const clock = options.clock ?? (() => nowProcessingTime());
  const score = createBatchScorer({
    ...options,
    sources,
    assemble: ([own, ...context], request, now, [entityId]) => {
      const vector: FeatureVector = { featureSet: primary.name, entityId: entityId!, eventTime: eventTime(now), values: own! };
      return Object.assign({}, ...context, assemble(vector, request)) as FeatureValues;
    },
  });
  return async (request) => (await score([request], clock(request)))[0]!;
}

/** A batch of requests (e.g. a user's candidate items), each feature set read by its own entity key. */
export function createMultiEntityScorer<E extends SourceEvent>(options: MultiEntityScorerOptions<E>): BatchScorer<E> {
  const sets = options.featureSets;
  const sources = sets.map((set) => {
    const engine = createOnlineEngine(set);
    return { name: set.name, entityKey: (event: E) => engine.entityKey(event), aggregates: set.aggregates.map((a) => a.name) };
  });
  return createBatchScorer({
    ...options,
    sources,
    assemble: (values, request) => Object.assign({}, ...sets.map((set, i) => modelInput(set, values[i]!, request))) as FeatureValues,
  });
}
