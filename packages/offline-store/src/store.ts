import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  runBackfill,
  type BackfillOptions,
  type EventTime,
  type FeatureSet,
  type FeatureValue,
  type FeatureVector,
  type Source,
  type SourceEvent,
} from '@rtml/features';
import { assertFeatureName, FeatureCatalog } from './catalog.js';
import { connectUtc, queryRows, type Params, type RelationSource, type Row } from './db.js';
import { loadEvents, type EventsInput } from './events.js';
import { exportTable, type ExportFormat } from './export.js';
import { appendHistory, type AppendResult, type HistorySource } from './history.js';
import { checkLeakage, type LeakageCheckOptions, type LeakageReport } from './leakage.js';
import type { FeatureSchema } from './schema.js';
import { quoteIdentifier } from './sql.js';
import {
  assertEntityId,
  latestRowsSql,
  streamLatestVectors,
  toFeatureVector,
  type LatestQuery,
} from './time-travel.js';
import { buildTrainingSet, type TrainingSet, type TrainingSetRequest } from './training-set.js';

export interface OfflineStoreOptions {
  /** Directory holding `offline.duckdb` and `feature_sets/<set>/part-*.parquet`; created if missing. */
  readonly dir: string;
}

/**
 * The offline store: feature history as Parquet parts per feature set, catalogued and queried through one DuckDB
 * database.
 * One store per directory per process (DuckDB locks its file).
 */
export class OfflineStore {
  private constructor(
    private readonly instance: DuckDBInstance,
    /**
     * The store's DuckDB connection, e.g. for a backfill to create a history table before `appendHistory(set, { table
     * })`.
     */
    readonly connection: DuckDBConnection,
    private readonly catalog: FeatureCatalog,
    readonly dir: string,
  ) {}

  static async open(options: OfflineStoreOptions): Promise<OfflineStore> {
    const dir = resolve(options.dir);
    await mkdir(join(dir, 'feature_sets'), { recursive: true });
    const instance = await DuckDBInstance.create(join(dir, 'offline.duckdb'));
    const connection = await connectUtc(instance);
    const catalog = await FeatureCatalog.load(connection, dir);
    return new OfflineStore(instance, connection, catalog, dir);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** Runs SQL on the store's connection and returns rows as JS values (TIMESTAMP -> Date, BIGINT -> bigint). */
  async query(sql: string, params?: Params): Promise<Row[]> {
    return queryRows(this.connection, sql, params);
  }

  featureSets(): string[] {
    return this.catalog.featureSets();
  }

  schema(set: string): FeatureSchema {
    return this.catalog.schema(set);
  }

  /** Declares feature columns ahead of data (needed only for columns JS rows leave all-null). */
  async registerFeatureSet(set: string, schema: FeatureSchema): Promise<FeatureSchema> {
    return this.catalog.register(set, schema);
  }

  appendHistory(set: string, source: HistorySource): Promise<AppendResult> {
    return appendHistory(this.connection, this.catalog, set, source);
  }

  /**
   * Creates (or replaces) table `table` from one source's events: eventId, eventTime (epoch ms) and each typed field
   * of the source, ready for `backfill(set, { events: table, eventTimeEncoding: 'epoch_ms' })`. Returns the row count.
   */
  loadEvents<E extends SourceEvent>(table: string, source: Source<E>, events: EventsInput<E>): Promise<number> {
    return loadEvents(this.connection, table, source, events);
  }

  /**
   * Computes a feature set's history from a relation of its source events with the set's own SQL execution
   * (`runBackfill`, the definition the stream processor and serving also run) and appends it under the set's name.
   * The intermediate table lives only for the call: the Parquet part is the history.
   */
  async backfill<E extends SourceEvent>(set: FeatureSet<E>, options: BackfillOptions): Promise<AppendResult> {
    const staging = `backfill__${set.name}`;
    await runBackfill(this.connection, set, { ...options, into: staging });
    try {
      return await this.appendHistory(set.name, { table: staging });
    } finally {
      await this.connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(staging)}`);
    }
  }

  /** All history of a set (optionally one entity), ordered by entity then event time. */
  async readHistory(set: string, entityId?: string): Promise<FeatureVector[]> {
    const features = Object.keys(this.catalog.schema(set));
    if (entityId !== undefined) assertEntityId(entityId);
    const rows = await queryRows(
      this.connection,
      `SELECT *, epoch_ms(event_time)::DOUBLE AS event_time_ms FROM ${this.catalog.view(set)}
       ${entityId === undefined ? '' : 'WHERE entity_id = $entity_id'} ORDER BY entity_id, event_time`,
      entityId === undefined ? {} : { entity_id: entityId },
    );
    return rows.map((row) => toFeatureVector(set, features, row));
  }

  /**
   * Time travel: the entity's vector as of `asOf` (its last row with event_time <= asOf), or null if it had none yet.
   */
  async vectorAsOf(set: string, entityId: string, asOf: EventTime): Promise<FeatureVector | null> {
    const [vector] = await this.vectorsAsOf(set, [entityId], asOf);
    return vector ?? null;
  }

  /** Time travel for one feature; null when the entity had no row yet or the value itself is missing. */
  async valueAsOf(set: string, entityId: string, feature: string, asOf: EventTime): Promise<FeatureValue> {
    if (!(assertFeatureName(feature) in this.catalog.schema(set)))
      throw new Error(`feature set ${set} has no feature ${feature}`);
    const vector = await this.vectorAsOf(set, entityId, asOf);
    return vector?.values[feature] ?? null;
  }

  /** Time travel for many entities at one instant; entities without history by then are absent from the result. */
  async vectorsAsOf(set: string, entityIds: readonly string[], asOf: EventTime): Promise<FeatureVector[]> {
    return this.latestRows(set, { entityIds, asOf });
  }

  /** The latest vector of every entity of a set, for materializing into the online store; streamed in entity order. */
  latestVectors(set: string, query: LatestQuery = {}): AsyncGenerator<FeatureVector> {
    return streamLatestVectors(this.instance, this.catalog, set, query);
  }

  /** Joins labels with feature sets (point-in-time by default; see `JoinStrategy`) into a table. */
  buildTrainingSet(request: TrainingSetRequest): Promise<TrainingSet> {
    return buildTrainingSet(this.connection, this.catalog, request);
  }

  /** Audits a training set (a table here, a query, or Parquet files) for feature rows not available at label time. */
  checkLeakage(source: RelationSource, options?: LeakageCheckOptions): Promise<LeakageReport> {
    return checkLeakage(this.connection, source, options);
  }

  exportTable(table: string, path: string, format: ExportFormat): Promise<void> {
    return exportTable(this.connection, table, path, format);
  }

  private async latestRows(set: string, query: LatestQuery): Promise<FeatureVector[]> {
    const features = Object.keys(this.catalog.schema(set));
    const { sql, params } = latestRowsSql(this.catalog, set, query);
    const rows = await queryRows(this.connection, sql, params);
    return rows.map((row) => toFeatureVector(set, features, row));
  }
}
