import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventTime } from '@rtml/features';
import { OfflineStore } from './store.js';
import { at, openTempStore } from './test-support.js';

let ctx: Awaited<ReturnType<typeof openTempStore>>;
beforeEach(async () => {
  ctx = await openTempStore();
});
afterEach(async () => ctx.cleanup());

describe('feature history', () => {
  it('round-trips JS rows of every feature type, exact to the millisecond', async () => {
    const oddMillis = eventTime(Date.UTC(1999, 11, 31, 23, 59, 59, 999));
    await ctx.store.appendHistory('user', {
      rows: [
        {
          entityId: 'u1',
          eventTime: oddMillis,
          values: { spend: 12.5, country: 'FR', active: true, last: [1.5, 2], tags: ['a', "o'brien"] },
        },
        {
          entityId: 'u1',
          eventTime: eventTime(oddMillis + 1),
          values: { spend: null, country: null, active: false, last: [], tags: null },
        },
      ],
    });
    expect(ctx.store.schema('user')).toEqual({
      spend: 'DOUBLE',
      country: 'VARCHAR',
      active: 'BOOLEAN',
      last: 'DOUBLE[]',
      tags: 'VARCHAR[]',
    });
    const history = await ctx.store.readHistory('user', 'u1');
    expect(history).toEqual([
      {
        featureSet: 'user',
        entityId: 'u1',
        eventTime: oddMillis,
        values: { spend: 12.5, country: 'FR', active: true, last: [1.5, 2], tags: ['a', "o'brien"] },
      },
      {
        featureSet: 'user',
        entityId: 'u1',
        eventTime: oddMillis + 1,
        values: { spend: null, country: null, active: false, last: [], tags: null },
      },
    ]);
  });

  it('appends Parquet parts read back as one set, survives reopening, and grows columns', async () => {
    await ctx.store.appendHistory('user', { rows: [{ entityId: 'u1', eventTime: at(0), values: { spend: 1 } }] });
    await ctx.store.appendHistory('user', {
      rows: [{ entityId: 'u2', eventTime: at(1), values: { spend: 2, visits: 7 } }],
    });
    ctx.store.close();
    const reopened = await OfflineStore.open({ dir: ctx.dir });
    ctx.store = reopened;
    expect(await readdir(join(ctx.dir, 'feature_sets', 'user'))).toEqual([
      'part-000001.parquet',
      'part-000002.parquet',
    ]);
    expect((await reopened.readHistory('user')).map((v) => [v.entityId, v.values])).toEqual([
      ['u1', { spend: 1, visits: null }],
      ['u2', { spend: 2, visits: 7 }],
    ]);
  });

  it('accepts a table in its own connection (as a backfill would create) and Parquet files', async () => {
    await ctx.store.connection.run(
      `CREATE TABLE backfill AS SELECT 'e' || (i % 3) AS entity_id, TIMESTAMP '2024-01-01' + to_minutes(i) ` +
        `AS event_time, i::INTEGER AS n FROM range(6) t(i)`,
    );
    expect((await ctx.store.appendHistory('counts', { table: 'backfill' })).rowsWritten).toBe(6);
    const parquet = join(ctx.dir, 'external.parquet');
    await ctx.store.connection.run(
      `COPY (SELECT 'z' AS entity_id, TIMESTAMP '2024-01-02' AS event_time, 99 AS n) TO '${parquet}' (FORMAT parquet)`,
    );
    await ctx.store.appendHistory('counts', { parquet });
    expect(ctx.store.schema('counts')).toEqual({ n: 'DOUBLE' });
    const history = await ctx.store.readHistory('counts');
    expect(history).toHaveLength(7);
    expect(history.at(-1)).toMatchObject({ entityId: 'z', eventTime: Date.UTC(2024, 0, 2), values: { n: 99 } });
  });

  it('rejects a repeated (entity_id, event_time) key, within a batch or against stored history', async () => {
    const row = { entityId: 'u1', eventTime: at(5), values: { spend: 1 } };
    await expect(ctx.store.appendHistory('user', { rows: [row, row] })).rejects.toThrow(
      /must be unique.*"u1", 2024-01-01T00:05:00.000Z/,
    );
    await ctx.store.appendHistory('user', { rows: [row] });
    await expect(ctx.store.appendHistory('user', { rows: [row] })).rejects.toThrow(/must be unique/);
    expect(await ctx.store.readHistory('user')).toHaveLength(1);
  });

  it('rejects type changes, bad names, missing keys and untyped all-null columns with clear errors', async () => {
    await ctx.store.appendHistory('user', { rows: [{ entityId: 'u1', eventTime: at(0), values: { spend: 1 } }] });
    await expect(
      ctx.store.appendHistory('user', { rows: [{ entityId: 'u1', eventTime: at(1), values: { spend: 'x' } }] }),
    ).rejects.toThrow(/spend is DOUBLE but got "x"/);
    await expect(ctx.store.appendHistory('bad name', { rows: [] })).rejects.toThrow(
      /invalid feature set name "bad name"/,
    );
    await expect(ctx.store.appendHistory('a__b', { rows: [] })).rejects.toThrow(/"__" is reserved/);
    await expect(
      ctx.store.appendHistory('user', {
        rows: [{ entityId: 'u1', eventTime: at(2), values: { 'x"; DROP TABLE t; --': 1 } }],
      }),
    ).rejects.toThrow(/invalid feature name/);
    await expect(
      ctx.store.appendHistory('user', { rows: [{ entityId: 'u1', eventTime: at(2), values: { gone: null } }] }),
    ).rejects.toThrow(/cannot infer the type of gone/);
    await expect(ctx.store.appendHistory('user', { query: `SELECT 'u' AS entity_id, 1 AS spend` })).rejects.toThrow(
      /event_time TIMESTAMP column/,
    );
    await expect(ctx.store.appendHistory('user', { table: 'x; DROP TABLE rtml_feature_columns' })).rejects.toThrow(
      /invalid table name/,
    );
    expect(ctx.store.schema('user')).toEqual({ spend: 'DOUBLE' });
  });

  it('refuses NaN and ±Infinity from JS rows, tables and Parquet, naming the row, and writes nothing', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      await expect(
        ctx.store.appendHistory('user', {
          rows: [
            { entityId: 'u1', eventTime: at(0), values: { spend: 1 } },
            { entityId: 'u2', eventTime: at(5), values: { spend: bad } },
          ],
        }),
      ).rejects.toThrow(
        new RegExp(
          /feature history for user: NaN and ±Infinity are not feature values /.source +
            /.*rows include "u2" at 2024-01-01T00:05:00.000Z: spend = (nan|inf|-inf)/.source,
        ),
      );
      await expect(
        ctx.store.appendHistory('user', { rows: [{ entityId: 'u3', eventTime: at(0), values: { last: [1, bad] } }] }),
      ).rejects.toThrow(/"u3" at .*: last = \[1\.0, -?(nan|inf)\]/);
    }
    await ctx.store.connection.run(
      `CREATE TABLE bad AS SELECT 'u4' AS entity_id, TIMESTAMP '2024-01-01' AS event_time, 'nan'::FLOAT AS spend`,
    );
    await expect(ctx.store.appendHistory('user', { table: 'bad' })).rejects.toThrow(
      /"u4" at 2024-01-01T00:00:00.000Z: spend = nan/,
    );
    expect(ctx.store.featureSets()).toEqual([]);
  });

  it('lets a declared schema type all-null columns', async () => {
    await ctx.store.appendHistory('user', {
      rows: [{ entityId: 'u1', eventTime: at(0), values: { later: null } }],
      schema: { later: 'VARCHAR' },
    });
    expect(ctx.store.schema('user')).toEqual({ later: 'VARCHAR' });
  });
});
