/**
 * Names we splice into SQL (feature sets, features, tables): a conservative ASCII subset, always double-quoted as well.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** User-chosen names stay short enough that derived ones (`<set>__<feature>`) remain readable. */
const MAX_NAME_LENGTH = 63;
const MAX_DERIVED_LENGTH = 255;

export class InvalidIdentifierError extends Error {
  override readonly name = 'InvalidIdentifierError';
}

export function assertIdentifier(name: string, what: string, maxLength = MAX_NAME_LENGTH): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name) || name.length > maxLength) {
    throw new InvalidIdentifierError(
      `invalid ${what} ${JSON.stringify(name)}: use 1-${maxLength} characters of [A-Za-z0-9_], not starting ` +
        `with a digit`,
    );
  }
  return name;
}

/** Quotes a validated identifier; validation comes first so quoting never has to escape anything. */
export function quoteIdentifier(name: string, what = 'identifier'): string {
  return `"${assertIdentifier(name, what, MAX_DERIVED_LENGTH)}"`;
}

/** A table reference such as `labels` or `main.labels`, each part validated and quoted. */
export function quoteTableName(name: string): string {
  const parts = name.split('.');
  if (parts.length > 3)
    throw new InvalidIdentifierError(`invalid table name ${JSON.stringify(name)}: at most catalog.schema.table`);
  return parts.map((part) => quoteIdentifier(part, 'table name')).join('.');
}

/**
 * A SQL string literal, for the few places DuckDB takes no bound parameter (COPY ... TO 'path').
 * DuckDB standard strings have no backslash escapes, so doubling quotes is a complete escape.
 */
export function stringLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('string literal must not contain NUL characters');
  return `'${value.replaceAll("'", "''")}'`;
}

/** Epoch milliseconds as the BIGINT DuckDB's epoch_ms() expects; sub-millisecond times are rejected, not rounded. */
export function epochMsParameter(time: number): bigint {
  if (!Number.isSafeInteger(time))
    throw new RangeError(`time must be an integer number of epoch milliseconds, got ${time}`);
  return BigInt(time);
}

/** SQL expression turning a TIMESTAMP column into epoch milliseconds as a JS-friendly DOUBLE. */
export function epochMsOf(column: string): string {
  return `epoch_ms(${column})::DOUBLE`;
}
