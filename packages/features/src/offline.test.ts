import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, last, lastK, sliding, sum } from './definition.js';
import { transactions, user, userTransactionFeatures } from './example.js';
import { featureSet } from './feature-set.js';
import { EVENT_TIME_RULE } from './event-time.js';
import { compileBackfillSql, runBackfill } from './offline.js';
import { createOnlineEngine } from './online.js';
import { duration, eventTime } from './time.js';
import type { TransactionEvent } from './example.js';

const txn = (id: string, t: number, amount: number, merchantId = 'm'): TransactionEvent => ({
  eventId: id,
  eventTime: eventTime(t),
  userId: 'u1',
  amount,
  merchantId,
});

const set = featureSet({
  name: 'boundaries',
  entity: user,
  source: transactions,
  features: {
    n_10: count({ window: sliding(duration.ms(10)) }),
    sum_10: sum('amount', { window: sliding(duration.ms(10)) }),
    sum_10_or_zero: sum('amount', { window: sliding(duration.ms(10)), default: 0 }),
    last_amount: last('amount'),
    last_2: lastK('merchantId', 2),
  },
});

describe('offline backfill (DuckDB)', () => {
  let instance: DuckDBInstance;
  let db: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    // Ties at t=100 (ids 'b' < 'c'), a null amount, and an ISO time with an offset in a separate table.
    await db.run(`CREATE TABLE ev AS SELECT * FROM (VALUES
      ('c', 100::BIGINT, 'u1', 2.0, 'mc'), ('b', 100, 'u1', 1.0, 'mb'),
      ('d', 105, 'u1', NULL, 'md'), ('a', 50, 'u2', 7.0, 'ma')
    ) v("eventId", "eventTime", "userId", amount, "merchantId")`);
  });
  afterAll(() => {
    db?.closeSync();
    instance?.closeSync();
  });

  async function history(table: string) {
    const reader = await db.runAndReadAll(
      `SELECT entity_id, epoch_ms(event_time)::DOUBLE AS t, * EXCLUDE (entity_id, event_time) FROM ${table}`,
    );
    return reader.getRowObjectsJS();
  }

  it('emits a row at every event time and every expiry point, with (T - size, T] windows', async () => {
    const { rows } = await runBackfill(db, set, { events: 'ev', into: 'hist' });
    expect(rows).toBe(6);
    expect(await history('hist')).toEqual([
      { entity_id: 'u1', t: 100, n_10: 2, sum_10: 3, sum_10_or_zero: 3, last_amount: 2, last_2: ['mc', 'mb'] },
      { entity_id: 'u1', t: 105, n_10: 3, sum_10: 3, sum_10_or_zero: 3, last_amount: 2, last_2: ['md', 'mc'] },
      // At 110 the two events of t=100 leave the window (start exclusive); the null amount keeps sum missing.
      { entity_id: 'u1', t: 110, n_10: 1, sum_10: null, sum_10_or_zero: 0, last_amount: 2, last_2: ['md', 'mc'] },
      { entity_id: 'u1', t: 115, n_10: 0, sum_10: null, sum_10_or_zero: 0, last_amount: 2, last_2: ['md', 'mc'] },
      { entity_id: 'u2', t: 50, n_10: 1, sum_10: 7, sum_10_or_zero: 7, last_amount: 7, last_2: ['ma'] },
      { entity_id: 'u2', t: 60, n_10: 0, sum_10: null, sum_10_or_zero: 0, last_amount: 7, last_2: ['ma'] },
    ]);
  });

  it('keeps the column contract: entity_id VARCHAR, event_time TIMESTAMP, typed feature columns', async () => {
    await runBackfill(db, userTransactionFeatures, { events: 'ev', into: 'hist_full' });
    const reader = await db.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE hist_full)`);
    expect(Object.fromEntries(reader.getRows().map(([name, type]) => [String(name), String(type)]))).toEqual({
      entity_id: 'VARCHAR',
      event_time: 'TIMESTAMP',
      txn_count_1h: 'DOUBLE',
      amount_sum_24h: 'DOUBLE',
      amount_mean_lifetime: 'DOUBLE',
      amount_max_24h: 'DOUBLE',
      amount_min_lifetime: 'DOUBLE',
      distinct_merchants_7d: 'DOUBLE',
      last_merchants: 'VARCHAR[]',
      last_amount: 'DOUBLE',
    });
  });

  it('reads ISO-8601 text (any offset) and TIMESTAMP event times to the same instants', async () => {
    await db.run(
      `CREATE TABLE ev_iso AS SELECT "eventId", strftime(to_timestamp("eventTime" / 1000) AT TIME ZONE ` +
        `'Asia/Kolkata', '%Y-%m-%dT%H:%M:%S.%g+05:30') AS "eventTime", "userId", amount, "merchantId" FROM ev`,
    );
    await db.run(`CREATE TABLE ev_ts AS SELECT * REPLACE (epoch_ms("eventTime") AS "eventTime") FROM ev`);
    await runBackfill(db, set, { events: 'ev_iso', into: 'hist_iso' });
    await runBackfill(db, set, { events: 'ev_ts', into: 'hist_ts' });
    const expected = await history('hist');
    expect(await history('hist_iso')).toEqual(expected);
    expect(await history('hist_ts')).toEqual(expected);
  });

  it(
    'counts a redelivered event once, as online: n copies with a lastK feature leave count and sum ' + 'unchanged',
    async () => {
      await db.run(`CREATE TABLE ev_copies AS SELECT ev.* FROM ev, range(3)`);
      await runBackfill(db, set, { events: 'ev_copies', into: 'hist_copies' });
      expect(await history('hist_copies')).toEqual(await history('hist'));
      await db.run(`CREATE TABLE ev_conflict AS SELECT * FROM ev UNION ALL SELECT 'b', 100, 'u1', 9.0, 'mb'`);
      await expect(runBackfill(db, set, { events: 'ev_conflict', into: 'hist_conflict' })).rejects.toThrow(
        /invalid transaction event "b" at 100 ms: delivered more than once with different field values/,
      );
    },
  );

  it(
    'holds events to the online rules: the same event time rule and finite numbers, errors naming the ' + 'event',
    async () => {
      const online = createOnlineEngine(set);
      const cases: [string, string, string][] = [
        ['VARCHAR', "'2024-05-01T12:00:00'", 'eventTime'],
        ['VARCHAR', "'2024-05-01'", 'eventTime'],
        ['VARCHAR', "'2024-05-01T12:00:00+0530'", 'eventTime'],
        ['VARCHAR', "'2024-05-01T12:00:00+05'", 'eventTime'],
        ['VARCHAR', "'2024-05-01T12:00:00 Asia/Kolkata'", 'eventTime'],
        ['DOUBLE', '1.5', 'eventTime'],
        ['BIGINT', 'NULL', 'eventTime'],
      ];
      for (const [type, time, field] of cases) {
        await db.run(
          `CREATE OR REPLACE TABLE ev_bad AS SELECT 'bad' AS "eventId", CAST(${time} AS ${type}) AS ` +
            `"eventTime", 'u1' AS "userId", 1.0 AS amount, 'm' AS "merchantId"`,
        );
        const raw = (
          await db.runAndReadAll(`SELECT "eventTime" FROM ev_bad WHERE "eventId" = 'bad'`)
        ).getRowObjectsJS()[0]!['eventTime'];
        const expected = online.parse({
          eventId: 'bad',
          eventTime: raw ?? null,
          userId: 'u1',
          amount: 1,
          merchantId: 'm',
        });
        expect(expected).toMatchObject({
          ok: false,
          reason: `invalid transaction event: ${field}: ${EVENT_TIME_RULE}`,
        });
        await expect(runBackfill(db, set, { events: 'ev_bad', into: 'hist_bad' }), `${type} ${time}`).rejects.toThrow(
          `invalid transaction event "bad": ${field}: ${EVENT_TIME_RULE}, got `,
        );
      }
      for (const bad of ["'nan'", "'inf'", "'-inf'"]) {
        await db.run(
          `CREATE OR REPLACE TABLE ev_bad AS SELECT * FROM ev UNION ALL SELECT 'bad', 100, 'u1', CAST(${bad} ` +
            `AS DOUBLE), 'm'`,
        );
        await expect(runBackfill(db, set, { events: 'ev_bad', into: 'hist_bad' })).rejects.toThrow(
          /invalid transaction event "bad": amount: expected a finite number or null, got (nan|inf|-inf)/,
        );
      }
    },
  );

  it(
    'reports a sum or mean that overflows to ±Infinity as missing on both paths (not the default: the ' +
      'window is not empty)',
    async () => {
      await db.run(
        `CREATE TABLE ev_huge AS SELECT * FROM (VALUES ('a', 100::BIGINT, 'u1', 1e308, 'ma'), ('b', 101, 'u1', ` +
          `1e308, 'mb')) v("eventId", "eventTime", "userId", amount, "merchantId")`,
      );
      await runBackfill(db, userTransactionFeatures, { events: 'ev_huge', into: 'hist_huge' });
      const [offline] = (await history('hist_huge')).filter((row) => row['t'] === 101);
      const online = createOnlineEngine(userTransactionFeatures);
      const state = [txn('a', 100, 1e308), txn('b', 101, 1e308)].reduce(
        (s, e) => online.apply(s, e),
        online.initialState(),
      );
      const expected = { amount_sum_24h: null, amount_mean_lifetime: null, amount_max_24h: 1e308, last_amount: 1e308 };
      expect(offline).toMatchObject(expected);
      expect(online.read(state, 'u1', eventTime(101)).values).toMatchObject(expected);
    },
  );

  it('accepts any relation, e.g. read_parquet, and rejects a bad target name', async () => {
    expect(compileBackfillSql(set, { events: "read_parquet('x/*.parquet')" })).toContain(
      "FROM read_parquet('x/*.parquet') AS src",
    );
    await expect(runBackfill(db, set, { events: 'ev', into: 'bad name; DROP TABLE ev' })).rejects.toThrow(
      /must be an identifier/,
    );
  });
});
