import type { DuckDBConnection } from '@duckdb/node-api';
import type { DurationMs, FeatureService } from '@rtml/features';
import type { FeatureCatalog } from './catalog.js';
import { queryRows } from './db.js';
import { LABEL_ROW, stageLabels, type LabelSource } from './labels.js';
import { assertIdentifier, quoteIdentifier, quoteTableName } from './sql.js';

/**
 * A feature set as the join needs it: a `FeatureSet` of @rtml/features is one (usually passed through its
 * `FeatureService`); a literal serves for histories appended without a definition.
 */
export interface TrainingFeatureSet {
  readonly name: string;
  /** Whose history it is; sets of another entity than the first set's are joined on `entityIdColumns[entity.name]`. */
  readonly entity?: { readonly name: string };
  /**
   * A value whose history row is older than this at label time is NULL (as a `stale` read online). Default: never too
   * old. Ignored by the naive join.
   */
  readonly maxAge?: DurationMs | undefined;
  /** Default: every registered feature of the set. */
  readonly features?: readonly string[];
}

/**
 * - `point-in-time`: per label, the entity's last history row with event_time STRICTLY BEFORE label_time (DuckDB ASOF
 * JOIN), subject to maxAge.
 * - `naive-latest`: per label, the entity's latest history row overall, ignoring time: the look-ahead-biased baseline.
 */
export type JoinStrategy = 'point-in-time' | 'naive-latest';

export interface TrainingSetRequest {
  readonly labels: LabelSource;
  readonly featureSets: FeatureService | readonly TrainingFeatureSet[];
  /**
   * The label column holding each entity's ids, by entity name (e.g. `{ item: 'item_id' }` when `entity_id` is the
   * user): one label row can then join sets of several entities. The first set's entity defaults to `entity_id`.
   */
  readonly entityIdColumns?: Readonly<Record<string, string>>;
  /** Table created (or replaced) in the store's database. Default `training_set`. */
  readonly into?: string;
  readonly strategy?: JoinStrategy;
}

export interface JoinedFeatureSet {
  readonly name: string;
  /** `<set>__event_time`: the history row each label used (NULL if none / expired), for leakage audits. */
  readonly eventTimeColumn: string;
  /** Feature name -> output column `<set>__<feature>`. */
  readonly featureColumns: Readonly<Record<string, string>>;
  readonly maxAge: DurationMs | undefined;
  /** The label column the set was joined on. */
  readonly entityIdColumn: string;
}

export interface TrainingSet {
  readonly table: string;
  readonly strategy: JoinStrategy;
  readonly rowCount: number;
  /** Columns carried over from the labels: entity_id, label_time, label, then extras. */
  readonly labelColumns: readonly string[];
  readonly featureSets: readonly JoinedFeatureSet[];
}

/**
 * Builds a training set table: the labels (in their order) plus, per feature set, `<set>__event_time` and
 * `<set>__<feature>` columns.
 */
export async function buildTrainingSet(
  connection: DuckDBConnection,
  catalog: FeatureCatalog,
  request: TrainingSetRequest,
): Promise<TrainingSet> {
  const strategy = request.strategy ?? 'point-in-time';
  const table = request.into ?? 'training_set';
  const featureSets = resolveFeatureSets(catalog, request);
  const labels = await stageLabels(connection, request.labels);
  try {
    assertNoColumnCollision(labels.columns, featureSets);
    assertEntityColumns(labels.columns, featureSets);
    const joins = featureSets.map((set, index) => joinSql(catalog, set, `h${index}`, strategy));
    await connection.run(
      `CREATE OR REPLACE TABLE ${quoteTableName(table)} AS
       SELECT l.* EXCLUDE (${LABEL_ROW}), ${joins.map((join) => join.projection).join(', ')}
       FROM ${quoteIdentifier(labels.table)} l ${joins.map((join) => join.from).join(' ')}
       ORDER BY l.${LABEL_ROW}`,
    );
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(labels.table)}`);
  }
  const [count] = await queryRows(connection, `SELECT count(*)::DOUBLE AS n FROM ${quoteTableName(table)}`);
  return { table, strategy, rowCount: Number(count?.['n']), labelColumns: labels.columns, featureSets };
}

function resolveFeatureSets(catalog: FeatureCatalog, request: TrainingSetRequest): JoinedFeatureSet[] {
  const requested = 'featureSets' in request.featureSets ? request.featureSets.featureSets : request.featureSets;
  if (requested.length === 0) throw new Error('a training set needs at least one feature set');
  const names = requested.map((set) => set.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new Error(`feature set ${duplicate} is requested twice`);
  const labelled = requested[0].entity?.name;
  const columns = request.entityIdColumns ?? {};
  return requested.map((set) => resolveFeatureSet(catalog, set, entityIdColumnOf(set, labelled, columns)));
}

/**
 * The label column a set joins on: its entity's entry in `entityIdColumns`, else `entity_id` for the labels' entity.
 */
function entityIdColumnOf(
  set: TrainingFeatureSet,
  labelled: string | undefined,
  columns: Readonly<Record<string, string>>,
): string {
  const entity = set.entity?.name;
  const column = entity === undefined ? undefined : columns[entity];
  if (column !== undefined) return column;
  if (entity === undefined || entity === labelled) return 'entity_id';
  throw new Error(
    `feature set ${set.name} is of entity ${entity}, the labels of ${labelled}: ` +
      `name the label column holding ${entity} ids, entityIdColumns: { ${entity}: '<column>' }`,
  );
}

function resolveFeatureSet(
  catalog: FeatureCatalog,
  request: TrainingFeatureSet,
  entityIdColumn: string,
): JoinedFeatureSet {
  const schema = catalog.schema(request.name);
  const features = request.features ?? Object.keys(schema);
  const unknown = features.filter((feature) => !(feature in schema));
  if (unknown.length > 0)
    throw new Error(
      `feature set ${request.name} has no feature ${unknown.join(', ')}; it has ${Object.keys(schema).join(', ')}`,
    );
  if (request.maxAge !== undefined && !(Number.isSafeInteger(request.maxAge) && request.maxAge >= 0)) {
    const got = request.maxAge;
    throw new RangeError(`maxAge of ${request.name} must be a non-negative integer number of milliseconds, got ${got}`);
  }
  assertIdentifier(entityIdColumn, `entity id column of ${request.name}`);
  return {
    name: request.name,
    eventTimeColumn: `${request.name}__event_time`,
    featureColumns: Object.fromEntries(features.map((feature) => [feature, `${request.name}__${feature}`])),
    maxAge: request.maxAge,
    entityIdColumn,
  };
}

function assertNoColumnCollision(labelColumns: readonly string[], featureSets: readonly JoinedFeatureSet[]): void {
  const output = featureSets.flatMap((set) => [set.eventTimeColumn, ...Object.values(set.featureColumns)]);
  const clash = output.find((column) => labelColumns.includes(column));
  if (clash !== undefined)
    throw new Error(`label column ${clash} collides with a feature column of the training set; rename it`);
}

function assertEntityColumns(labelColumns: readonly string[], featureSets: readonly JoinedFeatureSet[]): void {
  const unknown = featureSets.find((set) => !labelColumns.includes(set.entityIdColumn));
  if (unknown !== undefined)
    throw new Error(
      `feature set ${unknown.name}: the labels have no entity id column ${unknown.entityIdColumn}; they have ` +
        `${labelColumns.join(', ')}`,
    );
}

/** The FROM clause joining one feature set onto the labels `l`, and its output columns. */
function joinSql(
  catalog: FeatureCatalog,
  set: JoinedFeatureSet,
  alias: string,
  strategy: JoinStrategy,
): { from: string; projection: string } {
  const features = Object.keys(set.featureColumns);
  const featureColumns = features.map((feature) => `, ${quoteIdentifier(feature)}`).join('');
  const history = `SELECT entity_id, event_time${featureColumns} FROM ${catalog.view(set.name)}`;
  // Cast: history entity ids are VARCHAR, a label's other entity column may be of any type.
  const entity = `l.${quoteIdentifier(set.entityIdColumn)}::VARCHAR`;
  const from =
    strategy === 'point-in-time'
      ? `ASOF LEFT JOIN (${history}) ${alias} ON ${entity} = ${alias}.entity_id AND l.label_time > ${alias}.event_time`
      : `LEFT JOIN (${history} QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY event_time DESC) = ` +
        `1) ${alias} ON ${entity} = ${alias}.entity_id`;
  // maxAge: a row older than maxAge at label time is treated exactly like no row at all (a stale read online).
  const fresh =
    strategy === 'point-in-time' && set.maxAge !== undefined
      ? `${alias}.event_time >= l.label_time - to_milliseconds(${set.maxAge})`
      : undefined;
  const column = (source: string, name: string) =>
    `${fresh ? `CASE WHEN ${fresh} THEN ${source} END` : source} AS ${quoteIdentifier(name)}`;
  const projection = [
    column(`${alias}.event_time`, set.eventTimeColumn),
    ...features.map((feature) => column(`${alias}.${quoteIdentifier(feature)}`, set.featureColumns[feature]!)),
  ].join(', ');
  return { from, projection };
}
