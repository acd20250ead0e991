import {
  DOUBLE,
  DuckDBTimestampValue,
  type DuckDBInstance,
  LIST,
  VARCHAR,
  listValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBValue,
  type JS,
} from '@duckdb/node-api';
import type { FeatureValue } from '@rtml/features';
import type { FeatureType } from './schema.js';
import { epochMsParameter, quoteIdentifier, quoteTableName, stringLiteral } from './sql.js';

export type Params = Record<string, DuckDBValue>;
export type Row = Record<string, JS>;

/**
 * A cell as text. DuckDB's JS values include lists and structs too, which `String()` spells "[object Object]": JSON.
 */
export function cellText(value: JS | undefined): string {
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));
}

/**
 * A relation the store can read: a table or view in the store's own connection, a SQL query
 * (trusted text: it is run as written), or Parquet files.
 */
export type RelationSource =
  { readonly table: string } | { readonly query: string } | { readonly parquet: string | readonly string[] };

/** The SQL for a relation source, usable after FROM. */
export function relationSql(source: RelationSource): string {
  if ('table' in source) return quoteTableName(source.table);
  if ('query' in source) return `(${source.query})`;
  const files = typeof source.parquet === 'string' ? [source.parquet] : source.parquet;
  if (files.length === 0) throw new Error('parquet source needs at least one file');
  return `read_parquet([${files.map(stringLiteral).join(', ')}], union_by_name = true)`;
}

export interface ColumnInfo {
  readonly name: string;
  readonly sqlType: string;
}

/** A staging column: a feature type, the one timestamp type we store, or epoch ms as events carry it. */
export type StageType = FeatureType | 'TIMESTAMP' | 'BIGINT';

/**
 * Every connection the store opens: everything here is plain TIMESTAMP + epoch_ms, which no time zone touches, and
 * the session zone is pinned to UTC as well (ICU would otherwise take the machine's zone). Without ICU DuckDB is
 * UTC-only already, so failing to set it is fine.
 */
export async function connectUtc(instance: DuckDBInstance): Promise<DuckDBConnection> {
  const connection = await instance.connect();
  await connection.run(`SET TimeZone = 'UTC'`).catch((error: unknown) => {
    if (!/icu/i.test(String(error))) throw error;
  });
  return connection;
}

/**
 * NaN and ±Infinity are refused at the door, as the online path refuses them (zod numbers are finite): the first
 * few rows holding one in a DOUBLE / FLOAT (or list) column, each named by `rowSql` (e.g. `rowNameSql`), or none.
 */
export async function nonFiniteValues(connection: DuckDBConnection, table: string, rowSql: string): Promise<string[]> {
  const floats = (await describe(connection, quoteIdentifier(table))).filter((column) =>
    /^(DOUBLE|FLOAT|REAL)(\[\])?$/i.test(column.sqlType),
  );
  if (floats.length === 0) return [];
  const checks = floats.map((column) => {
    const name = quoteIdentifier(column.name, 'column name');
    const bad = column.sqlType.endsWith('[]')
      ? `list_bool_or(list_transform(${name}, x -> NOT isfinite(x)))`
      : `NOT isfinite(${name})`;
    return (
      `SELECT ${rowSql} || ': ' || ${stringLiteral(column.name)} || ' = ' || CAST(${name} AS VARCHAR) ` +
      `AS problem FROM ${quoteIdentifier(table)} WHERE ${bad}`
    );
  });
  const rows = await queryRows(connection, `${checks.join(' UNION ALL ')} LIMIT 3`);
  return rows.map((row) => cellText(row['problem']));
}

/** SQL naming a row by its entity and time, e.g. `"u1" at 2024-01-01T00:00:00.000Z`. */
export function rowNameSql(entityIdColumn: string, timeColumn: string): string {
  return `to_json(${entityIdColumn})::VARCHAR || ' at ' || strftime(${timeColumn}, '%Y-%m-%dT%H:%M:%S.%gZ')`;
}

export async function queryRows(connection: DuckDBConnection, sql: string, params?: Params): Promise<Row[]> {
  const reader = await connection.runAndReadAll(sql, params);
  return reader.getRowObjectsJS();
}

export async function describe(connection: DuckDBConnection, relation: string): Promise<ColumnInfo[]> {
  const rows = await queryRows(connection, `DESCRIBE SELECT * FROM ${relation}`);
  return rows.map((row) => ({ name: cellText(row['column_name']), sqlType: cellText(row['column_type']) }));
}

let stagingCounter = 0;

/** A fresh temp-table name, unique within this process. */
export function stagingTableName(purpose: string): string {
  stagingCounter += 1;
  return `rtml_stage_${purpose}_${process.pid}_${stagingCounter}`;
}

/**
 * Creates a temp table with the given columns and fills it from JS values through DuckDB's appender (no SQL text per
 * value).
 */
export async function stageRows(
  connection: DuckDBConnection,
  table: string,
  columns: readonly StageColumn[],
  rows: Iterable<readonly FeatureValue[]>,
): Promise<void> {
  const ddl = columns.map((column) => `${quoteIdentifier(column.name, 'column name')} ${column.type}`).join(', ');
  await connection.run(`CREATE TEMP TABLE ${quoteIdentifier(table)} (${ddl})`);
  await appendRows(connection, table, 'temp', columns, rows);
}

export interface StageColumn {
  readonly name: string;
  readonly type: StageType;
}

/** Appends rows to an existing table of schema `main`: `temp` for temp tables, null for the database's own. */
export async function appendRows(
  connection: DuckDBConnection,
  table: string,
  catalog: 'temp' | null,
  columns: readonly StageColumn[],
  rows: Iterable<readonly FeatureValue[]>,
): Promise<void> {
  const appender = await connection.createAppender(table, 'main', catalog);
  try {
    for (const row of rows) {
      columns.forEach((column, index) => appendValue(appender, column.type, row[index] ?? null));
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

function appendValue(appender: DuckDBAppender, type: StageType, value: FeatureValue): void {
  if (value === null) return appender.appendNull();
  switch (type) {
    case 'TIMESTAMP':
      return appender.appendTimestamp(new DuckDBTimestampValue(epochMsParameter(value as number) * 1000n));
    case 'BIGINT':
      return appender.appendBigInt(BigInt(value as number));
    case 'DOUBLE':
      return appender.appendDouble(value as number);
    case 'VARCHAR':
      return appender.appendVarchar(value as string);
    case 'BOOLEAN':
      return appender.appendBoolean(value as boolean);
    case 'DOUBLE[]':
      return appender.appendList(listValue(value as readonly number[]), LIST(DOUBLE));
    case 'VARCHAR[]':
      return appender.appendList(listValue(value as readonly string[]), LIST(VARCHAR));
  }
}
