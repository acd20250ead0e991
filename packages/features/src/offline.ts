import type { Aggregate, SourceEvent } from './definition.js';
import { EVENT_TIME_RULE, ISO_WITH_OFFSET_PATTERN } from './event-time.js';
import type { AggregateFeature, FeatureSet, ValueType } from './feature-set.js';
import type { FeatureValue } from './vector.js';

/**
 * What the offline execution needs of a DuckDB connection; `@duckdb/node-api`'s DuckDBConnection is one. Declared
 * here, structurally, so this package needs no native DuckDB build to install, compile or run.
 */
export interface SqlConnection {
  run(sql: string): Promise<unknown>;
  runAndReadAll(
    sql: string,
  ): Promise<{ getRows(): readonly (readonly unknown[])[]; getRowObjectsJS(): readonly Record<string, unknown>[] }>;
}

/**
 * How the events relation stores `eventTime`: epoch ms (any numeric type), TIMESTAMP/TIMESTAMPTZ, or ISO-8601 text with
 * an offset.
 */
export type EventTimeEncoding = 'epoch_ms' | 'timestamp' | 'iso8601';

export interface BackfillOptions {
  /**
   * A relation of parsed source events, columns named as the source fields: a table name or e.g.
   * `read_parquet('x/*.parquet')`.
   */
  readonly events: string;
  readonly eventTimeEncoding?: EventTimeEncoding;
}

const SQL_TYPE: Record<ValueType, string> = {
  number: 'DOUBLE',
  string: 'VARCHAR',
  boolean: 'BOOLEAN',
  'number[]': 'DOUBLE[]',
  'string[]': 'VARCHAR[]',
};

/**
 * Compiles a feature set to one DuckDB query producing its feature history: a row per (entity_id, event_time)
 * at every event time and every sliding-window expiry point (event time + window size), with columns
 * `entity_id VARCHAR, event_time TIMESTAMP` and one column per aggregate feature. A row's values hold from
 * its event_time until the entity's next row.
 *
 * Each candidate point is a marker row on the entity's timeline; window aggregates with RANGE frames over
 * integer epoch ms compute (T - size, T] as `size - 1 PRECEDING .. CURRENT ROW` (peers, i.e. ties, included).
 * last / lastK instead carry the latest (time, value)s forward in event order and trim them to the window:
 * streaming, where a windowed arg_max over (t, eventId) needs a segment tree per frame.
 *
 * Events are held to the online rules first (see `checkedEventsSql`): an event the online parser would refuse
 * fails the query with an error naming it, and a redelivered copy is counted once, as online.
 */
export function compileBackfillSql<E extends SourceEvent>(set: FeatureSet<E>, options: BackfillOptions): string {
  const fields = fieldsRead(set);
  const sizes = [
    ...new Set(set.aggregates.flatMap((a) => (a.spec.window.kind === 'sliding' ? [a.spec.window.size] : []))),
  ];
  const recents = set.aggregates.filter((a) => a.spec.kind === 'lastK');
  const sqlType = (field: string) => fieldSqlType(set, field);
  const markerColumns = [
    ...fields.map((f) => `CAST(NULL AS ${sqlType(f)}) AS ${fieldColumn(f)}`),
    ...recents.map((a) => `CAST(NULL AS STRUCT(t BIGINT, v ${sqlType(fieldOf(a.spec))})[]) AS ${recentColumn(a)}`),
  ];
  const recentColumns = recents.map((a) => `, ${recentColumn(a)}.recent AS ${recentColumn(a)}`).join('');
  const recentJoins = recents.map((a) => `\n  LEFT JOIN ${recentColumn(a)} USING (entity_id, t, event_id)`).join('');
  const expiries = sizes.map((size) => `      UNION ALL SELECT entity_id, t + ${size} FROM ev`);
  const windowNames = [...new Set(set.aggregates.map((a) => windowName(a.spec)))];
  const windows = [...windowNames, SEQUENCE_WINDOW].map((name) => `${name} AS (${windowFrame(name)})`);
  const rawColumns = set.aggregates.map((a) => `${rawAggregateSql(a)} AS ${quote(a.name)}`);
  const featureColumns = set.aggregates.map((a) => `${withDefault(a, finishSql(a))} AS ${quote(a.name)}`);
  return `WITH ${checkedEventsSql(set, options)},${recents.map((a) => `\n${recentCte(a)},`).join('')}
points AS (
  SELECT DISTINCT entity_id, t FROM (
      SELECT entity_id, t FROM ev
${expiries.join('\n')}
  )
),
timeline AS (
  SELECT ev.*${recentColumns}, FALSE AS is_point FROM ev${recentJoins}
  UNION ALL
  SELECT entity_id, t, CAST(NULL AS VARCHAR)${markerColumns.map((c) => `, ${c}`).join('')}, TRUE FROM points
),
history AS (
  SELECT entity_id, t, is_point${rawColumns.map((c) => `,\n         ${c}`).join('')}
  FROM timeline
  WINDOW ${windows.join(',\n         ')}
)
SELECT entity_id, epoch_ms(t) AS event_time${featureColumns.map((c) => `,\n       ${c}`).join('')}
FROM history
WHERE is_point
ORDER BY entity_id, event_time`;
}

export interface BackfillResult {
  readonly table: string;
  readonly rows: number;
}

/** Runs the backfill into table `into` (replaced if it exists). Detects the event-time encoding unless given. */
export async function runBackfill<E extends SourceEvent>(
  connection: SqlConnection,
  set: FeatureSet<E>,
  options: BackfillOptions & { readonly into: string },
): Promise<BackfillResult> {
  const target = qualifiedName(options.into);
  const eventTimeEncoding = options.eventTimeEncoding ?? (await detectEventTimeEncoding(connection, options.events));
  await connection.run(
    `CREATE OR REPLACE TABLE ${target} AS ${compileBackfillSql(set, { ...options, eventTimeEncoding })}`,
  );
  const reader = await connection.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${target}`);
  return { table: options.into, rows: Number(reader.getRows()[0]?.[0] ?? 0) };
}

/** One row of a backfilled history, read back: the entity's values from `t` (epoch ms) until its next row. */
export interface HistoryRow {
  readonly t: number;
  readonly values: Record<string, FeatureValue>;
}

/** Reads a table written by `runBackfill`, per entity in time order: what parity checks compare online values with. */
export async function readBackfillHistory(
  connection: SqlConnection,
  table: string,
): Promise<Map<string, HistoryRow[]>> {
  const reader = await connection.runAndReadAll(
    `SELECT entity_id, epoch_ms(event_time)::DOUBLE AS t, * EXCLUDE (entity_id, event_time)
     FROM ${qualifiedName(table)} ORDER BY entity_id, t`,
  );
  const history = new Map<string, HistoryRow[]>();
  for (const row of reader.getRowObjectsJS()) {
    const { entity_id, t, ...values } = row as Record<string, FeatureValue>;
    const rows = history.get(String(entity_id)) ?? [];
    rows.push({ t: Number(t), values });
    history.set(String(entity_id), rows);
  }
  return history;
}

/** The row in force at `time`: the last one at or before it (rows in time order). */
export function rowAsOf<R extends { readonly t: number }>(rows: readonly R[], time: number): R | undefined {
  let found: R | undefined;
  for (const row of rows) if (row.t <= time) found = row;
  return found;
}

async function detectEventTimeEncoding(connection: SqlConnection, events: string): Promise<EventTimeEncoding> {
  const reader = await connection.runAndReadAll(`SELECT typeof("eventTime") FROM ${events} AS src LIMIT 1`);
  const type = reader.getRows()[0]?.[0];
  if (typeof type !== 'string') return 'epoch_ms'; // no row: nothing to read either way
  if (type.startsWith('TIMESTAMP')) return 'timestamp';
  if (type === 'VARCHAR') return 'iso8601';
  return 'epoch_ms';
}

/** SQL raising an error that names the event, the field and its value. */
type Fail = (field: string, problem: string) => string;

/** 2^53 - 1: the largest epoch ms the online rule (a safe integer) accepts. */
const MAX_SAFE_INTEGER = String(Number.MAX_SAFE_INTEGER);

/**
 * Two CTEs: `checked`, every source event with the online rule applied (a violation is a DuckDB error naming the
 * event and field, in the words the online parser uses), and `ev`, those events de-duplicated by the online
 * engine's identity rule: one event per (entity, eventTime, eventId). Copies that agree collapse into one; copies
 * that differ are an error, since a relation has no delivery order to say which copy online would have kept.
 */
function checkedEventsSql<E extends SourceEvent>(set: FeatureSet<E>, options: BackfillOptions): string {
  const fields = fieldsRead(set);
  const event = `invalid ${set.source.name} event `;
  // The offending value is part of the message (`got ...`), as it would be in a dead letter's body.
  const eventIdText = `coalesce(to_json(CAST("eventId" AS VARCHAR))::VARCHAR, '(no eventId)')`;
  const fail: Fail = (field, problem) =>
    `error(concat(${literal(event)}, ${eventIdText}, ${literal(`: ${field}: ${problem}, got `)}, ` +
    `coalesce(CAST(${quote(field)} AS VARCHAR), 'null')))`;
  const checkedField = (field: string) => {
    const value = `CAST(${quote(field)} AS ${fieldSqlType(set, field)})`;
    if (set.source.fieldTypes[field] !== 'number') return `${value} AS ${fieldColumn(field)}`;
    const notFinite = fail(field, 'expected a finite number or null');
    const finiteOrNull = `CASE WHEN ${value} IS NULL OR isfinite(${value}) THEN ${value} ELSE ${notFinite} END`;
    return `${finiteOrNull} AS ${fieldColumn(field)}`;
  };
  const key = quote(set.entity.key);
  const checkedFields = fields.map((f) => `,\n         ${checkedField(f)}`).join('');
  return `checked AS (
  SELECT CASE WHEN ${key} IS NOT NULL THEN CAST(${key} AS VARCHAR)
              ELSE ${fail(set.entity.key, 'missing entity key')} END AS entity_id,
         ${eventTimeSql(options.eventTimeEncoding ?? 'epoch_ms', fail)} AS t,
         CASE WHEN "eventId" IS NOT NULL THEN CAST("eventId" AS VARCHAR)
              ELSE ${fail('eventId', 'missing')} END AS event_id${checkedFields}
  FROM ${options.events} AS src
),
ev AS (
  SELECT * FROM checked
  GROUP BY entity_id, t, event_id${fields.map((f) => `, ${fieldColumn(f)}`).join('')}
  QUALIFY CASE WHEN count(*) OVER (PARTITION BY entity_id, t, event_id) = 1 THEN TRUE
               ELSE error(concat(${literal(event)}, to_json(event_id)::VARCHAR, ' at ', t,
                                 ' ms: delivered more than once with different field values; ',
                                 'online keeps the first copy delivered, ',
                                 'a relation has no delivery order: keep one copy'))
          END
)`;
}

/**
 * The event time as epoch ms under the online rule; sub-millisecond digits floored like `Date.parse` (also before
 * 1970).
 */
function eventTimeSql(encoding: EventTimeEncoding, fail: Fail): string {
  const reject = fail('eventTime', EVENT_TIME_RULE);
  const floorMs = (timestamp: string) =>
    `epoch_ms(${timestamp}) - CASE WHEN epoch_us(${timestamp}) % 1000 < 0 THEN 1 ELSE 0 END`;
  switch (encoding) {
    case 'epoch_ms': {
      const ms = 'CAST("eventTime" AS DOUBLE)';
      const safeInteger = `isfinite(${ms}) AND ${ms} = trunc(${ms}) AND abs(${ms}) <= ${MAX_SAFE_INTEGER}`;
      return `CASE WHEN ${safeInteger} THEN CAST("eventTime" AS BIGINT) ELSE ${reject} END`;
    }
    case 'timestamp':
      return `CASE WHEN "eventTime" IS NOT NULL THEN ${floorMs('"eventTime"')} ELSE ${reject} END`;
    case 'iso8601': {
      // The offset is explicit (the pattern demands it), so the cast to TIMESTAMPTZ never consults the session zone.
      const text = 'CAST("eventTime" AS VARCHAR)';
      const isIsoWithOffset = `regexp_full_match(${text}, ${literal(ISO_WITH_OFFSET_PATTERN)})`;
      return `CASE WHEN ${isIsoWithOffset} THEN ${floorMs(`CAST(${text} AS TIMESTAMPTZ)`)} ELSE ${reject} END`;
    }
  }
}

function fieldsRead<E extends SourceEvent>(set: FeatureSet<E>): string[] {
  return [...new Set(set.aggregates.flatMap((a) => (a.spec.kind === 'count' ? [] : [a.spec.field])))];
}

function fieldSqlType<E extends SourceEvent>(set: FeatureSet<E>, field: string): string {
  return SQL_TYPE[set.source.fieldTypes[field] ?? 'string'];
}

function fieldColumn(field: string): string {
  return quote(`f_${field}`);
}

function fieldOf(spec: Aggregate): string {
  if (spec.kind === 'count') throw new Error('count reads no field');
  return spec.field;
}

function recentColumn(feature: AggregateFeature): string {
  return quote(`recent_${feature.name}`);
}

/**
 * At each event with a non-null value: its k latest non-null values so far (oldest first) with their times.
 * A ROWS frame over the non-null events only, so the frame counts values, not rows.
 */
function recentCte(feature: AggregateFeature): string {
  const f = fieldColumn(fieldOf(feature.spec));
  const k = feature.spec.kind === 'lastK' ? (feature.spec.k ?? 1) : 1;
  return `${recentColumn(feature)} AS (
  SELECT entity_id, t, event_id,
         list({'t': t, 'v': ${f}})
           OVER (PARTITION BY entity_id ORDER BY t, event_id ROWS BETWEEN ${k - 1} PRECEDING AND CURRENT ROW) AS recent
  FROM ev WHERE ${f} IS NOT NULL
)`;
}

function windowName(spec: Aggregate): string {
  return spec.window.kind === 'sliding' ? `w_${spec.window.size}` : 'w_lifetime';
}

/**
 * Events in their total order (t, eventId), each marker after the events of its time: a running frame over it
 * ends, at the marker for T, exactly at the latest event with eventTime <= T. Used by last / lastK.
 */
const SEQUENCE_WINDOW = 'w_sequence';

function windowFrame(name: string): string {
  if (name === SEQUENCE_WINDOW)
    return 'PARTITION BY entity_id ORDER BY t, is_point, event_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW';
  const start = name === 'w_lifetime' ? 'UNBOUNDED' : String(Number(name.slice(2)) - 1);
  return `PARTITION BY entity_id ORDER BY t RANGE BETWEEN ${start} PRECEDING AND CURRENT ROW`;
}

/**
 * The windowed part of each feature; for last / lastK the latest (time, value)s, which finishSql trims to the window.
 */
function rawAggregateSql(feature: AggregateFeature): string {
  const spec = feature.spec;
  const over = `OVER ${windowName(spec)}`;
  if (spec.kind === 'count') return `CAST(COUNT(event_id) ${over} AS DOUBLE)`;
  const f = fieldColumn(spec.field);
  switch (spec.kind) {
    case 'sum':
      return `SUM(${f}) ${over}`;
    case 'mean':
      return `AVG(${f}) ${over}`;
    case 'min':
      return `MIN(${f}) ${over}`;
    case 'max':
      return `MAX(${f}) ${over}`;
    case 'distinctCount':
      return `CAST(COUNT(DISTINCT ${f}) ${over} AS DOUBLE)`;
    case 'last':
      return `last_value(CASE WHEN ${f} IS NOT NULL THEN {'t': t, 'v': ${f}} END IGNORE NULLS) OVER ${SEQUENCE_WINDOW}`;
    case 'lastK':
      return `last_value(${recentColumn(feature)} IGNORE NULLS) OVER ${SEQUENCE_WINDOW}`;
  }
}

/** Keeps only the latest values still inside a sliding window; lastK newest first, empty = missing. */
function finishSql(feature: AggregateFeature): string {
  const column = quote(feature.name);
  const window = feature.spec.window;
  const inWindow = (time: string) => (window.kind === 'sliding' ? `${time} > t - ${window.size}` : 'TRUE');
  if (feature.spec.kind === 'last') return `CASE WHEN ${inWindow(`${column}.t`)} THEN ${column}.v END`;
  if (feature.spec.kind !== 'lastK') return column;
  const kept = window.kind === 'sliding' ? `list_filter(${column}, lambda x: ${inWindow('x.t')})` : column;
  return `CASE WHEN len(${kept}) > 0 THEN list_reverse(list_transform(${kept}, lambda x: x.v)) END`;
}

/** The default for an empty window; an overflowed sum / mean (±Infinity) is missing, as online (`finiteOrMissing`). */
function withDefault(feature: AggregateFeature, sql: string): string {
  const fallback = feature.spec.default;
  const typed = `CAST(${sql} AS ${SQL_TYPE[feature.valueType]})`;
  const value =
    fallback === null ? typed : `COALESCE(${typed}, CAST(${literal(fallback)} AS ${SQL_TYPE[feature.valueType]}))`;
  return feature.valueType === 'number' ? `CASE WHEN isfinite(${value}) THEN ${value} END` : value;
}

function literal(value: Exclude<FeatureValue, null>): string {
  if (Array.isArray(value)) return `[${value.map((v: string | number) => literal(v)).join(', ')}]`;
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  return String(value);
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function qualifiedName(name: string): string {
  if (!/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$/.test(name))
    throw new Error(`table name '${name}' must be an identifier, optionally schema-qualified`);
  return name.split('.').map(quote).join('.');
}
