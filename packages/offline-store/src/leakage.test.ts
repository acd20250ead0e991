import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { at, openTempStore } from './test-support.js';

let ctx: Awaited<ReturnType<typeof openTempStore>>;
beforeEach(async () => {
  ctx = await openTempStore();
  await ctx.store.appendHistory('spend', {
    rows: [
      { entityId: 'u1', eventTime: at(0), values: { total: 5, recent: [1, 2] } },
      { entityId: 'u1', eventTime: at(10), values: { total: 50, recent: [3] } },
    ],
  });
  await ctx.store.appendHistory('profile', { rows: [{ entityId: 'u1', eventTime: at(5), values: { country: 'FR' } }] });
  const labels = [
    { entityId: 'u1', labelTime: at(5), label: 1 },
    { entityId: 'u1', labelTime: at(10), label: 0 },
    { entityId: 'u1', labelTime: at(20), label: 0 },
  ];
  await ctx.store.buildTrainingSet({
    labels: { rows: labels },
    featureSets: [{ name: 'spend' }, { name: 'profile' }],
    into: 'pit',
  });
  await ctx.store.buildTrainingSet({
    labels: { rows: labels },
    featureSets: [{ name: 'spend' }, { name: 'profile' }],
    into: 'naive',
    strategy: 'naive-latest',
  });
});
afterEach(async () => ctx.cleanup());

describe('leakage check', () => {
  it('passes a point-in-time training set', async () => {
    const report = await ctx.store.checkLeakage({ table: 'pit' });
    expect(report).toEqual({
      rule: 'strict',
      rowsChecked: 3,
      leakingRows: 0,
      bySet: { spend: 0, profile: 0 },
      leaks: [],
    });
  });

  it('reports every leaking row of the naive join, per feature set', async () => {
    const report = await ctx.store.checkLeakage({ table: 'naive' });
    expect(report.bySet).toEqual({ spend: 2, profile: 1 });
    expect(report.leakingRows).toBe(2);
    expect(report.leaks).toEqual([
      { row: 1, entityId: 'u1', labelTime: at(5), featureSet: 'spend', featureTime: at(10) },
      { row: 1, entityId: 'u1', labelTime: at(5), featureSet: 'profile', featureTime: at(5) },
      { row: 2, entityId: 'u1', labelTime: at(10), featureSet: 'spend', featureTime: at(10) },
    ]);
    const capped = await ctx.store.checkLeakage({ table: 'naive' }, { maxLeaks: 1 });
    expect(capped).toMatchObject({ leakingRows: 2, bySet: { spend: 2, profile: 1 } });
    expect(capped.leaks).toHaveLength(1);
  });

  it(
    'catches a single planted leak in an exported Parquet file; the inclusive rule tolerates equal times ' + 'only',
    async () => {
      await ctx.store.connection.run(
        `UPDATE pit SET spend__event_time = label_time, spend__total = 50 WHERE label_time = (SELECT ` +
          `max(label_time) FROM pit)`,
      );
      const parquet = join(ctx.dir, 'planted.parquet');
      await ctx.store.exportTable('pit', parquet, 'parquet');
      const strict = await ctx.store.checkLeakage({ parquet });
      expect(strict.leaks).toEqual([
        { row: 3, entityId: 'u1', labelTime: at(20), featureSet: 'spend', featureTime: at(20) },
      ]);
      expect((await ctx.store.checkLeakage({ parquet }, { rule: 'inclusive' })).leakingRows).toBe(0);
      await ctx.store.connection.run(
        `UPDATE pit SET profile__event_time = label_time + INTERVAL 1 MILLISECOND WHERE label_time = (SELECT ` +
          `min(label_time) FROM pit)`,
      );
      const inclusive = await ctx.store.checkLeakage({ table: 'pit' }, { rule: 'inclusive', featureSets: ['profile'] });
      expect(inclusive.leaks).toEqual([
        { row: 1, entityId: 'u1', labelTime: at(5), featureSet: 'profile', featureTime: at(5) + 1 },
      ]);
    },
  );

  it('needs feature-time columns to audit', async () => {
    await expect(
      ctx.store.checkLeakage({ query: `SELECT 'u' AS entity_id, TIMESTAMP '2024-01-01' AS label_time` }),
    ).rejects.toThrow(/no <set>__event_time/);
    await expect(ctx.store.checkLeakage({ table: 'pit' }, { featureSets: ['other'] })).rejects.toThrow(
      /no TIMESTAMP column other__event_time/,
    );
  });
});

describe('export', () => {
  it('writes Parquet and CSV that read back with the same rows', async () => {
    const parquet = join(ctx.dir, 'pit.parquet');
    const csv = join(ctx.dir, 'pit.csv');
    await ctx.store.exportTable('pit', parquet, 'parquet');
    await ctx.store.exportTable('pit', csv, 'csv');
    const original = await ctx.store.query(`SELECT * FROM pit`);
    expect(await ctx.store.query(`SELECT * FROM read_parquet($path)`, { path: parquet })).toEqual(original);
    const fromCsv = await ctx.store.query(
      `SELECT entity_id, label_time, label, spend__total, profile__country FROM read_csv($path)`,
      { path: csv },
    );
    expect(fromCsv).toEqual(
      original.map((r) => ({
        entity_id: r['entity_id'],
        label_time: r['label_time'],
        label: r['label'],
        spend__total: r['spend__total'],
        profile__country: r['profile__country'],
      })),
    );
    const header = (await readFile(csv, 'utf8')).split('\n')[0];
    expect(header).toBe(
      'entity_id,label_time,label,spend__event_time,spend__total,spend__recent,profile__event_time,profile__country',
    );
  });
});
