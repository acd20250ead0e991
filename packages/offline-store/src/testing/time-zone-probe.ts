/**
 * Run under a given TZ by time-zone.test.ts: prints, as JSON, what the online parser, a backfill on a caller's own
 * (unpinned) DuckDB connection and the offline store make of the event times given as JSON in argv[2], and of a
 * label time. Every zone must print the same results.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createOnlineEngine, runBackfill } from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import { openTempStore } from '../test-support.js';

const times = JSON.parse(process.argv[2] ?? '[]') as string[];

const engine = createOnlineEngine(userTransactionFeatures);
/** One event per time, each of its own user (the store's history keeps them all). */
const eventTable = (time: string, user: string) =>
  `SELECT 'e' AS "eventId", '${time}' AS "eventTime", '${user}' AS "userId", 1.0 AS amount, 'm' AS "merchantId"`;
const message = (error: unknown) => String((error as Error).message).replace(/^[A-Za-z ]+Error: /, '');

async function backfilledTime(connection: DuckDBConnection, time: string): Promise<number | string> {
  try {
    await connection.run(`CREATE OR REPLACE TABLE probe_events AS ${eventTable(time, 'u')}`);
    await runBackfill(connection, userTransactionFeatures, { events: 'probe_events', into: 'probe_history' });
    const reader = await connection.runAndReadAll(`SELECT min(epoch_ms(event_time))::DOUBLE FROM probe_history`);
    return Number(reader.getRows()[0]?.[0]);
  } catch (error) {
    return message(error);
  }
}

const instance = await DuckDBInstance.create(':memory:');
const own = await instance.connect();
const zone = String((await own.runAndReadAll(`SELECT current_setting('TimeZone')`)).getRows()[0]?.[0]);
const { store, cleanup } = await openTempStore();
const results: Record<string, unknown> = {};
for (const [index, time] of times.entries()) {
  const parsed = engine.parse({ eventId: 'e', eventTime: time, userId: 'u', amount: 1, merchantId: 'm' });
  await store.connection.run(`CREATE OR REPLACE TABLE store_events AS ${eventTable(time, `u${index}`)}`);
  const stored = await store
    .backfill(userTransactionFeatures, { events: 'store_events' })
    .then(async () => (await store.readHistory('user_txn', `u${index}`))[0]?.eventTime, message);
  results[time] = {
    online: parsed.ok ? parsed.event.eventTime : parsed.reason,
    ownConnection: await backfilledTime(own, time),
    store: stored,
  };
}
// Labels and the store's streaming connection: TIMESTAMP text is UTC wall time, whatever the machine's zone.
const labels = await store.buildTrainingSet({
  labels: { query: `SELECT 'u0' AS entity_id, TIMESTAMP '2024-05-01 12:00:01' AS label_time, 1 AS label` },
  featureSets: [{ name: 'user_txn' }],
});
const [joined] = await store.query(
  `SELECT epoch_ms(label_time)::DOUBLE AS label_ms, epoch_ms(user_txn__event_time)::DOUBLE AS feature_ms ` +
    `FROM ${labels.table}`,
);
const latest = [];
for await (const vector of store.latestVectors('user_txn')) latest.push(vector.eventTime);
results['labels'] = joined;
results['latestVectors'] = latest;
own.closeSync();
instance.closeSync();
await cleanup();
process.stdout.write(JSON.stringify({ zone, results }));
