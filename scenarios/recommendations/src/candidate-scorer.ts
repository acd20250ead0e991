import { createOnlineEngine, modelInput, type FeatureSet, type FeatureValues, type ProcessingTime, type SourceEvent } from '@rtml/features';
import type { OnlineRead, OnlineStore } from '@rtml/online-store';
import { modelRow, type Fallback, type Fallbacks, type ScoreResponse, type ScoringModel, type ServedFeature, type ServedLog } from '@rtml/serving';

/**
 * Scores a batch of requests whose features come from SEVERAL entities: each feature set is read for the entity
 * its own source is keyed by (user set -> request.userId, item set -> request.itemId). `@rtml/serving`'s scorer
 * reads every set for the request's one entity, which a (user, candidate item) pair does not fit.
 * Scenario-neutral on purpose: it should move into @rtml/serving (see the README).
 */
export interface MultiEntityScorerOptions<E extends SourceEvent> {
  readonly store: OnlineStore;
  /** Each set's aggregates are read online; its request features and transforms are computed from the request. */
  readonly featureSets: readonly FeatureSet<E>[];
  readonly model: ScoringModel;
  readonly fallbacks: Fallbacks;
  readonly log?: ServedLog;
}

/** All requests of one batch are read at the same `now` (one pipelined round trip per feature set). */
export type MultiEntityScorer<E> = (requests: readonly E[], now: ProcessingTime) => Promise<ScoreResponse[]>;

export function createMultiEntityScorer<E extends SourceEvent>(options: MultiEntityScorerOptions<E>): MultiEntityScorer<E> {
  const uncovered = options.model.featureNames.filter((name) => options.fallbacks[name] === undefined);
  if (uncovered.length > 0) throw new Error(`no fallback for model feature(s): ${uncovered.join(', ')}`);
  const keyed = options.featureSets.map((set) => ({ set, entityKey: createOnlineEngine(set).entityKey }));
  return async (requests, now) => {
    const reads = await Promise.all(keyed.map(({ set, entityKey }) => readByEntity(options.store, set.name, requests.map(entityKey), now)));
    return requests.map((request) => {
      const perSet = keyed.map(({ set, entityKey }, i) => ({ set, read: reads[i]!.get(entityKey(request))! }));
      return scoreOne(options, request, perSet, now);
    });
  };
}

async function readByEntity(store: OnlineStore, featureSet: string, entityIds: readonly string[], now: ProcessingTime): Promise<Map<string, OnlineRead>> {
  const distinct = [...new Set(entityIds)];
  const reads = await store.readMany(featureSet, distinct, now);
  return new Map(reads.map((read) => [read.entityId, read]));
}

interface SetRead<E extends SourceEvent> {
  readonly set: FeatureSet<E>;
  readonly read: OnlineRead;
}

function scoreOne<E extends SourceEvent>(options: MultiEntityScorerOptions<E>, request: E, perSet: readonly SetRead<E>[], now: ProcessingTime): ScoreResponse {
  // Stale and missing reads contribute no values: the model gets the fallbacks, flagged (as @rtml/serving does).
  const values: FeatureValues = Object.assign({}, ...perSet.map(({ set, read }) => modelInput(set, read.status === 'fresh' ? read.values : {}, request)));
  const { row, imputed } = modelRow(values, options.model.featureNames, options.fallbacks);
  const score = options.model.score(row);
  const features = servedFeatures(values, perSet);
  const fallbacks: Fallback[] = imputed.map((feature) => ({ feature, reason: fallbackReason(features[feature]), value: options.fallbacks[feature]! }));
  options.log?.append({
    requestId: request.eventId,
    // The log's Kafka key: every entity the row was read for ("user7|item12").
    entityId: perSet.map(({ read }) => read.entityId).join('|'),
    requestTime: request.eventTime,
    servedAt: now,
    model: options.model.name,
    values,
    status: Object.fromEntries(Object.entries(features).map(([name, f]) => [name, f.status])),
    fallbacks: imputed,
    score,
  });
  return { requestId: request.eventId, score, features, fallbacks };
}

/** Aggregates carry their set's read status and freshness; request features and transforms are `computed`. */
function servedFeatures<E extends SourceEvent>(values: FeatureValues, perSet: readonly SetRead<E>[]): Record<string, ServedFeature> {
  const origin = new Map(perSet.flatMap(({ set, read }) => set.aggregates.map((a) => [a.name, read] as const)));
  // Every aggregate is listed, also when its read was stale or missing and so contributed no value.
  const names = new Set([...origin.keys(), ...Object.keys(values)]);
  return Object.fromEntries(
    [...names].map((name) => {
      const read = origin.get(name);
      const served: ServedFeature =
        read === undefined
          ? { value: values[name] ?? null, freshnessMs: null, status: 'computed' }
          : read.status === 'missing'
            ? { value: null, freshnessMs: null, status: 'missing' }
            : { value: read.values[name] ?? null, freshnessMs: read.freshnessMs, status: read.status };
      return [name, served];
    }),
  );
}

function fallbackReason(feature: ServedFeature | undefined): Fallback['reason'] {
  if (feature?.status === 'stale') return 'stale';
  return feature === undefined || feature.status === 'missing' ? 'missing' : 'null';
}
