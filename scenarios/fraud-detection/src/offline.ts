import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventTime, modelInput, type FeatureSet, type FeatureValue, type FeatureValues, type SourceEvent } from '@rtml/features';
import type { JoinStrategy, OfflineStore } from '@rtml/offline-store';
import type { ScenarioData } from './data.js';
import { ALL_SETS, CONTEXT_SETS, userChargebacks, userProfileUpdates, userTransactions, type Transaction } from './features.js';

const csvCell = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'string' ? `"${value.replaceAll('"', '""')}"` : String(value));

/** Parsed events of one source as a DuckDB table (via CSV: core DuckDB, no extension needed), columns = source fields. */
async function loadEvents<E extends SourceEvent>(store: OfflineStore, set: FeatureSet<E>, events: readonly E[], dir: string): Promise<string> {
  const fields = Object.keys(set.source.fieldTypes);
  const sqlType = { number: 'DOUBLE', string: 'VARCHAR', boolean: 'BOOLEAN' } as const;
  const columns = [`'eventTime': 'BIGINT'`, ...fields.map((f) => `'${f}': '${sqlType[set.source.fieldTypes[f]!]}'`)];
  const lines = [['eventTime', ...fields].join(','), ...events.map((e) => [e.eventTime, ...fields.map((f) => csvCell((e as unknown as Record<string, unknown>)[f]))].join(','))];
  const file = join(dir, `events_${set.name}.csv`);
  await writeFile(file, `${lines.join('\n')}\n`);
  const table = `events_${set.name}`;
  await store.connection.run(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM read_csv('${file}', header = true, columns = {${columns.join(', ')}})`);
  return table;
}

/** Backfills every feature set from the full history with the shared definitions, into the offline store. */
export async function backfillAll(store: OfflineStore, data: ScenarioData, dir: string): Promise<Record<string, number>> {
  return {
    [userTransactions.name]: await backfill(store, userTransactions, data.transactions, dir),
    [userChargebacks.name]: await backfill(store, userChargebacks, data.chargebacks, dir),
    [userProfileUpdates.name]: await backfill(store, userProfileUpdates, data.profileUpdates, dir),
  };
}

async function backfill<E extends SourceEvent>(store: OfflineStore, set: FeatureSet<E>, events: readonly E[], dir: string): Promise<number> {
  const table = await loadEvents(store, set, events, dir);
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
export const trainingSetTable = (strategy: JoinStrategy, period: { from: number }): string => `examples_${strategy.replaceAll('-', '_')}_${period.from}`;

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
    labels: { rows: txns.map((t) => ({ entityId: t.userId, labelTime: eventTime(t.eventTime), label: data.disputed.has(t.eventId) ? 1 : 0 })) },
    featureSets: ALL_SETS.map((s) => s.name),
    into: table,
    strategy,
  });
  const rows = await store.query(`SELECT * FROM ${table}`);
  if (rows.length !== txns.length) throw new Error(`training set has ${rows.length} rows for ${txns.length} labels`);
  return rows.map((row, i) => {
    const txn = txns[i]!;
    const aggregatesOf = (set: AggregateNames): FeatureValues =>
      Object.fromEntries(set.aggregates.map((a) => [a.name, (row[`${set.name}__${a.name}`] ?? null) as FeatureValue]));
    const context = CONTEXT_SETS.map(aggregatesOf);
    const values: FeatureValues = Object.assign({}, ...context, modelInput(userTransactions, aggregatesOf(userTransactions), txn));
    return { txn, label: data.disputed.has(txn.eventId) ? 1 : 0, values };
  });
}
