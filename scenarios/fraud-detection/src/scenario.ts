import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaClient, redisClient, type ConnectionSettings, type KafkaSettings } from '@rtml/connections';
import { processingTime, type FeatureValues } from '@rtml/features';
import { OfflineStore, type JoinStrategy } from '@rtml/offline-store';
import { deleteNamespace, OnlineStore, type RedisClient } from '@rtml/online-store';
import { createServingApp, KafkaServedLog, readServedLog, type Assembler } from '@rtml/serving';
import { collectScenarioData, servedTopicFor, topicsFor, type ScenarioData } from './data.js';
import { fraudModel, userChargebacks, type Transaction } from './features.js';
import { configFor, type SizeName } from './generator.js';
import { LivePipeline } from './live.js';
import { evaluate, scoreOffline, trainModel, type Metrics, type TrainedModel } from './model.js';
import { labelledExamples, backfillAll, trainingSetTable, type LabelledExample } from './offline.js';
import { replay, type PathLag, type ReplayResult, type Variant } from './replay.js';
import {
  reimplementedAssembler,
  servedVsOffline,
  skewReport,
  type FeatureSkew,
  type FeatureValuePairs,
} from './skew.js';

const DAY = 86_400_000;
const MINUTE = 60_000;

export interface ScenarioOptions {
  readonly size: SizeName;
  readonly seed?: number;
  /**
   * Kafka and Redis, TLS and credentials included (`readConnectionSettings`): set-up (topics, events, the batch
   * store, clean-up, reading the served-vector logs) and every role `principals` leaves out.
   */
  readonly connections: ConnectionSettings;
  /**
   * Least privilege: the stream processors and the serving endpoints connect as these (see @rtml/devstack secure mode).
   */
  readonly principals?: { readonly processor?: ConnectionSettings; readonly serving?: ConnectionSettings };
  /** Batch path refresh interval in simulated minutes. */
  readonly batchIntervalMinutes?: number;
  readonly log?: (line: string) => void;
}

export interface PathStaleness {
  readonly meanMinutes: number;
  readonly p95Minutes: number;
  /** Share of transactions scored without one of the user's own earlier events. */
  readonly missedShare: number;
  readonly served: Metrics;
  /** Per held-out transaction (in `ScenarioResult.served.transactionIds` order): the store's lag, simulated minutes. */
  readonly lagMinutes: number[];
  /** Per held-out transaction: whether the served features lacked one of the user's own earlier events. */
  readonly missed: boolean[];
}

/** `checkLeakage` (strict rule) on a training set, counts only. */
export interface LeakageSummary {
  readonly rowsChecked: number;
  readonly leakingRows: number;
  readonly bySet: Readonly<Record<string, number>>;
}

/**
 * One naive training row whose chargeback features were computed from chargebacks that arrived after the transaction.
 */
export interface LeakedRow {
  readonly transactionId: string;
  readonly userId: string;
  readonly label: 0 | 1;
  /** ISO-8601 UTC. */
  readonly labelTime: string;
  /** The `user_chargebacks` row the naive join used (ISO-8601 UTC): at or after the label time. */
  readonly featureTime: string;
  /** The user's chargebacks (ISO-8601 UTC time, disputed transaction, days after this transaction). */
  readonly chargebacks: readonly { time: string; transactionId: string; daysAfter: number }[];
  readonly naive: { readonly chargeback_count: number | null; readonly chargeback_amount: number | null };
  readonly pit: { readonly chargeback_count: number | null; readonly chargeback_amount: number | null };
}

export interface ScenarioResult {
  readonly counts: {
    readonly events: number;
    readonly transactions: number;
    readonly trainRows: number;
    readonly testRows: number;
    readonly testPositives: number;
  };
  readonly lookAhead: {
    readonly pit: { offline: Metrics; served: Metrics };
    readonly naive: { offline: Metrics; served: Metrics };
    /** `checkLeakage` on both training sets, and one concrete leaked naive row. */
    readonly leakage: {
      readonly pit: LeakageSummary;
      readonly naive: LeakageSummary;
      readonly example: LeakedRow | null;
    };
    /** Logistic-regression weights per model feature (on standardised inputs, so comparable across features). */
    readonly weights: { readonly pit: Record<string, number>; readonly naive: Record<string, number> };
  };
  readonly skew: {
    readonly shared: FeatureSkew[];
    readonly reimplemented: FeatureSkew[];
    readonly sharedServed: Metrics;
    readonly reimplementedServed: Metrics;
    /**
     * Per model feature, offline vs served values per held-out transaction, for the shared and the reimplemented path.
     */
    readonly values: {
      readonly shared: Record<string, FeatureValuePairs>;
      readonly reimplemented: Record<string, FeatureValuePairs>;
    };
  };
  readonly staleness: {
    readonly stream: PathStaleness;
    readonly batch: PathStaleness;
    readonly batchIntervalMinutes: number;
  };
  /**
   * Wall-clock seconds of the live replay per activity, its number of segments, and per segment the processors'
   * real produce -> committed-in-Redis time in ms, which the simulated lag does not show.
   */
  readonly replayWork: ReplayResult['work'] & { readonly segmentCommitMs: number[] };
  /** Every held-out transaction as scored live: ids in scoring order, labels, and each endpoint's scores. */
  readonly served: {
    readonly transactionIds: string[];
    readonly labels: number[];
    readonly scores: Record<string, number[]>;
  };
  readonly seconds: Record<string, number>;
}

function summarise(lag: PathLag, served: Metrics): PathStaleness {
  const sorted = [...lag.lagMs].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return {
    meanMinutes: mean / MINUTE,
    p95Minutes: (sorted[Math.floor(0.95 * (sorted.length - 1))] ?? 0) / MINUTE,
    missedShare: lag.missed.filter(Boolean).length / Math.max(1, lag.missed.length),
    served,
    lagMinutes: lag.lagMs.map((ms) => ms / MINUTE),
    missed: [...lag.missed],
  };
}

const iso = (epochMs: number) => new Date(epochMs).toISOString();

async function leakageSummary(
  offline: OfflineStore,
  strategy: JoinStrategy,
  train: { from: number },
): Promise<LeakageSummary> {
  const report = await offline.checkLeakage({ table: trainingSetTable(strategy, train) }, { maxLeaks: 0 });
  return { rowsChecked: report.rowsChecked, leakingRows: report.leakingRows, bySet: report.bySet };
}

/** A disputed naive training row whose chargeback features count chargebacks from after its own transaction. */
async function leakedRow(
  offline: OfflineStore,
  data: ScenarioData,
  train: { from: number },
  naive: readonly LabelledExample[],
  pit: readonly LabelledExample[],
): Promise<LeakedRow | null> {
  const report = await offline.checkLeakage(
    { table: trainingSetTable('naive-latest', train) },
    { featureSets: [userChargebacks.name] },
  );
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  for (const leak of report.leaks) {
    const i = leak.row - 1;
    const example = naive[i];
    if (
      !example ||
      example.label !== 1 ||
      example.txn.userId !== leak.entityId ||
      example.txn.eventTime !== leak.labelTime
    )
      continue;
    const naiveCount = num(example.values['chargeback_count']) ?? 0;
    const pitCount = num(pit[i]?.values['chargeback_count']) ?? 0;
    if (naiveCount <= pitCount) continue;
    const txn = example.txn;
    return {
      transactionId: txn.eventId,
      userId: txn.userId,
      label: example.label,
      labelTime: iso(txn.eventTime),
      featureTime: iso(leak.featureTime),
      chargebacks: data.chargebacks
        .filter((c) => c.userId === txn.userId)
        .map((c) => ({
          time: iso(c.eventTime),
          transactionId: c.transactionId,
          daysAfter: (c.eventTime - txn.eventTime) / DAY,
        })),
      naive: {
        chargeback_count: num(example.values['chargeback_count']),
        chargeback_amount: num(example.values['chargeback_amount']),
      },
      pit: {
        chargeback_count: num(pit[i]?.values['chargeback_count']),
        chargeback_amount: num(pit[i]?.values['chargeback_amount']),
      },
    };
  }
  return null;
}

const weightsOf = (model: TrainedModel): Record<string, number> =>
  Object.fromEntries(model.logistic.featureNames.map((name, i) => [name, model.logistic.weights[i]!]));

/** The periods: day 0 only warms features up; training on the first 70% of days, evaluation on the rest. */
function periods(start: number, days: number) {
  const testStart = start + Math.floor(days * 0.7) * DAY;
  return { train: { from: start + DAY, to: testStart }, test: { from: testStart, to: start + days * DAY } };
}

async function deleteTopics(settings: KafkaSettings, runName: string): Promise<void> {
  const admin = kafkaClient(settings, { clientId: 'fraud-cleanup' }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.includes(runName));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const log = options.log ?? (() => undefined);
  const runId = randomUUID().slice(0, 8);
  const seconds: Record<string, number> = {};
  const timed = async <T>(label: string, work: () => Promise<T> | T): Promise<T> => {
    const started = Date.now();
    log(`[fraud] ${label} ...`);
    const value = await work();
    seconds[label] = (Date.now() - started) / 1000;
    log(`[fraud] ${label}: ${seconds[label].toFixed(1)}s`);
    return value;
  };
  const config = configFor(options.size, options.seed ?? 42);
  const { train, test } = periods(config.start, config.days);
  const data = await timed('generate', () => collectScenarioData(config));
  log(`[fraud] ${data.wire.length} events, ${data.transactions.length} transactions, ${data.disputed.size} disputed`);

  const dir = join(tmpdir(), `rtml-fraud-${runId}`);
  await mkdir(dir, { recursive: true });
  const offline = await OfflineStore.open({ dir });
  const redis = redisClient(options.connections.redis);
  const namespaces = { stream: `fraud-${runId}-stream`, batch: `fraud-${runId}-batch` };
  try {
    await timed('offline backfill', () => backfillAll(offline, data));
    const examples = await timed('training sets (PIT + naive)', async () => ({
      pitTrain: await labelledExamples(offline, data, train, 'point-in-time'),
      naiveTrain: await labelledExamples(offline, data, train, 'naive-latest'),
      pitTest: await labelledExamples(offline, data, test, 'point-in-time'),
      naiveTest: await labelledExamples(offline, data, test, 'naive-latest'),
    }));
    const leakage = await timed('leakage check', async () => ({
      pit: await leakageSummary(offline, 'point-in-time', train),
      naive: await leakageSummary(offline, 'naive-latest', train),
      example: await leakedRow(offline, data, train, examples.naiveTrain, examples.pitTrain),
    }));
    const models = await timed('train', () => ({
      pit: trainModel('pit', examples.pitTrain),
      naive: trainModel('naive', examples.naiveTrain),
    }));
    const labels = examples.pitTest.map((e) => e.label);
    const offlineMetrics = {
      pit: evaluate(scoreOffline(models.pit, examples.pitTest), labels),
      naive: evaluate(
        scoreOffline(models.naive, examples.naiveTest),
        examples.naiveTest.map((e) => e.label),
      ),
    };
    const served = await timed('live replay (Kafka -> stream -> Redis -> /score)', () =>
      liveReplay(options, runId, namespaces, redis, offline, data, test, models),
    );
    log(`[fraud] replay work (s): ${JSON.stringify(served.replay.work)}`);
    const byTxn = new Map(served.replay.transactionIds.map((id, i) => [id, i]));
    const servedLabels = served.replay.transactionIds.map((id) => (data.disputed.has(id) ? 1 : 0));
    const servedMetrics = (variant: string) => evaluate(served.replay.scores.get(variant)!, servedLabels);
    if (byTxn.size !== examples.pitTest.length)
      throw new Error(`replay scored ${byTxn.size} transactions, offline test set has ${examples.pitTest.length}`);
    const offlineValues = new Map<string, FeatureValues>(examples.pitTest.map((e) => [e.txn.eventId, e.values]));
    const batchIntervalMinutes = options.batchIntervalMinutes ?? 60;
    return {
      counts: {
        events: data.wire.length,
        transactions: data.transactions.length,
        trainRows: examples.pitTrain.length,
        testRows: examples.pitTest.length,
        testPositives: labels.filter((y) => y === 1).length,
      },
      lookAhead: {
        pit: { offline: offlineMetrics.pit, served: servedMetrics('pit') },
        naive: { offline: offlineMetrics.naive, served: servedMetrics('naive') },
        leakage,
        weights: { pit: weightsOf(models.pit), naive: weightsOf(models.naive) },
      },
      skew: {
        shared: skewReport(served.logs.shared, offlineValues),
        reimplemented: skewReport(served.logs.reimplemented, offlineValues),
        sharedServed: servedMetrics('pit'),
        reimplementedServed: servedMetrics('pit-reimplemented'),
        values: {
          shared: servedVsOffline(served.logs.shared, offlineValues, served.replay.transactionIds),
          reimplemented: servedVsOffline(served.logs.reimplemented, offlineValues, served.replay.transactionIds),
        },
      },
      staleness: {
        stream: summarise(served.replay.staleness.stream, servedMetrics('pit')),
        batch: summarise(served.replay.staleness.batch, servedMetrics('pit-batch')),
        batchIntervalMinutes,
      },
      replayWork: { ...served.replay.work, segmentCommitMs: served.replay.segmentCommitMs },
      served: {
        transactionIds: served.replay.transactionIds,
        labels: servedLabels,
        scores: Object.fromEntries(served.replay.scores),
      },
      seconds,
    };
  } finally {
    offline.close();
    await deleteNamespace(redis, namespaces.stream);
    await deleteNamespace(redis, namespaces.batch);
    redis.disconnect();
    await deleteTopics(options.connections.kafka, `fraud-${runId}-`);
    await rm(dir, { recursive: true, force: true });
  }
}

async function liveReplay(
  options: ScenarioOptions,
  runId: string,
  namespaces: { stream: string; batch: string },
  redis: RedisClient,
  offline: OfflineStore,
  data: ScenarioData,
  test: { from: number; to: number },
  models: { pit: TrainedModel; naive: TrainedModel },
) {
  const log = options.log ?? (() => undefined);
  const setUp = { kafka: options.connections.kafka, redis };
  const processor = principal(options.principals?.processor, setUp);
  const serving = principal(options.principals?.serving, setUp);
  const storeOf = (client: RedisClient, namespace: string) =>
    new OnlineStore(client, { namespace, featureSets: fraudModel });
  // The batch path is materialized by the set-up principal and read, like the stream's store, by serving.
  const batchStore = storeOf(redis, namespaces.batch);
  const streamStore = storeOf(serving.redis, namespaces.stream);
  const servedBatchStore = storeOf(serving.redis, namespaces.batch);
  const live = await LivePipeline.start({
    ...setUp,
    processor: { ...processor, store: storeOf(processor.redis, namespaces.stream) },
    topics: topicsFor(runId),
    runId,
  });
  const servedLog = (variant: string) =>
    KafkaServedLog.connect({
      brokers: serving.kafka.brokers,
      kafka: serving.kafka,
      topic: servedTopicFor(runId, variant),
    });
  const logs = { shared: await servedLog('shared'), reimplemented: await servedLog('reimplemented') };
  try {
    const history = data.wire.filter((w) => w.epochMs < test.from);
    for (let i = 0; i < history.length; i += 5_000) {
      await live.sendAndWait(history.slice(i, i + 5_000));
      log(`[fraud] streamed history ${Math.min(i + 5_000, history.length)}/${history.length}`);
    }
    const app = (
      model: TrainedModel,
      store: OnlineStore,
      extra: { assemble?: Assembler<Transaction>; log?: KafkaServedLog } = {},
    ) =>
      createServingApp({
        store,
        featureSets: fraudModel,
        model: model.scoring,
        fallbacks: model.fallbacks,
        clock: (txn) => processingTime(txn.eventTime),
        ...extra,
      });
    const variants: Variant[] = [
      { name: 'pit', app: app(models.pit, streamStore, { log: logs.shared }), path: 'stream' },
      { name: 'naive', app: app(models.naive, streamStore), path: 'stream' },
      {
        name: 'pit-reimplemented',
        app: app(models.pit, streamStore, { assemble: reimplementedAssembler, log: logs.reimplemented }),
        path: 'stream',
      },
      { name: 'pit-batch', app: app(models.pit, servedBatchStore), path: 'batch' },
    ];
    let lastReport = 0;
    const result = await replay(
      data.wire.filter((w) => w.epochMs >= test.from && w.epochMs < test.to),
      {
        live,
        offline,
        batchStore,
        batchIntervalMs: (options.batchIntervalMinutes ?? 60) * MINUTE,
        variants,
        onProgress: (done, total) => {
          if (Date.now() - lastReport < 5_000 && done < total) return;
          lastReport = Date.now();
          log(`[fraud] replayed ${done}/${total} held-out transactions`);
        },
      },
    );
    await logs.shared.flush();
    await logs.reimplemented.flush();
    return {
      replay: result,
      logs: {
        shared: await readServedLog(setUp.kafka, servedTopicFor(runId, 'shared')),
        reimplemented: await readServedLog(setUp.kafka, servedTopicFor(runId, 'reimplemented')),
      },
    };
  } finally {
    await logs.shared.close();
    await logs.reimplemented.close();
    await live.stop();
    for (const own of [processor, serving]) if (own.redis !== redis) own.redis.disconnect();
  }
}

/** A role's connections: its own (a Redis client of its own) when given, else the set-up principal's. */
function principal(
  settings: ConnectionSettings | undefined,
  setUp: { kafka: KafkaSettings; redis: RedisClient },
): { kafka: KafkaSettings; redis: RedisClient } {
  return settings ? { kafka: settings.kafka, redis: redisClient(settings.redis) } : setUp;
}

export type { LabelledExample };
