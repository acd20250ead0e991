import { listValue, type DuckDBInstance } from '@duckdb/node-api';
import { eventTime, type EventTime, type FeatureValue, type FeatureVector } from '@rtml/features';
import type { FeatureCatalog } from './catalog.js';
import { cellText, connectUtc, type Params, type Row } from './db.js';
import { epochMsOf, epochMsParameter, quoteIdentifier } from './sql.js';

export interface LatestQuery {
  /** Only rows with event_time <= asOf count (inclusive: a row holds from its own event time). Omitted: all history. */
  readonly asOf?: EventTime;
  /** Only these entities. Omitted: every entity of the set. */
  readonly entityIds?: readonly string[];
}

/** SQL + parameters selecting, per entity, the last history row satisfying the query (one row per entity). */
export function latestRowsSql(
  catalog: FeatureCatalog,
  set: string,
  query: LatestQuery,
): { sql: string; params: Params } {
  const features = Object.keys(catalog.schema(set)).map((feature) => quoteIdentifier(feature));
  const conditions: string[] = [];
  const params: Params = {};
  if (query.asOf !== undefined) {
    conditions.push('event_time <= epoch_ms($as_of::BIGINT)');
    params['as_of'] = epochMsParameter(query.asOf);
  }
  if (query.entityIds !== undefined) {
    query.entityIds.forEach(assertEntityId);
    conditions.push('entity_id IN (SELECT unnest($entity_ids))');
    params['entity_ids'] = listValue([...query.entityIds]);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const sql = `SELECT entity_id, ${epochMsOf('event_time')} AS event_time_ms${features.map((f) => `, ${f}`).join('')}
    FROM ${catalog.view(set)} ${where}
    QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY event_time DESC) = 1
    ORDER BY entity_id`;
  return { sql, params };
}

export function assertEntityId(entityId: string): void {
  if (typeof entityId !== 'string' || entityId.length === 0)
    throw new TypeError(`entity id must be a non-empty string, got ${JSON.stringify(entityId)}`);
}

/** Converts a row of `latestRowsSql` into the shared FeatureVector shape. */
export function toFeatureVector(set: string, features: readonly string[], row: Row): FeatureVector {
  const values: Record<string, FeatureValue> = {};
  for (const feature of features) values[feature] = row[feature] as FeatureValue;
  return {
    featureSet: set,
    entityId: cellText(row['entity_id']),
    eventTime: eventTime(Number(row['event_time_ms'])),
    values,
  };
}

/**
 * Streams the latest vector per entity (as of `asOf` if given) in entity order, one DuckDB chunk at a time.
 * It reads on its own connection, so the caller may use the store while iterating.
 */
export async function* streamLatestVectors(
  instance: DuckDBInstance,
  catalog: FeatureCatalog,
  set: string,
  query: LatestQuery,
): AsyncGenerator<FeatureVector> {
  const features = Object.keys(catalog.schema(set));
  const { sql, params } = latestRowsSql(catalog, set, query);
  const connection = await connectUtc(instance);
  try {
    const result = await connection.stream(sql, params);
    for await (const rows of result.yieldRowObjectJs()) {
      for (const row of rows) yield toFeatureVector(set, features, row);
    }
  } finally {
    connection.closeSync();
  }
}
