import { join as joinPath } from 'node:path';
import type { ConnectionSettings } from '@rtml/connections';
import { duration, type FeatureValues } from '@rtml/features';
import {
  mismatchRate,
  modelRow,
  predictProbability,
  trainingMeans,
  trainLogisticRegression,
  type Fallbacks,
  type LogisticModel,
} from '@rtml/ml';
import { OfflineStore } from '@rtml/offline-store';
import { KafkaServedLog, type ScoringModel } from '@rtml/serving';
import { createRecommendationApp, type RecommendResponse } from './app.js';
import { evaluate, type Metrics, type Scored } from './evaluate.js';
import { EventCursor, writeEventsFile } from './events-file.js';
import { itemPopularity, recommender, userActivity } from './features.js';
import { generateEvents, type GeneratorConfig } from './generator.js';
import type { Impression } from './impressions.js';
import {
  backfill,
  buildExamples,
  createImpressions,
  JOINS,
  loadEvents,
  type Example,
  type Join,
  type Period,
} from './offline.js';
import { OnlinePipeline } from './online.js';

const HOUR = 3_600_000;

export interface ScenarioOptions {
  readonly config: GeneratorConfig;
  /** Kafka and Redis, TLS and credentials included (`readConnectionSettings`). */
  readonly connections: ConnectionSettings;
  /** Events file and offline store go here (a fresh directory per run). */
  readonly workDir: string;
  /** Unique per run: topics, groups and Redis keys. */
  readonly namespace: string;
  /** The label: clicked within this long after the impression. */
  readonly horizonMs: number;
  /** Hours at the start without labels, so windows are warm when training rows begin. */
  readonly warmupHours: number;
  /** The last hours: the evaluation period, served live. */
  readonly heldOutHours: number;
  /** Replay granularity of the held-out period: events up to each step are processed before its requests are served. */
  readonly servingStepMs: number;
  readonly partitions: number;
  readonly k: number;
  readonly log: (line: string) => void;
}

export interface JoinResult {
  readonly join: Join;
  readonly trainRows: number;
  readonly trainClicks: number;
  /** Held-out metric with the same join the model was trained with: what its author would report. */
  readonly offline: Metrics;
  /** Held-out metric through POST /recommend: online features from Kafka -> stream -> Redis. */
  readonly served: Metrics;
  readonly weights: Readonly<Record<string, number>>;
}

export interface ServingStats {
  readonly slates: number;
  readonly candidates: number;
  /** Median age (request time - vector event time) of the user / item vectors read. */
  readonly medianUserFreshnessMs: number;
  readonly medianItemFreshnessMs: number;
  /** Share of candidates with at least one model feature replaced by its fallback. */
  readonly fallbackShare: number;
  /** Per model feature: share of held-out impressions whose served value differs from the offline PIT value. */
  readonly mismatch: Readonly<Record<string, number>>;
}

export interface ScenarioResult {
  readonly events: number;
  readonly historyRows: Readonly<Record<string, number>>;
  readonly periods: { readonly train: Period; readonly heldOut: Period };
  readonly results: readonly JoinResult[];
  readonly serving: ServingStats;
  /** Kafka topics holding every served vector, per model (left in place for skew analysis). */
  readonly servedLogTopics: Readonly<Record<Join, string>>;
}

interface Trained {
  readonly join: Join;
  readonly model: LogisticModel;
  readonly fallbacks: Fallbacks;
  readonly train: readonly Example[];
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const { config, log } = options;
  const eventsFile = joinPath(options.workDir, 'events.jsonl');
  const events = await timed(log, 'generate events', () => writeEventsFile(generateEvents(config), eventsFile));
  const end = config.start + config.hours * HOUR;
  const heldOutStart = end - options.heldOutHours * HOUR;
  const periods = {
    train: { from: config.start + options.warmupHours * HOUR, to: heldOutStart - options.horizonMs },
    heldOut: { from: heldOutStart, to: end - options.horizonMs },
  };
  const store = await OfflineStore.open({ dir: joinPath(options.workDir, 'offline') });
  try {
    const historyRows = await timed(log, 'offline: load events, backfill both feature sets', () =>
      buildOffline(store, eventsFile, options.horizonMs),
    );
    const { trained, offline } = await trainAndEvaluateOffline(store, options, periods);
    const pitTest = offline.get('point-in-time')!.test;
    const served = await timed(log, 'online: Kafka -> stream -> Redis, held-out period served live', () =>
      serveHeldOut(
        options,
        eventsFile,
        heldOutStart,
        trained,
        pitTest.map((e) => e.impression),
      ),
    );
    const results = trained.map((t) => ({
      join: t.join,
      trainRows: t.train.length,
      trainClicks: t.train.filter((e) => e.impression.clicked).length,
      offline: offline.get(t.join)!.metrics,
      served: evaluate(servedScores(pitTest, served.scores.get(t.join)!), options.k),
      weights: Object.fromEntries(t.model.featureNames.map((name, i) => [name, t.model.weights[i]!])),
    }));
    const serving = { ...served.stats, mismatch: servedMismatch(pitTest, served.values) };
    return { events, historyRows, periods, results, serving, servedLogTopics: servedLogTopics(options.namespace) };
  } finally {
    store.close();
  }
}

interface OfflineRun {
  readonly trained: readonly Trained[];
  /** Per join: held-out metrics with that join, and its held-out examples. */
  readonly offline: ReadonlyMap<Join, { readonly metrics: Metrics; readonly test: readonly Example[] }>;
}

async function trainAndEvaluateOffline(
  store: OfflineStore,
  options: ScenarioOptions,
  periods: { train: Period; heldOut: Period },
): Promise<OfflineRun> {
  const trained: Trained[] = [];
  const offline = new Map<Join, { metrics: Metrics; test: readonly Example[] }>();
  for (const join of JOINS) {
    const model = await timed(options.log, `train (${join} join)`, () =>
      trainFor(store, join, options.horizonMs, periods.train),
    );
    const test = await buildExamples(store, join, options.horizonMs, periods.heldOut);
    offline.set(join, { metrics: evaluate(scoreExamples(model, test), options.k), test });
    trained.push(model);
  }
  return { trained, offline };
}

async function buildOffline(
  store: OfflineStore,
  eventsFile: string,
  horizonMs: number,
): Promise<Record<string, number>> {
  await loadEvents(store, eventsFile);
  const historyRows = {
    [userActivity.name]: await backfill(store, userActivity),
    [itemPopularity.name]: await backfill(store, itemPopularity),
  };
  await createImpressions(store, horizonMs);
  return historyRows;
}

async function trainFor(store: OfflineStore, join: Join, horizonMs: number, period: Period): Promise<Trained> {
  const train = await buildExamples(store, join, horizonMs, period);
  const fallbacks = trainingMeans(
    train.map((e) => e.values),
    recommender.features,
  );
  const rows = train.map((e) => modelRow(e.values, recommender.features, fallbacks).row);
  const model = trainLogisticRegression(
    recommender.features,
    rows,
    train.map((e) => (e.impression.clicked ? 1 : 0)),
    { l2: 1e-3 },
  );
  return { join, model, fallbacks, train };
}

function scoreExamples(trained: Trained, examples: readonly Example[]): Scored[] {
  return examples.map((e) => ({
    userId: e.impression.userId,
    clicked: e.impression.clicked,
    score: predictProbability(trained.model, modelRow(e.values, recommender.features, trained.fallbacks).row),
  }));
}

function scoringModel(trained: Trained): ScoringModel {
  return {
    name: `lr-${trained.join}`,
    featureNames: recommender.features,
    score: (row) => predictProbability(trained.model, row),
  };
}

interface ServedRun {
  readonly scores: ReadonlyMap<Join, ReadonlyMap<string, number>>;
  /** Feature values the PIT model was served, by impression id. */
  readonly values: ReadonlyMap<string, FeatureValues>;
  readonly stats: Omit<ServingStats, 'mismatch'>;
}

/** Impressions of the held-out period grouped into slates: one POST /recommend each, in time order. */
function slatesOf(impressions: readonly Impression[]): Impression[][] {
  const slates = new Map<string, Impression[]>();
  for (const i of impressions) {
    const key = `${i.eventTime}|${i.userId}`;
    const slate = slates.get(key);
    if (slate) slate.push(i);
    else slates.set(key, [i]);
  }
  return [...slates.values()].sort((a, b) => a[0]!.eventTime - b[0]!.eventTime);
}

async function serveHeldOut(
  options: ScenarioOptions,
  eventsFile: string,
  heldOutStart: number,
  trained: readonly Trained[],
  heldOut: readonly Impression[],
): Promise<ServedRun> {
  const online = await OnlinePipeline.start({
    connections: options.connections,
    namespace: options.namespace,
    partitions: options.partitions,
  });
  try {
    const topics = servedLogTopics(options.namespace);
    const { kafka } = options.connections;
    await online.createTopics(Object.values(topics));
    const logs = await Promise.all(
      trained.map((t) => KafkaServedLog.connect({ brokers: kafka.brokers, kafka, topic: topics[t.join] })),
    );
    try {
      const cursor = new EventCursor(eventsFile);
      await online.produce(await cursor.takeBefore(heldOutStart));
      await online.waitCaughtUp();
      options.log(`  history before ${new Date(heldOutStart).toISOString()} processed; serving the held-out period`);
      const apps = trained.map((t, i) => ({
        join: t.join,
        app: createRecommendationApp({
          store: online.store,
          model: scoringModel(t),
          fallbacks: t.fallbacks,
          log: logs[i]!,
          replayClock: true,
        }),
      }));
      return await replay(options, cursor, online, apps, slatesOf(heldOut));
    } finally {
      await Promise.all(logs.map((l) => l.close()));
    }
  } finally {
    await online.stop();
  }
}

function servedLogTopics(namespace: string): Record<Join, string> {
  return Object.fromEntries(JOINS.map((join) => [join, `${namespace}.served.${join}`])) as Record<Join, string>;
}

type App = ReturnType<typeof createRecommendationApp>;

/** Collects what the live path served: scores per model, the PIT model's feature values, freshness, fallbacks. */
class ServedCollector {
  readonly scores = new Map<Join, Map<string, number>>(JOINS.map((j) => [j, new Map()]));
  readonly values = new Map<string, FeatureValues>();
  private readonly userAge: number[] = [];
  private readonly itemAge: number[] = [];
  private candidates = 0;
  private withFallback = 0;

  record(join: Join, slate: readonly Impression[], response: RecommendResponse): void {
    const byItem = new Map(slate.map((i) => [i.itemId, i]));
    for (const ranked of response.ranked) {
      const impression = byItem.get(ranked.itemId);
      if (impression === undefined) throw new Error(`/recommend returned unknown item ${ranked.itemId}`);
      this.scores.get(join)!.set(impression.impressionId, ranked.score);
      if (join !== 'point-in-time') continue;
      this.values.set(
        impression.impressionId,
        Object.fromEntries(Object.entries(ranked.features).map(([name, f]) => [name, f.value])) as FeatureValues,
      );
      this.candidates++;
      if (ranked.fallbacks.length > 0) this.withFallback++;
      const userAge = ranked.features['views_30m']?.freshnessMs;
      const itemAge = ranked.features['item_views_1h']?.freshnessMs;
      if (typeof userAge === 'number') this.userAge.push(userAge);
      if (typeof itemAge === 'number') this.itemAge.push(itemAge);
    }
  }

  stats(slates: number): Omit<ServingStats, 'mismatch'> {
    return {
      slates,
      candidates: this.candidates,
      medianUserFreshnessMs: median(this.userAge),
      medianItemFreshnessMs: median(this.itemAge),
      fallbackShare: this.candidates === 0 ? 0 : this.withFallback / this.candidates,
    };
  }
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function replay(
  options: ScenarioOptions,
  cursor: EventCursor,
  online: OnlinePipeline,
  apps: readonly { join: Join; app: App }[],
  slates: readonly Impression[][],
): Promise<ServedRun> {
  const collector = new ServedCollector();
  let next = 0;
  let reported = 0;
  for (let step = slates[0]?.[0]?.eventTime ?? 0; next < slates.length; step += options.servingStepMs) {
    // Everything before this step is in Kafka and processed before any request of the step is served;
    // what happens inside the step is not seen yet (staleness up to one step, as with a lagging processor).
    await online.produce(await cursor.takeBefore(step));
    await online.waitCaughtUp();
    for (; next < slates.length && slates[next]![0]!.eventTime < step + options.servingStepMs; next++) {
      for (const { join, app } of apps) collector.record(join, slates[next]!, await recommend(app, slates[next]!));
    }
    if (next - reported >= slates.length / 10) {
      options.log(`  served ${next}/${slates.length} slates (event time ${new Date(step).toISOString()})`);
      reported = next;
    }
  }
  return { scores: collector.scores, values: collector.values, stats: collector.stats(slates.length) };
}

async function recommend(
  app: ReturnType<typeof createRecommendationApp>,
  slate: readonly Impression[],
): Promise<RecommendResponse> {
  const head = slate[0]!;
  const response = await app.inject({
    method: 'POST',
    url: '/recommend',
    payload: {
      requestId: `slate-${head.userId}-${head.eventTime}`,
      eventTime: head.eventTime,
      userId: head.userId,
      candidates: slate.map((i) => ({ itemId: i.itemId, category: i.category })),
    },
  });
  if (response.statusCode !== 200) throw new Error(`/recommend answered ${response.statusCode}: ${response.body}`);
  return response.json<RecommendResponse>();
}

function servedScores(impressions: readonly Example[], scores: ReadonlyMap<string, number>): Scored[] {
  return impressions.map((e) => {
    const score = scores.get(e.impression.impressionId);
    if (score === undefined) throw new Error(`impression ${e.impression.impressionId} was never served`);
    return { userId: e.impression.userId, clicked: e.impression.clicked, score };
  });
}

function servedMismatch(
  offline: readonly Example[],
  served: ReadonlyMap<string, FeatureValues>,
): Record<string, number> {
  return Object.fromEntries(
    recommender.features.map((name) => [
      name,
      mismatchRate(
        offline.map((e) => e.values[name] ?? null),
        offline.map((e) => served.get(e.impression.impressionId)?.[name] ?? null),
        { tolerance: 1e-9 },
      ),
    ]),
  );
}

async function timed<T>(log: (line: string) => void, what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  log(`${what} ...`);
  const result = await work();
  log(`${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

export const DEFAULT_HORIZON_MS = duration.minutes(10);
