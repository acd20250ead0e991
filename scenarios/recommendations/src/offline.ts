import { modelInput, type FeatureSet, type FeatureValue, type FeatureValues } from '@rtml/features';
import type { JoinedFeatureSet, OfflineStore } from '@rtml/offline-store';
import { activity, type ActivityEvent } from './events.js';
import { itemPopularity, recommender, userActivity } from './features.js';
import { impressionEvent, type Impression } from './impressions.js';

/**
 * How a training row gets its features:
 * - `point-in-time`: as of the impression, strictly before it: what serving can know when it scores.
 * - `label-time`: as of the moment the label is known (impression + horizon), the tempting mistake of joining on
 *   the label row's timestamp: "clicks in the last 30 min" and "last clicked categories" then contain the click.
 * - `naive-latest`: the offline store's naive join: each entity's latest row overall, ignoring time.
 */
export const JOINS = ['point-in-time', 'label-time', 'naive-latest'] as const;
export type Join = (typeof JOINS)[number];

/** An impression with the model input the chosen join gives it. */
export interface Example {
  readonly impression: Impression;
  readonly values: FeatureValues;
}

/** Loads the generated events file (NDJSON, the same records that go to Kafka) as table `events`. */
export function loadEvents(store: OfflineStore, file: string): Promise<number> {
  return store.loadEvents('events', activity, { ndjson: file });
}

/** Feature history of `set` from table `events`, via the shared definition's SQL execution, appended to the store. */
export async function backfill(store: OfflineStore, set: FeatureSet<ActivityEvent>): Promise<number> {
  return (await store.backfill(set, { events: 'events', eventTimeEncoding: 'epoch_ms' })).rowsWritten;
}

/** Every view is an impression; its label: the same user clicked the same item within `horizonMs` after it. */
export async function createImpressions(store: OfflineStore, horizonMs: number): Promise<void> {
  await store.connection.run(`
    CREATE OR REPLACE TABLE impressions AS
    SELECT v.eventId AS impression_id, v.userId AS user_id, v.itemId AS item_id, v.category, v.eventTime AS t_ms,
           CASE WHEN count(c.eventId) > 0 THEN 1 ELSE 0 END AS clicked
    FROM events v
    LEFT JOIN events c ON c.type = 'click' AND c.userId = v.userId AND c.itemId = v.itemId
                      AND c.eventTime > v.eventTime AND c.eventTime <= v.eventTime + ${Math.trunc(horizonMs)}
    WHERE v.type = 'view'
    GROUP BY ALL`);
}

export interface Period {
  readonly from: number;
  readonly to: number;
}

/** One label row per impression, keyed by its user; the label time depends on the join (see `Join`). */
function labelQuery(join: Join, horizonMs: number, period: Period): string {
  const labelTime = join === 'label-time' ? `t_ms + ${Math.trunc(horizonMs)}` : 't_ms';
  return `SELECT user_id AS entity_id, epoch_ms(${labelTime}) AS label_time, clicked AS label,
                 impression_id, item_id AS imp_item, category AS imp_category, t_ms AS imp_t_ms
          FROM impressions WHERE t_ms >= ${Math.trunc(period.from)} AND t_ms < ${Math.trunc(period.to)}`;
}

/** One training set for both entities of an impression: the user set on `entity_id`, the item set on `imp_item`. */
export async function buildExamples(
  store: OfflineStore,
  join: Join,
  horizonMs: number,
  period: Period,
): Promise<Example[]> {
  const set = await store.buildTrainingSet({
    labels: { query: labelQuery(join, horizonMs, period) },
    featureSets: recommender,
    entityIdColumns: { item: 'imp_item' },
    strategy: join === 'naive-latest' ? 'naive-latest' : 'point-in-time',
    into: `ts_${join.replaceAll('-', '_')}`,
  });
  const [user, item] = set.featureSets as [JoinedFeatureSet, JoinedFeatureSet];
  // Only what a row needs: timestamps (label_time, <set>__event_time) would cost a Date each for nothing.
  const rows = await store.query(
    `SELECT * EXCLUDE (label_time, ${user.eventTimeColumn}, ${item.eventTimeColumn}) FROM ${set.table} ORDER ` +
      `BY imp_t_ms, impression_id`,
  );
  return rows.map((row) => toExample(row, user, item));
}

function toExample(row: Record<string, unknown>, user: JoinedFeatureSet, item: JoinedFeatureSet): Example {
  const impression: Impression = {
    impressionId: String(row['impression_id']),
    userId: String(row['entity_id']),
    itemId: String(row['imp_item']),
    category: String(row['imp_category']),
    eventTime: Number(row['imp_t_ms']),
    clicked: Number(row['label']) === 1,
  };
  const request = impressionEvent(impression);
  const values = {
    ...modelInput(userActivity, aggregatesOf(row, user), request),
    ...modelInput(itemPopularity, aggregatesOf(row, item), request),
  };
  return { impression, values };
}

/** `<set>__<feature>` columns back to feature names; a missing history row leaves every value null. */
function aggregatesOf(row: Record<string, unknown>, joined: JoinedFeatureSet): FeatureValues {
  return Object.fromEntries(
    Object.entries(joined.featureColumns).map(([feature, column]) => [feature, (row[column] ?? null) as FeatureValue]),
  );
}
