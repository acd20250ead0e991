import type { DuckDBConnection } from '@duckdb/node-api';
import { eventTime, type EventTime } from '@rtml/features';
import { describe, queryRows, relationSql, type RelationSource } from './db.js';
import { isTimestampSqlType } from './schema.js';
import { epochMsOf, quoteIdentifier } from './sql.js';

/**
 * - `strict` (default, what the point-in-time join guarantees): a feature row at or after label time leaks (feature_time >= label_time).
 * - `inclusive`: only a feature row after label time leaks (feature_time > label_time), for pipelines whose
 *   labels are known to be produced after same-instant features.
 */
export type LeakageRule = 'strict' | 'inclusive';

export interface LeakageCheckOptions {
  readonly rule?: LeakageRule;
  /** Feature sets to check. Default: every `<set>__event_time` column found in the relation. */
  readonly featureSets?: readonly string[];
}

export interface Leak {
  /** 1-based position of the row in the checked relation. */
  readonly row: number;
  readonly entityId: string;
  readonly labelTime: EventTime;
  readonly featureSet: string;
  readonly featureTime: EventTime;
}

export interface LeakageReport {
  readonly rule: LeakageRule;
  readonly rowsChecked: number;
  /** Rows with at least one leaking feature set. */
  readonly leakingRows: number;
  /** Leaking rows per feature set (every checked set is listed, 0 included). */
  readonly bySet: Readonly<Record<string, number>>;
  /** Every leak, ordered by row then feature set. */
  readonly leaks: readonly Leak[];
}

const EVENT_TIME_SUFFIX = '__event_time';

/** Audits a training set: which rows used a feature row that was not yet available at label time. */
export async function checkLeakage(connection: DuckDBConnection, source: RelationSource, options: LeakageCheckOptions = {}): Promise<LeakageReport> {
  const rule = options.rule ?? 'strict';
  const relation = relationSql(source);
  const sets = await featureSetsToCheck(connection, relation, options.featureSets);
  const leaks = await findLeaks(connection, relation, sets, rule === 'strict' ? '>=' : '>');
  const [count] = await queryRows(connection, `SELECT count(*)::DOUBLE AS n FROM ${relation}`);
  const bySet = Object.fromEntries(sets.map((set) => [set, leaks.filter((leak) => leak.featureSet === set).length]));
  return { rule, rowsChecked: Number(count?.['n']), leakingRows: new Set(leaks.map((leak) => leak.row)).size, bySet, leaks };
}

async function featureSetsToCheck(connection: DuckDBConnection, relation: string, requested: readonly string[] | undefined): Promise<string[]> {
  const columns = await describe(connection, relation);
  const types = new Map(columns.map((column) => [column.name, column.sqlType]));
  for (const required of ['entity_id', 'label_time']) {
    if (!types.has(required)) throw new Error(`leakage check needs a ${required} column`);
  }
  const found = columns.filter((column) => column.name.endsWith(EVENT_TIME_SUFFIX)).map((column) => column.name.slice(0, -EVENT_TIME_SUFFIX.length));
  const sets = requested ? [...requested] : found;
  if (sets.length === 0) throw new Error('leakage check found no <set>__event_time columns to audit');
  for (const set of sets) {
    const type = types.get(set + EVENT_TIME_SUFFIX);
    if (type === undefined || !isTimestampSqlType(type)) throw new Error(`leakage check: no TIMESTAMP column ${set}${EVENT_TIME_SUFFIX}`);
  }
  return sets;
}

async function findLeaks(connection: DuckDBConnection, relation: string, sets: readonly string[], leaksWhen: '>=' | '>'): Promise<Leak[]> {
  const perSet = sets.map((set, index) => {
    const featureTime = quoteIdentifier(set + EVENT_TIME_SUFFIX, 'feature time column');
    return `SELECT row, entity_id, ${epochMsOf('label_time')} AS label_ms, ${index} AS set_index, ${epochMsOf(featureTime)} AS feature_ms
            FROM numbered WHERE ${featureTime} ${leaksWhen} label_time`;
  });
  const rows = await queryRows(
    connection,
    `WITH numbered AS (SELECT row_number() OVER ()::DOUBLE AS row, * FROM ${relation})
     ${perSet.join(' UNION ALL ')} ORDER BY row, set_index`,
  );
  return rows.map((row) => ({
    row: Number(row['row']),
    entityId: String(row['entity_id']),
    labelTime: eventTime(Number(row['label_ms'])),
    featureSet: sets[Number(row['set_index'])]!,
    featureTime: eventTime(Number(row['feature_ms'])),
  }));
}
