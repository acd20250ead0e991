import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { cellText, describe, queryRows, relationSql } from './db.js';
import { FEATURE_TYPES, type FeatureSchema, type FeatureType } from './schema.js';
import { assertIdentifier, InvalidIdentifierError, quoteIdentifier } from './sql.js';

const CATALOG_TABLE = 'rtml_feature_columns';
const RESERVED_COLUMNS = new Set(['entity_id', 'event_time']);

/**
 * Feature-set names may not contain `__`: training-set columns are `<set>__<feature>` and must split back
 * unambiguously.
 */
export function assertFeatureSetName(name: string): string {
  assertIdentifier(name, 'feature set name');
  if (name.includes('__'))
    throw new InvalidIdentifierError(
      `invalid feature set name ${JSON.stringify(name)}: "__" is reserved as the column prefix separator`,
    );
  return name;
}

export function assertFeatureName(name: string): string {
  assertIdentifier(name, 'feature name');
  if (RESERVED_COLUMNS.has(name))
    throw new InvalidIdentifierError(`invalid feature name ${JSON.stringify(name)}: reserved for the history key`);
  return name;
}

/**
 * Which feature sets exist, their columns (persisted in the DuckDB file) and their Parquet parts.
 * Each set is read through a view `fs__<set>` over its part files. It is rebuilt on open and after every append,
 * so appends become visible at once and a moved store directory repairs its paths when reopened.
 */
export class FeatureCatalog {
  private readonly schemas = new Map<string, Record<string, FeatureType>>();

  private constructor(
    private readonly connection: DuckDBConnection,
    private readonly dir: string,
  ) {}

  static async load(connection: DuckDBConnection, dir: string): Promise<FeatureCatalog> {
    const catalog = new FeatureCatalog(connection, dir);
    await connection.run(
      `CREATE TABLE IF NOT EXISTS ${CATALOG_TABLE} (feature_set VARCHAR, feature VARCHAR, type VARCHAR, ` +
        `position INTEGER, PRIMARY KEY (feature_set, feature))`,
    );
    const rows = await queryRows(
      connection,
      `SELECT feature_set, feature, type FROM ${CATALOG_TABLE} ORDER BY feature_set, position`,
    );
    for (const row of rows)
      catalog.schemaFor(cellText(row['feature_set']))[cellText(row['feature'])] = row['type'] as FeatureType;
    for (const set of catalog.schemas.keys()) await catalog.refreshView(set);
    return catalog;
  }

  featureSets(): string[] {
    return [...this.schemas.keys()].sort();
  }

  has(set: string): boolean {
    return this.schemas.has(set);
  }

  /** The registered columns of a set; unknown sets are an error that lists the known ones. */
  schema(set: string): FeatureSchema {
    const schema = this.schemas.get(assertFeatureSetName(set));
    if (!schema)
      throw new Error(
        `unknown feature set ${JSON.stringify(set)}; known: ${this.featureSets().join(', ') || '(none)'}`,
      );
    return schema;
  }

  /** Quoted name of the view over the set's history. */
  view(set: string): string {
    this.schema(set);
    return quoteIdentifier(`fs__${set}`, 'view name');
  }

  partsDir(set: string): string {
    return join(this.dir, 'feature_sets', assertFeatureSetName(set));
  }

  /** The set's schema with the incoming columns added; throws if a column would change type. Persists nothing. */
  merged(set: string, incoming: FeatureSchema): FeatureSchema {
    assertFeatureSetName(set);
    const existing = this.schemas.get(set) ?? {};
    const added = Object.entries(incoming).filter(([feature, type]) => checkColumn(set, existing, feature, type));
    return { ...existing, ...Object.fromEntries(added) };
  }

  /** Registers the merged schema (see `merged`) and persists the new columns in the DuckDB file. */
  async register(set: string, incoming: FeatureSchema): Promise<FeatureSchema> {
    const merged = this.merged(set, incoming);
    const isNew = !this.schemas.has(set);
    const schema = this.schemaFor(set);
    const added = Object.entries(merged).filter(([feature]) => schema[feature] === undefined);
    for (const [feature, type] of added) {
      await this.connection.run(`INSERT INTO ${CATALOG_TABLE} VALUES ($set, $feature, $type, $position)`, {
        set,
        feature,
        type,
        position: Object.keys(schema).length,
      });
      schema[feature] = type;
    }
    if (isNew) await mkdir(this.partsDir(set), { recursive: true });
    if (isNew || added.length > 0) await this.refreshView(set);
    return schema;
  }

  async refreshView(set: string): Promise<void> {
    const files = await this.partFiles(set);
    const parts = files.length > 0 ? relationSql({ parquet: files }) : undefined;
    const stored = new Set(parts ? (await describe(this.connection, parts)).map((column) => column.name) : []);
    // A column registered after older parts were written (or before any part has it) reads as NULL.
    const column = (name: string, type: string) =>
      (stored.has(name) ? `CAST(${quoteIdentifier(name)} AS ${type})` : `NULL::${type}`) +
      ` AS ${quoteIdentifier(name)}`;
    const columns = [
      column('entity_id', 'VARCHAR'),
      column('event_time', 'TIMESTAMP'),
      ...Object.entries(this.schema(set)).map(([name, type]) => column(name, type)),
    ];
    // Views cannot hold bound parameters, so the paths go in as escaped literals (relationSql).
    const from = parts ? `FROM ${parts}` : 'WHERE false';
    await this.connection.run(`CREATE OR REPLACE VIEW ${this.view(set)} AS SELECT ${columns.join(', ')} ${from}`);
  }

  async partFiles(set: string): Promise<string[]> {
    const dir = this.partsDir(set);
    const names = await readdir(dir).catch(() => [] as string[]);
    return names
      .filter((name) => name.endsWith('.parquet'))
      .sort()
      .map((name) => join(dir, name));
  }

  private schemaFor(set: string): Record<string, FeatureType> {
    let schema = this.schemas.get(set);
    if (!schema) this.schemas.set(set, (schema = {}));
    return schema;
  }
}

/** True if the column is new; throws if it exists with another type or is not a valid feature column. */
function checkColumn(set: string, schema: FeatureSchema, feature: string, type: FeatureType): boolean {
  assertFeatureName(feature);
  if (!FEATURE_TYPES.includes(type))
    throw new TypeError(`feature ${set}.${feature}: unsupported type ${type}; use one of ${FEATURE_TYPES.join(', ')}`);
  const existing = schema[feature];
  if (existing !== undefined && existing !== type)
    throw new TypeError(`feature ${set}.${feature} is registered as ${existing}, cannot write it as ${type}`);
  return existing === undefined;
}
