/**
 * Backfill speed: the compiled DuckDB SQL vs. replaying the same events through the online engine (reading
 * a vector at every event and expiry point, i.e. producing the same history, kept in memory only).
 *   npx tsx --conditions=source packages/features/bench/backfill.ts [events=1000000] [users=10000]
 */
import os from 'node:os';
import { DuckDBInstance } from '@duckdb/node-api';
import { createOnlineEngine, eventTime, runBackfill, type OnlineState } from '../src/index.js';
import { userTransactionFeatures, type TransactionEvent } from '../src/testing.js';

const events = Number(process.argv[2] ?? 1_000_000);
const users = Number(process.argv[3] ?? 10_000);
const DAYS = 30;

async function main(): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  // Deterministic synthetic transactions over 30 days; some null amounts, 200 merchants.
  await connection.run(`CREATE TABLE events AS
    SELECT 'e' || i AS "eventId",
           (1704067200000 + (hash(i) % ${DAYS * 86_400_000}))::BIGINT AS "eventTime",
           'u' || (hash(i * 7) % ${users}) AS "userId",
           CASE WHEN hash(i * 13) % 20 = 0 THEN NULL ELSE round((hash(i * 3) % 100000) / 100.0, 2) END AS amount,
           'm' || (hash(i * 11) % 200) AS "merchantId"
    FROM range(${events}) t(i)`);

  let started = performance.now();
  let cpu = process.cpuUsage();
  const result = await runBackfill(connection, userTransactionFeatures, { events: 'events', into: 'history' });
  const sqlMs = performance.now() - started;
  console.log(
    `DuckDB SQL backfill: ${events} events, ${users} users -> ${result.rows} history rows ` +
      `in ${seconds(sqlMs)} (CPU ${cpuSeconds(cpu)})`,
  );

  const rows = (
    await connection.runAndReadAll(`SELECT * FROM events`)
  ).getRowObjectsJS() as unknown as TransactionEvent[];
  started = performance.now();
  cpu = process.cpuUsage();
  const replayRows = replay(rows);
  const replayMs = performance.now() - started;
  console.log(
    `Online engine replay: ${events} events -> ${replayRows} vectors in ${seconds(replayMs)} ` +
      `(CPU ${cpuSeconds(cpu)}; events already in memory, nothing written)`,
  );
  const load = `machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`;
  console.log(`wall-clock ratio replay / SQL: ${(replayMs / sqlMs).toFixed(1)}x; ${load}`);
  connection.closeSync();
  instance.closeSync();
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
/** CPU time of the whole process (all DuckDB threads included) since `since`: robust to a busy shared machine. */
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return seconds((used.user + used.system) / 1000);
};

/** The online way to build the same history: per entity, in event-time order, read at every event and expiry point. */
function replay(rows: readonly TransactionEvent[]): number {
  const engine = createOnlineEngine(userTransactionFeatures);
  const sizes = userTransactionFeatures.aggregates.flatMap((a) =>
    a.spec.window.kind === 'sliding' ? [a.spec.window.size] : [],
  );
  const byUser = new Map<string, TransactionEvent[]>();
  for (const row of rows) {
    const event = { ...row, eventTime: eventTime(Number(row.eventTime)) };
    const list = byUser.get(event.userId) ?? [];
    list.push(event);
    byUser.set(event.userId, list);
  }
  let vectors = 0;
  for (const [userId, list] of byUser) {
    list.sort((a, b) => a.eventTime - b.eventTime);
    const points = [...new Set(list.flatMap((e) => [e.eventTime, ...sizes.map((s) => e.eventTime + s)]))].sort(
      (a, b) => a - b,
    );
    let state: OnlineState = engine.initialState();
    let next = 0;
    for (const point of points) {
      while (next < list.length && list[next]!.eventTime <= point) state = engine.apply(state, list[next++]!);
      engine.read(state, userId, eventTime(point));
      vectors++;
    }
  }
  return vectors;
}

await main();
