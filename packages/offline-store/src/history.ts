import { rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { EventTime, FeatureValues } from '@rtml/features';
import type { FeatureCatalog } from './catalog.js';
import {
  cellText,
  describe,
  nonFiniteValues,
  queryRows,
  relationSql,
  rowNameSql,
  stageRows,
  stagingTableName,
  type RelationSource,
} from './db.js';
import { featureTypeOfSql, inferSchema, isTimestampSqlType, type FeatureSchema } from './schema.js';
import { quoteIdentifier, stringLiteral } from './sql.js';

/** One history row from JS: the values hold for the entity from `eventTime` until its next row. */
export interface HistoryRow {
  readonly entityId: string;
  readonly eventTime: EventTime;
  readonly values: FeatureValues;
}

/**
 * Feature history to append: JS rows, or a relation with columns `entity_id`, `event_time` (a timestamp)
 * and one column per feature. `schema` declares types JS rows cannot show (columns that are all null).
 */
export type HistorySource = RelationSource | { readonly rows: Iterable<HistoryRow>; readonly schema?: FeatureSchema };

export interface AppendResult {
  readonly featureSet: string;
  readonly rowsWritten: number;
  /** The Parquet part written, or undefined when the source was empty. */
  readonly file: string | undefined;
}

interface Staged {
  readonly table: string;
  readonly schema: FeatureSchema;
}

/** Appends history as one new sorted Parquet part; (entity_id, event_time) is the key and may not repeat. */
export async function appendHistory(
  connection: DuckDBConnection,
  catalog: FeatureCatalog,
  set: string,
  source: HistorySource,
): Promise<AppendResult> {
  const staged =
    'rows' in source
      ? await stageJsRows(connection, catalog, set, source)
      : await stageRelation(connection, catalog, set, source);
  try {
    const rowsWritten = await validateStaged(connection, catalog, set, staged.table);
    await catalog.register(set, staged.schema);
    const file = rowsWritten > 0 ? await writePart(connection, catalog, set, staged.table) : undefined;
    if (file) await catalog.refreshView(set);
    return { featureSet: set, rowsWritten, file };
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(staged.table)}`);
  }
}

async function stageJsRows(
  connection: DuckDBConnection,
  catalog: FeatureCatalog,
  set: string,
  source: { readonly rows: Iterable<HistoryRow>; readonly schema?: FeatureSchema },
): Promise<Staged> {
  const rows = [...source.rows];
  rows.forEach(assertHistoryRow);
  const declared = catalog.merged(set, source.schema ?? {});
  const schema = catalog.merged(
    set,
    inferSchema(
      rows.map((row) => row.values),
      declared,
    ),
  );
  const features = Object.keys(schema);
  const table = stagingTableName('history');
  const columns = [
    { name: 'entity_id', type: 'VARCHAR' as const },
    { name: 'event_time', type: 'TIMESTAMP' as const },
    ...features.map((name) => ({ name, type: schema[name]! })),
  ];
  await stageRows(
    connection,
    table,
    columns,
    rows.map((row) => [row.entityId, row.eventTime, ...features.map((f) => row.values[f] ?? null)]),
  );
  return { table, schema };
}

function assertHistoryRow(row: HistoryRow, index: number): void {
  if (typeof row.entityId !== 'string' || row.entityId.length === 0)
    throw new TypeError(`history row ${index}: entityId must be a non-empty string`);
  if (!Number.isSafeInteger(row.eventTime))
    throw new TypeError(`history row ${index}: eventTime must be integer epoch milliseconds, got ${row.eventTime}`);
}

async function stageRelation(
  connection: DuckDBConnection,
  catalog: FeatureCatalog,
  set: string,
  source: RelationSource,
): Promise<Staged> {
  const relation = relationSql(source);
  const columns = await describe(connection, relation);
  const incoming = incomingSchema(columns);
  const schema = catalog.merged(set, incoming);
  const table = stagingTableName('history');
  const casts = Object.entries(schema).map(([feature, type]) =>
    feature in incoming
      ? `CAST(${quoteIdentifier(feature)} AS ${type}) AS ${quoteIdentifier(feature)}`
      : `NULL::${type} AS ${quoteIdentifier(feature)}`,
  );
  const select = ['entity_id::VARCHAR AS entity_id', 'event_time::TIMESTAMP AS event_time', ...casts].join(', ');
  await connection.run(`CREATE TEMP TABLE ${quoteIdentifier(table)} AS SELECT ${select} FROM ${relation}`);
  return { table, schema };
}

/** Checks a relation has the history key columns and maps every other column to a feature type. */
function incomingSchema(columns: readonly { name: string; sqlType: string }[]): FeatureSchema {
  const byName = new Map(columns.map((column) => [column.name, column.sqlType]));
  if (!byName.has('entity_id')) throw new Error('feature history needs an entity_id column');
  const eventTimeType = byName.get('event_time');
  if (eventTimeType === undefined || !isTimestampSqlType(eventTimeType)) {
    throw new Error(`feature history needs an event_time TIMESTAMP column, got ${eventTimeType ?? 'none'}`);
  }
  const features = columns.filter((column) => column.name !== 'entity_id' && column.name !== 'event_time');
  return Object.fromEntries(
    features.map((column) => {
      const type = featureTypeOfSql(column.sqlType);
      if (!type) throw new TypeError(`feature column ${column.name} has unsupported type ${column.sqlType}`);
      return [column.name, type];
    }),
  );
}

/**
 * Rejects null keys, NaN / ±Infinity values and keys repeated within the batch or already stored; returns the row
 * count.
 */
async function validateStaged(
  connection: DuckDBConnection,
  catalog: FeatureCatalog,
  set: string,
  table: string,
): Promise<number> {
  const staged = quoteIdentifier(table);
  const [stats] = await queryRows(
    connection,
    `SELECT count(*)::DOUBLE AS total, count(*) FILTER (WHERE entity_id IS NULL OR event_time IS ` +
      `NULL)::DOUBLE AS null_keys FROM ${staged}`,
  );
  if (Number(stats?.['null_keys']) > 0)
    throw new Error(
      `feature history for ${set}: ${Number(stats?.['null_keys'])} rows have a NULL entity_id or event_time`,
    );
  const nonFinite = await nonFiniteValues(connection, table, rowNameSql('entity_id', 'event_time'));
  if (nonFinite.length > 0)
    throw new Error(
      `feature history for ${set}: NaN and ±Infinity are not feature values (the online path refuses them ` +
        `too); rows include ${nonFinite.join('; ')}`,
    );
  const stored = catalog.has(set)
    ? `UNION ALL SELECT entity_id, event_time FROM ${catalog.view(set)} WHERE entity_id IN (SELECT entity_id ` +
      `FROM ${staged})`
    : '';
  const repeated = await queryRows(
    connection,
    `SELECT entity_id, strftime(event_time, '%Y-%m-%dT%H:%M:%S.%gZ') AS t
     FROM (SELECT entity_id, event_time FROM ${staged} ${stored})
     GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 3`,
  );
  if (repeated.length > 0) {
    const keys = repeated.map((row) => `(${JSON.stringify(row['entity_id'])}, ${cellText(row['t'])})`).join(', ');
    throw new Error(
      `feature history for ${set}: (entity_id, event_time) must be unique; repeated keys include ${keys}`,
    );
  }
  return Number(stats?.['total']);
}

async function writePart(
  connection: DuckDBConnection,
  catalog: FeatureCatalog,
  set: string,
  table: string,
): Promise<string> {
  const existing = await catalog.partFiles(set);
  const lastSequence = Math.max(
    0,
    ...existing.map((file) => Number.parseInt(basename(file).slice('part-'.length), 10) || 0),
  );
  const file = join(catalog.partsDir(set), `part-${String(lastSequence + 1).padStart(6, '0')}.parquet`);
  // Written under a temporary name and renamed, so a view never lists a half-written part.
  const temporary = `${file}.tmp`;
  await connection.run(
    `COPY (SELECT * FROM ${quoteIdentifier(table)} ORDER BY entity_id, event_time) TO ` +
      `${stringLiteral(temporary)} (FORMAT parquet)`,
  );
  await rename(temporary, file);
  return file;
}
