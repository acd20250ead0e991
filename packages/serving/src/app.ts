import Fastify, { type FastifyInstance } from 'fastify';
import {
  eventTime,
  nowProcessingTime,
  type FeatureValues,
  type FeatureVector,
  type OnlineEngine,
  type ProcessingTime,
  type SourceEvent,
} from '@rtml/features';
import type { OnlineRead, OnlineStore } from '@rtml/online-store';
import { modelRow, ServingError, type Fallbacks } from './model-row.js';
import type { ServedLog } from './served-log.js';

/** Where a served feature value came from. `computed`: request-time feature or transform, never stale. */
export type FeatureStatus = 'fresh' | 'stale' | 'missing' | 'computed';

export interface ScoringModel {
  readonly name: string;
  readonly featureNames: readonly string[];
  /** Probability-like score for one model input row (in featureNames order). */
  score(row: readonly number[]): number;
}

/** Builds the model input from the primary vector and the request. Default: `engine.serving` (the shared code). */
export type Assembler<E extends SourceEvent> = (vector: FeatureVector, request: E) => FeatureValues;

export interface ServingOptions<E extends SourceEvent> {
  readonly store: OnlineStore;
  /** Parses the request and owns the request-time features (the primary feature set). */
  readonly engine: OnlineEngine<E>;
  /** Other feature sets keyed by the same entity, read alongside the primary one (aggregates only). */
  readonly contextFeatureSets?: readonly string[];
  readonly model: ScoringModel;
  /** Must cover every model feature: used when a value is missing, null or stale. */
  readonly fallbacks: Fallbacks;
  readonly assemble?: Assembler<E>;
  readonly log?: ServedLog;
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

function validateOptions<E extends SourceEvent>(options: ServingOptions<E>): void {
  const uncovered = options.model.featureNames.filter((name) => options.fallbacks[name] === undefined);
  if (uncovered.length > 0) throw new ServingError(`no fallback for model feature(s): ${uncovered.join(', ')}`);
}

/** Stale and missing reads contribute no values: the model gets the fallbacks instead, flagged. */
function usableValues(read: OnlineRead): FeatureValues {
  return read.status === 'fresh' ? read.values : {};
}

function featureOrigins(reads: readonly OnlineRead[]): Map<string, OnlineRead> {
  const origins = new Map<string, OnlineRead>();
  for (const read of reads) if (read.status !== 'missing') for (const name of Object.keys(read.values)) origins.set(name, read);
  return origins;
}

function describeFeatures(values: FeatureValues, reads: readonly OnlineRead[], modelFeatures: readonly string[]): Record<string, ServedFeature> {
  const origins = featureOrigins(reads);
  const describe = (name: string): ServedFeature => {
    const value = values[name] ?? null;
    const origin = origins.get(name);
    if (origin && origin.status !== 'missing') return { value, status: origin.status, freshnessMs: origin.freshnessMs };
    return { value, status: name in values ? 'computed' : 'missing', freshnessMs: null };
  };
  return Object.fromEntries([...new Set([...Object.keys(values), ...modelFeatures])].map((name) => [name, describe(name)]));
}

function fallbackReason(feature: ServedFeature): Fallback['reason'] {
  return feature.status === 'stale' ? 'stale' : feature.status === 'missing' ? 'missing' : 'null';
}

export function createScorer<E extends SourceEvent>(options: ServingOptions<E>): (request: E) => Promise<ScoreResponse> {
  validateOptions(options);
  const { store, engine, model, fallbacks } = options;
  const primarySet = engine.featureSet.name;
  const sets = [primarySet, ...(options.contextFeatureSets ?? [])];
  const assemble = options.assemble ?? ((vector, request) => engine.serving(vector, request));
  const clock = options.clock ?? (() => nowProcessingTime());

  return async (request) => {
    const entityId = engine.entityKey(request);
    const now = clock(request);
    const reads = await Promise.all(sets.map((set) => store.read(set, entityId, now)));
    const [primary, ...context] = reads as [OnlineRead, ...OnlineRead[]];
    const vector: FeatureVector = { featureSet: primarySet, entityId, eventTime: eventTime(now), values: usableValues(primary) };
    const values: FeatureValues = Object.assign({}, ...context.map(usableValues), assemble(vector, request));
    const { row, imputed } = modelRow(values, model.featureNames, fallbacks);
    const score = model.score(row);
    const features = describeFeatures(values, reads, model.featureNames);
    options.log?.append({
      requestId: request.eventId,
      entityId,
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
  };
}

/**
 * POST /score: body = the raw request event (validated by the engine's schema; 400 with the reason if invalid).
 * GET /health: 200 when Redis answers a read, 503 otherwise.
 */
export function createServingApp<E extends SourceEvent>(options: ServingOptions<E>): FastifyInstance {
  const score = createScorer(options);
  const app = Fastify({ logger: false });
  app.post('/score', async (req, reply) => {
    const parsed = options.engine.parse(req.body);
    if (!parsed.ok) return reply.code(400).send({ error: parsed.reason });
    return score(parsed.event);
  });
  app.get('/health', async (_req, reply) => {
    try {
      await options.store.read(options.engine.featureSet.name, '__health__');
      return { status: 'ok', model: options.model.name, features: options.model.featureNames.length };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', error: error instanceof Error ? error.message : String(error) });
    }
  });
  return app;
}
