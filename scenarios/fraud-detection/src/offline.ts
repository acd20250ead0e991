import {
  eventTime,
  modelInput,
  type FeatureSet,
  type FeatureValue,
  type FeatureValues,
  type SourceEvent,
} from '@rtml/features';
import type { JoinStrategy, OfflineStore } from '@rtml/offline-store';
import type { ScenarioData } from './data.js';
import { fraudModel, userChargebacks, userProfileUpdates, userTransactions, type Transaction } from './features.js';

/** Backfills every feature set from the full history with the shared definitions, into the offline store. */
export async function backfillAll(store: OfflineStore, data: ScenarioData): Promise<Record<string, number>> {
  return {
    [userTransactions.name]: await backfill(store, userTransactions, data.transactions),
    [userChargebacks.name]: await backfill(store, userChargebacks, data.chargebacks),
    [userProfileUpdates.name]: await backfill(store, userProfileUpdates, data.profileUpdates),
  };
}

async function backfill<E extends SourceEvent>(
  store: OfflineStore,
  set: FeatureSet<E>,
  events: readonly E[],
): Promise<number> {
  const table = `events_${set.name}`;
  await store.loadEvents(table, set.source, events);
  return (await store.backfill(set, { events: table, eventTimeEncoding: 'epoch_ms' })).rowsWritten;
}

type AggregateNames = Pick<FeatureSet<never>, 'name' | 'aggregates'>;

export interface LabelledExample {
  readonly txn: Transaction;
  readonly label: 0 | 1;
  /** The model input as the training/evaluation row sees it (before fallbacks). */
  readonly values: FeatureValues;
}

/** The offline-store table `labelledExamples` builds for a strategy and period (audit it with `checkLeakage`). */
export const trainingSetTable = (strategy: JoinStrategy, period: { from: number }): string =>
  `examples_${strategy.replaceAll('-', '_')}_${period.from}`;

/**
 * Labels = every transaction in [from, to), label 1 if a chargeback EVER disputes it (labels arrive late, so
 * this is only known long after the fact). Features joined per `strategy`, then request-time features and
 * transforms added by the same `modelInput` the serving endpoint uses.
 */
export async function labelledExamples(
  store: OfflineStore,
  data: ScenarioData,
  period: { from: number; to: number },
  strategy: JoinStrategy,
): Promise<LabelledExample[]> {
  const txns = data.transactions.filter((t) => t.eventTime >= period.from && t.eventTime < period.to);
  const table = trainingSetTable(strategy, period);
  await store.buildTrainingSet({
    labels: {
      rows: txns.map((t) => ({
        entityId: t.userId,
        labelTime: eventTime(t.eventTime),
        label: data.disputed.has(t.eventId) ? 1 : 0,
      })),
    },
    featureSets: fraudModel,
    into: table,
    strategy,
  });
  const rows = await store.query(`SELECT * FROM ${table}`);
  if (rows.length !== txns.length) throw new Error(`training set has ${rows.length} rows for ${txns.length} labels`);
  return rows.map((row, i) => {
    const txn = txns[i]!;
    const aggregatesOf = (set: AggregateNames): FeatureValues =>
      Object.fromEntries(set.aggregates.map((a) => [a.name, (row[`${set.name}__${a.name}`] ?? null) as FeatureValue]));
    // The same merge as the scorer's: every set's aggregates as of the label, plus its request features and transforms.
    const values = Object.assign(
      {},
      ...fraudModel.featureSets.map((set) => modelInput<SourceEvent>(set, aggregatesOf(set), txn)),
    ) as FeatureValues;
    return { txn, label: data.disputed.has(txn.eventId) ? 1 : 0, values };
  });
}
