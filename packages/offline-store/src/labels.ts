import type { DuckDBConnection } from '@duckdb/node-api';
import type { EventTime, FeatureValue, FeatureValues } from '@rtml/features';
import {
  describe,
  nonFiniteValues,
  queryRows,
  relationSql,
  rowNameSql,
  stageRows,
  stagingTableName,
  type RelationSource,
  type StageType,
} from './db.js';
import { inferSchema, isTimestampSqlType, type FeatureSchema } from './schema.js';
import { assertIdentifier, InvalidIdentifierError, quoteIdentifier } from './sql.js';

/** A labelled example from JS: what happened to `entityId` at `labelTime`, plus optional extra columns. */
export interface LabelRow {
  readonly entityId: string;
  readonly labelTime: EventTime;
  readonly label: number | string | boolean | null;
  readonly extra?: FeatureValues;
}

/**
 * Labels: JS rows, or a relation with `entity_id`, `label_time` (a timestamp), `label` and any extra columns.
 * `schema` declares the types JS rows cannot show (a `label` or extra column that is null in every row).
 */
export type LabelSource = RelationSource | { readonly rows: readonly LabelRow[]; readonly schema?: FeatureSchema };

/** Column holding each label's position in the source, so training sets keep the labels' order. */
export const LABEL_ROW = 'rtml_label_row';
const KEY_COLUMNS = ['entity_id', 'label_time', 'label'];

export interface StagedLabels {
  readonly table: string;
  /** Output columns taken from the labels, in order (entity_id, label_time, label, extras). */
  readonly columns: readonly string[];
}

export async function stageLabels(connection: DuckDBConnection, source: LabelSource): Promise<StagedLabels> {
  const staged =
    'rows' in source
      ? await stageJsLabels(connection, source.rows, source.schema)
      : await stageLabelRelation(connection, source);
  const [nulls] = await queryRows(
    connection,
    `SELECT count(*)::DOUBLE AS n FROM ${quoteIdentifier(staged.table)} WHERE entity_id IS NULL OR label_time IS NULL`,
  );
  if (Number(nulls?.['n']) > 0) {
    await connection.run(`DROP TABLE ${quoteIdentifier(staged.table)}`);
    throw new Error(`labels: ${Number(nulls?.['n'])} rows have a NULL entity_id or label_time`);
  }
  const nonFinite = await nonFiniteValues(connection, staged.table, rowNameSql('entity_id', 'label_time'));
  if (nonFinite.length > 0) {
    await connection.run(`DROP TABLE ${quoteIdentifier(staged.table)}`);
    throw new Error(`labels: NaN and ±Infinity are not label values; rows include ${nonFinite.join('; ')}`);
  }
  return staged;
}

async function stageJsLabels(
  connection: DuckDBConnection,
  rows: readonly LabelRow[],
  declared: FeatureSchema = {},
): Promise<StagedLabels> {
  rows.forEach(assertLabelRow);
  const valueColumns = rows.map((row): Record<string, FeatureValue> => ({ label: row.label, ...row.extra }));
  const schema = inferSchema(valueColumns, declared);
  const names = Object.keys(schema).length > 0 ? Object.keys(schema) : ['label'];
  names.filter((name) => name !== 'label').forEach(assertExtraColumn);
  const table = stagingTableName('labels');
  const columns: { name: string; type: StageType }[] = [
    { name: LABEL_ROW, type: 'DOUBLE' },
    { name: 'entity_id', type: 'VARCHAR' },
    { name: 'label_time', type: 'TIMESTAMP' },
    ...names.map((name) => ({ name, type: schema[name] ?? ('DOUBLE' as const) })),
  ];
  const values = rows.map((row, index) => [
    index,
    row.entityId,
    row.labelTime,
    ...names.map((name) => valueColumns[index]?.[name] ?? null),
  ]);
  await stageRows(connection, table, columns, values);
  return { table, columns: ['entity_id', 'label_time', ...names] };
}

function assertLabelRow(row: LabelRow, index: number): void {
  if (typeof row.entityId !== 'string' || row.entityId.length === 0)
    throw new TypeError(`label row ${index}: entityId must be a non-empty string`);
  if (!Number.isSafeInteger(row.labelTime))
    throw new TypeError(`label row ${index}: labelTime must be integer epoch milliseconds, got ${row.labelTime}`);
}

function assertExtraColumn(name: string): void {
  assertIdentifier(name, 'label extra column');
  if (KEY_COLUMNS.includes(name) || name === LABEL_ROW)
    throw new InvalidIdentifierError(`label extra column ${JSON.stringify(name)} is reserved`);
}

async function stageLabelRelation(connection: DuckDBConnection, source: RelationSource): Promise<StagedLabels> {
  const relation = relationSql(source);
  const columns = await describe(connection, relation);
  const types = new Map(columns.map((column) => [column.name, column.sqlType]));
  const missing = KEY_COLUMNS.filter((name) => !types.has(name));
  if (missing.length > 0)
    throw new Error(`labels need columns entity_id, label_time, label; missing ${missing.join(', ')}`);
  const labelTimeType = types.get('label_time')!;
  if (!isTimestampSqlType(labelTimeType))
    throw new Error(`labels: label_time must be a TIMESTAMP, got ${labelTimeType}`);
  if (types.has(LABEL_ROW)) throw new InvalidIdentifierError(`labels: column ${LABEL_ROW} is reserved`);
  const table = stagingTableName('labels');
  await connection.run(
    `CREATE TEMP TABLE ${quoteIdentifier(table)} AS
     SELECT row_number() OVER () AS ${LABEL_ROW}, entity_id::VARCHAR AS entity_id, label_time::TIMESTAMP AS label_time,
            * EXCLUDE (entity_id, label_time)
     FROM ${relation}`,
  );
  const extras = columns.map((column) => column.name).filter((name) => name !== 'entity_id' && name !== 'label_time');
  return { table, columns: ['entity_id', 'label_time', ...extras] };
}
