import type { FieldType, Source, SourceEvent } from '@rtml/features';
import { appendRows, type StageColumn, type StageType } from './db.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier, stringLiteral } from './sql.js';

/**
 * Events of one source: in memory (already parsed), or an NDJSON file of the same records (e.g. what went to Kafka).
 */
export type EventsInput<E extends SourceEvent> = readonly E[] | { readonly ndjson: string };

const SQL_TYPES: Record<FieldType, StageType> = { number: 'DOUBLE', string: 'VARCHAR', boolean: 'BOOLEAN' };

/** eventId, eventTime (epoch ms, BIGINT), then every plainly typed field of the source: what a backfill reads. */
export function eventColumns(source: Pick<Source<SourceEvent>, 'fieldTypes'>): StageColumn[] {
  const columns = new Map<string, StageType>([
    ['eventId', 'VARCHAR'],
    ['eventTime', 'BIGINT'],
  ]);
  for (const [field, type] of Object.entries(source.fieldTypes))
    if (!columns.has(field)) columns.set(field, SQL_TYPES[type]);
  return [...columns].map(([name, type]) => ({ name, type }));
}

/** Creates (or replaces) `table` with the source's event columns, filled from `input`; returns the row count. */
export async function loadEvents<E extends SourceEvent>(
  connection: DuckDBConnection,
  table: string,
  source: Source<E>,
  input: EventsInput<E>,
): Promise<number> {
  const columns = eventColumns(source);
  const name = quoteIdentifier(table, 'table name');
  if ('ndjson' in input) {
    const spec = columns.map((column) => `${stringLiteral(column.name)}: ${stringLiteral(column.type)}`).join(', ');
    await connection.run(
      `CREATE OR REPLACE TABLE ${name} AS SELECT * FROM read_json(${stringLiteral(input.ndjson)}, format = ` +
        `'newline_delimited', columns = {${spec}})`,
    );
  } else {
    const columnList = columns.map((column) => `${quoteIdentifier(column.name, 'column name')} ${column.type}`);
    await connection.run(`CREATE OR REPLACE TABLE ${name} (${columnList.join(', ')})`);
    const field = (event: E, column: string) =>
      (event as unknown as Record<string, string | number | boolean | null | undefined>)[column] ?? null;
    await appendRows(
      connection,
      table,
      null,
      columns,
      input.map((event) => columns.map((column) => field(event, column.name))),
    );
  }
  const reader = await connection.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${name}`);
  return Number(reader.getRowObjects()[0]?.['n']);
}
