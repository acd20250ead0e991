import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteTableName, stringLiteral } from './sql.js';

export type ExportFormat = 'parquet' | 'csv';

/** Copies a table (e.g. a training set) to one Parquet or CSV file (CSV with a header row; lists print as `[a, b]`). */
export async function exportTable(
  connection: DuckDBConnection,
  table: string,
  path: string,
  format: ExportFormat,
): Promise<void> {
  const options = format === 'parquet' ? 'FORMAT parquet' : 'FORMAT csv, HEADER true';
  await connection.run(`COPY (SELECT * FROM ${quoteTableName(table)}) TO ${stringLiteral(path)} (${options})`);
}
