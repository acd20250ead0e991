/**
 * Labs 1 and 3: the card-fraud scenario's `tiny` world (seed 42) backfilled into a fresh offline store, with one
 * label per transaction. Offline only (DuckDB + Parquet, no Kafka): a few seconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventTime, type EventTime } from '@rtml/features';
import { OfflineStore } from '@rtml/offline-store';
import { backfillAll, collectScenarioData, configFor, type ScenarioData } from '@rtml/scenario-fraud-detection';

export interface Label {
  entityId: string;
  labelTime: EventTime;
  label: number;
}

export interface FraudStore {
  readonly data: ScenarioData;
  readonly store: OfflineStore;
  /** History rows written per feature set. */
  readonly historyRows: Record<string, number>;
  /** One per transaction, in transaction order: 1 if a chargeback EVER disputes it (known only days later). */
  readonly labels: Label[];
  /** Closes the store and deletes its folder. */
  readonly close: () => void;
}

export async function openFraudStore(): Promise<FraudStore> {
  const data = collectScenarioData(configFor('tiny', 42));
  const dir = mkdtempSync(join(tmpdir(), 'rtml-workshop-'));
  const store = await OfflineStore.open({ dir });
  const historyRows = await backfillAll(store, data); // the same feature definitions the stream processors run
  const labels = data.transactions.map((t) => ({
    entityId: t.userId,
    labelTime: eventTime(t.eventTime),
    label: data.disputed.has(t.eventId) ? 1 : 0,
  }));
  const close = () => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { data, store, historyRows, labels, close };
}
