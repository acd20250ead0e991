import type { FeatureValue } from '@rtml/features';

/** The column types a feature may have in the offline store; they mirror `FeatureValue`. */
export const FEATURE_TYPES = ['DOUBLE', 'VARCHAR', 'BOOLEAN', 'DOUBLE[]', 'VARCHAR[]'] as const;
export type FeatureType = (typeof FEATURE_TYPES)[number];

/** Feature name -> column type, in column order. */
export type FeatureSchema = Readonly<Record<string, FeatureType>>;

const NUMERIC_SQL_TYPE_NAMES = [
  ...['DOUBLE', 'FLOAT', 'REAL', 'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT'],
  ...['UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT', String.raw`DECIMAL(\(\d+,\s*\d+\))?`],
];
const NUMERIC_SQL_TYPE = new RegExp(`^(${NUMERIC_SQL_TYPE_NAMES.join('|')})$`);

/**
 * Maps a DuckDB column type (as DESCRIBE prints it) to the feature type it is stored as, or undefined if unsupported.
 */
export function featureTypeOfSql(sqlType: string): FeatureType | undefined {
  const type = sqlType.toUpperCase();
  if (NUMERIC_SQL_TYPE.test(type)) return 'DOUBLE';
  if (type === 'VARCHAR') return 'VARCHAR';
  if (type === 'BOOLEAN') return 'BOOLEAN';
  if (type.endsWith('[]')) {
    const element = featureTypeOfSql(type.slice(0, -2));
    if (element === 'DOUBLE') return 'DOUBLE[]';
    if (element === 'VARCHAR') return 'VARCHAR[]';
  }
  return undefined;
}

/**
 * Plain timestamps only: a TIMESTAMPTZ would convert through the session time zone, so callers convert to UTC first.
 */
export function isTimestampSqlType(sqlType: string): boolean {
  return /^(TIMESTAMP(_S|_MS|_NS)?|DATE)$/i.test(sqlType);
}

/** The feature type a JS value needs, or undefined for null / empty lists (which fit any type of their shape). */
export function featureTypeOfValue(value: FeatureValue): FeatureType | undefined {
  if (value === null) return undefined;
  if (typeof value === 'number') return 'DOUBLE';
  if (typeof value === 'string') return 'VARCHAR';
  if (typeof value === 'boolean') return 'BOOLEAN';
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    if (value.every((item) => typeof item === 'number')) return 'DOUBLE[]';
    if (value.every((item) => typeof item === 'string')) return 'VARCHAR[]';
  }
  throw new TypeError(
    `unsupported feature value ${JSON.stringify(value)}: expected number, string, boolean, null or a list of ` +
      `numbers / strings`,
  );
}

export function valueFitsType(value: FeatureValue, type: FeatureType): boolean {
  if (value === null) return true;
  if (Array.isArray(value) && value.length === 0) return type.endsWith('[]');
  return featureTypeOfValue(value) === type;
}

/**
 * Infers a schema from JS values (declared types win): the first typed value of a column decides, every value must fit.
 * A column that is null everywhere has no type to infer and must be declared by the caller.
 */
export function inferSchema(
  rows: readonly Readonly<Record<string, FeatureValue>>[],
  declared: FeatureSchema = {},
): FeatureSchema {
  const schema: Record<string, FeatureType | undefined> = { ...declared };
  for (const values of rows) {
    for (const [name, value] of Object.entries(values)) schema[name] ??= featureTypeOfValue(value);
  }
  const untyped = Object.keys(schema).filter((name) => schema[name] === undefined);
  if (untyped.length > 0) {
    const example = untyped.map((name) => `${name}: 'DOUBLE'`).join(', ');
    throw new TypeError(
      `cannot infer the type of ${untyped.join(', ')} (only null / empty values): declare it with the ` +
        `source's schema option, e.g. schema: { ${example} }`,
    );
  }
  const typed = schema as Record<string, FeatureType>;
  for (const values of rows) {
    for (const [name, value] of Object.entries(values)) {
      if (!valueFitsType(value, typed[name]!))
        throw new TypeError(`${name} is ${typed[name]} but got ${JSON.stringify(value)}`);
    }
  }
  return typed;
}
