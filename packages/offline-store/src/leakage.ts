import type { DuckDBConnection } from '@duckdb/node-api';
import { eventTime, type EventTime } from '@rtml/features';
import { cellText, describe, queryRows, relationSql, type RelationSource, type Row } from './db.js';
import { isTimestampSqlType } from './schema.js';
import { epochMsOf, quoteIdentifier } from './sql.js';

/**
 * - `strict` (default, what the point-in-time join guarantees): a feature row at or after label time leaks
 * (feature_time >= label_time).
 * - `inclusive`: only a feature row after label time leaks (feature_time > label_time), for pipelines whose
 *   labels are known to be produced after same-instant features.
 */
export type LeakageRule = 'strict' | 'inclusive';

export interface LeakageCheckOptions {
  readonly rule?: LeakageRule;
  /** Feature sets to check. Default: every `<set>__event_time` column found in the relation. */
  readonly featureSets?: readonly string[];
  /** List at most this many leaks (counts stay exact). Default: all. */
  readonly maxLeaks?: number;
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
  /** Every leak (up to `maxLeaks`), ordered by row then feature set. */
  readonly leaks: readonly Leak[];
}

const EVENT_TIME_SUFFIX = '__event_time';

/** Audits a training set: which rows used a feature row that was not yet available at label time. */
export async function checkLeakage(
  connection: DuckDBConnection,
  source: RelationSource,
  options: LeakageCheckOptions = {},
): Promise<LeakageReport> {
  const rule = options.rule ?? 'strict';
  const maxLeaks = options.maxLeaks ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(maxLeaks) || maxLeaks < 0)
    throw new RangeError(`maxLeaks must be a non-negative integer, got ${maxLeaks}`);
  const relation = relationSql(source);
  const sets = await featureSetsToCheck(connection, relation, options.featureSets);
  const leaksSql = leaksQuery(relation, sets, rule === 'strict' ? '>=' : '>');
  const perSet = sets.map((_, index) => `count(*) FILTER (WHERE set_index = ${index})::DOUBLE AS "${index}"`);
  const [counts] = await queryRows(
    connection,
    `SELECT (SELECT count(*) FROM ${relation})::DOUBLE AS checked, count(DISTINCT row)::DOUBLE AS leaking, ` +
      `${perSet.join(', ')} FROM (${leaksSql})`,
  );
  const leaks = await queryRows(connection, `${leaksSql} ORDER BY row, set_index LIMIT ${maxLeaks}`);
  return {
    rule,
    rowsChecked: Number(counts?.['checked']),
    leakingRows: Number(counts?.['leaking']),
    bySet: Object.fromEntries(sets.map((set, index) => [set, Number(counts?.[String(index)])])),
    leaks: leaks.map((row) => toLeak(row, sets)),
  };
}

async function featureSetsToCheck(
  connection: DuckDBConnection,
  relation: string,
  requested: readonly string[] | undefined,
): Promise<string[]> {
  const columns = await describe(connection, relation);
  const types = new Map(columns.map((column) => [column.name, column.sqlType]));
  for (const required of ['entity_id', 'label_time']) {
    if (!types.has(required)) throw new Error(`leakage check needs a ${required} column`);
  }
  const found = columns
    .filter((column) => column.name.endsWith(EVENT_TIME_SUFFIX))
    .map((column) => column.name.slice(0, -EVENT_TIME_SUFFIX.length));
  const sets = requested ? [...requested] : found;
  if (sets.length === 0) throw new Error('leakage check found no <set>__event_time columns to audit');
  for (const set of sets) {
    const type = types.get(set + EVENT_TIME_SUFFIX);
    if (type === undefined || !isTimestampSqlType(type))
      throw new Error(`leakage check: no TIMESTAMP column ${set}${EVENT_TIME_SUFFIX}`);
  }
  return sets;
}

/** One row per (row, feature set) whose feature time is not before label time under the rule's comparison. */
function leaksQuery(relation: string, sets: readonly string[], leaksWhen: '>=' | '>'): string {
  const perSet = sets.map((set, index) => {
    const featureTime = quoteIdentifier(set + EVENT_TIME_SUFFIX, 'feature time column');
    return `SELECT row, entity_id, ${epochMsOf('label_time')} AS label_ms, ${index} AS set_index,
                   ${epochMsOf(featureTime)} AS feature_ms
            FROM numbered WHERE ${featureTime} ${leaksWhen} label_time`;
  });
  return (
    `WITH numbered AS (SELECT row_number() OVER ()::DOUBLE AS row, * FROM ${relation}) ` +
    `${perSet.join(' UNION ALL ')}`
  );
}

function toLeak(row: Row, sets: readonly string[]): Leak {
  return {
    row: Number(row['row']),
    entityId: cellText(row['entity_id']),
    labelTime: eventTime(Number(row['label_ms'])),
    featureSet: sets[Number(row['set_index'])]!,
    featureTime: eventTime(Number(row['feature_ms'])),
  };
}
