import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { count, duration, entity, featureService, featureSet, sum } from '@rtml/features';
import { transactions } from '@rtml/features/testing';
import { at, openTempStore } from './test-support.js';

let ctx: Awaited<ReturnType<typeof openTempStore>>;
beforeEach(async () => {
  ctx = await openTempStore();
  // u1 spends at minutes 0 and 10; u2 only at minute 0; u3 never. Profile is a second set with a colliding feature
  // name.
  await ctx.store.appendHistory('spend', {
    rows: [
      { entityId: 'u1', eventTime: at(0), values: { total: 5 } },
      { entityId: 'u1', eventTime: at(10), values: { total: 50 } },
      { entityId: 'u2', eventTime: at(0), values: { total: 7 } },
    ],
  });
  await ctx.store.appendHistory('profile', {
    rows: [
      { entityId: 'u1', eventTime: at(3), values: { total: 1, country: 'FR' } },
      { entityId: 'u2', eventTime: at(30), values: { total: 2, country: 'DE' } },
    ],
  });
});
afterEach(async () => ctx.cleanup());

// Histories appended without a definition: the join needs only each set's name, entity and freshness.
const user = { name: 'user' };
const spend = { name: 'spend', entity: user };
const profile = { name: 'profile', entity: user };
const merchant = { name: 'merchant', entity: { name: 'merchant' } };

const labels = [
  { entityId: 'u1', labelTime: at(10), label: 1, extra: { amount: 99 } }, // exactly at a spend row: must not see it
  { entityId: 'u1', labelTime: at(11), label: 0, extra: { amount: 1 } },
  // spend row 20 min old: expired under a 15 min maxAge
  { entityId: 'u2', labelTime: at(20), label: 0, extra: { amount: 3 } },
  { entityId: 'u3', labelTime: at(20), label: 1, extra: { amount: 4 } }, // no history at all
];

async function rows(table: string) {
  return ctx.store.query(
    `SELECT * EXCLUDE (label_time), epoch_ms(label_time)::DOUBLE AS label_ms, ` +
      `epoch_ms(spend__event_time)::DOUBLE AS spend_ms FROM ${table}`,
  );
}

describe('point-in-time training set', () => {
  it('joins strictly before label time, applies maxAge, and keeps label order and extras', async () => {
    const set = await ctx.store.buildTrainingSet({
      labels: { rows: labels },
      featureSets: [{ ...spend, maxAge: duration.minutes(15) }, profile],
      into: 'pit',
    });
    expect(set).toMatchObject({
      table: 'pit',
      rowCount: 4,
      strategy: 'point-in-time',
      labelColumns: ['entity_id', 'label_time', 'label', 'amount'],
    });
    expect(set.featureSets.map((s) => [s.eventTimeColumn, s.featureColumns])).toEqual([
      ['spend__event_time', { total: 'spend__total' }],
      ['profile__event_time', { total: 'profile__total', country: 'profile__country' }],
    ]);
    const result = await rows('pit');
    expect(
      result.map((r) => [
        r['entity_id'],
        r['amount'],
        r['spend__total'],
        r['spend_ms'],
        r['profile__total'],
        r['profile__country'],
      ]),
    ).toEqual([
      ['u1', 99, 5, at(0), 1, 'FR'],
      ['u1', 1, 50, at(10), 1, 'FR'],
      ['u2', 3, null, null, null, null],
      ['u3', 4, null, null, null, null],
    ]);
  });

  it("takes a feature service: each set's maxAge and entity come from its definition", async () => {
    const spendSet = featureSet({
      name: 'spend',
      entity: entity({ name: 'user', key: 'userId' }),
      source: transactions,
      maxAge: duration.minutes(15),
      features: { total: sum('amount') },
    });
    const merchantSet = featureSet({
      name: 'merchant',
      entity: entity({ name: 'merchant', key: 'merchantId' }),
      source: transactions,
      features: { refunds: count() },
    });
    await ctx.store.appendHistory('merchant', { rows: [{ entityId: 'm1', eventTime: at(5), values: { refunds: 2 } }] });
    const service = featureService({ name: 'fraud', featureSets: [spendSet, merchantSet] });
    const withMerchant = labels.map((label) => ({ ...label, extra: { ...label.extra, shop: 'm1' } }));
    const set = await ctx.store.buildTrainingSet({
      labels: { rows: withMerchant },
      featureSets: service,
      entityIdColumns: { merchant: 'shop' },
      into: 'served',
    });
    expect(set.featureSets.map((s) => [s.name, s.maxAge, s.entityIdColumn])).toEqual([
      ['spend', duration.minutes(15), 'entity_id'],
      ['merchant', undefined, 'shop'],
    ]);
    expect((await rows('served')).map((r) => [r['spend__total'], r['merchant__refunds']])).toEqual([
      [5, 2],
      [50, 2],
      [null, 2],
      [null, 2],
    ]);
  });

  it('without maxAge an old value is still used', async () => {
    await ctx.store.buildTrainingSet({ labels: { rows: labels }, featureSets: [spend], into: 'no_max_age' });
    expect((await rows('no_max_age')).map((r) => r['spend__total'])).toEqual([5, 50, 7, null]);
  });

  it('a maxAge boundary is inclusive: a value exactly maxAge old is still fresh', async () => {
    await ctx.store.buildTrainingSet({
      labels: { rows: labels },
      featureSets: [{ ...spend, maxAge: duration.minutes(20) }],
      into: 'edge',
    });
    expect((await rows('edge')).map((r) => r['spend__total'])).toEqual([5, 50, 7, null]);
  });

  it('the naive join sees the future: latest values regardless of label time', async () => {
    const set = await ctx.store.buildTrainingSet({
      labels: { rows: labels },
      featureSets: [spend, profile],
      into: 'naive',
      strategy: 'naive-latest',
    });
    expect(set.strategy).toBe('naive-latest');
    const result = await rows('naive');
    expect(result.map((r) => [r['spend__total'], r['profile__country']])).toEqual([
      [50, 'FR'],
      [50, 'FR'],
      [7, 'DE'],
      [null, null],
    ]);
  });

  it('reads labels from a table or Parquet, with the same result as JS rows', async () => {
    await ctx.store.buildTrainingSet({ labels: { rows: labels }, featureSets: [spend], into: 'from_js' });
    await ctx.store.connection.run(`CREATE TABLE labels AS SELECT entity_id, label_time, label, amount FROM from_js`);
    await ctx.store.buildTrainingSet({ labels: { table: 'labels' }, featureSets: [spend], into: 'from_table' });
    const parquet = join(ctx.dir, 'labels.parquet');
    await ctx.store.exportTable('labels', parquet, 'parquet');
    await ctx.store.buildTrainingSet({ labels: { parquet }, featureSets: [spend], into: 'from_parquet' });
    const expected = await rows('from_js');
    expect(await rows('from_table')).toEqual(expected);
    expect(await rows('from_parquet')).toEqual(expected);
  });

  it('joins a second entity by its own label column (entityIdColumns), point-in-time and naive', async () => {
    // Merchant m1 has 2 refunds at minute 5 and 9 at minute 15; the labels' entity_id stays the user.
    await ctx.store.appendHistory('merchant', {
      rows: [
        { entityId: 'm1', eventTime: at(5), values: { refunds: 2 } },
        { entityId: 'm1', eventTime: at(15), values: { refunds: 9 } },
      ],
    });
    const withMerchant = [
      { entityId: 'u1', labelTime: at(10), label: 1, extra: { merchant_id: 'm1' } },
      { entityId: 'u2', labelTime: at(20), label: 0, extra: { merchant_id: 'm1' } },
      { entityId: 'u1', labelTime: at(11), label: 0, extra: { merchant_id: 'm2' } }, // a merchant with no history
    ];
    const build = (strategy: 'point-in-time' | 'naive-latest') =>
      ctx.store.buildTrainingSet({
        labels: { rows: withMerchant },
        featureSets: [spend, merchant],
        entityIdColumns: { merchant: 'merchant_id' },
        into: strategy.replaceAll('-', '_'),
        strategy,
      });
    const pit = await build('point-in-time');
    expect(pit.featureSets.map((s) => s.entityIdColumn)).toEqual(['entity_id', 'merchant_id']);
    const values = async (table: string) =>
      (await ctx.store.query(`SELECT spend__total, merchant__refunds FROM ${table}`)).map((r) => [
        r['spend__total'],
        r['merchant__refunds'],
      ]);
    expect(await values('point_in_time')).toEqual([
      [5, 2],
      [7, 9],
      [50, null],
    ]);
    await build('naive-latest');
    expect(await values('naive_latest')).toEqual([
      [50, 9],
      [7, 9],
      [50, null],
    ]);
    await expect(
      ctx.store.buildTrainingSet({
        labels: { rows: withMerchant },
        featureSets: [merchant],
        entityIdColumns: { merchant: 'shop_id' },
      }),
    ).rejects.toThrow(/no entity id column shop_id/);
    await expect(
      ctx.store.buildTrainingSet({ labels: { rows: withMerchant }, featureSets: [spend, merchant] }),
    ).rejects.toThrow(
      new RegExp(
        /feature set merchant is of entity merchant, the labels of user: name the /.source +
          /label column holding merchant ids, entityIdColumns: \{ merchant: '<column>' \}/.source,
      ),
    );
  });

  it('refuses NaN and ±Infinity in labels (JS rows and relations), naming the row', async () => {
    const bad = [
      { entityId: 'u1', labelTime: at(11), label: 1 },
      { entityId: 'u2', labelTime: at(20), label: NaN },
    ];
    await expect(ctx.store.buildTrainingSet({ labels: { rows: bad }, featureSets: [spend] })).rejects.toThrow(
      /labels: NaN and ±Infinity are not label values; rows include "u2" at 2024-01-01T00:20:00.000Z: label = nan/,
    );
    const extra = [{ entityId: 'u1', labelTime: at(11), label: 1, extra: { amount: -Infinity } }];
    await expect(ctx.store.buildTrainingSet({ labels: { rows: extra }, featureSets: [spend] })).rejects.toThrow(
      /"u1" at .*: amount = -inf/,
    );
    await expect(
      ctx.store.buildTrainingSet({
        labels: {
          query: `SELECT 'u1' AS entity_id, TIMESTAMP '2024-01-01 00:11:00' AS label_time, 'inf'::DOUBLE AS label`,
        },
        featureSets: [spend],
      }),
    ).rejects.toThrow(/"u1" at 2024-01-01T00:11:00.000Z: label = inf/);
  });

  it('takes a schema for labels JS rows cannot type (all null), and says so when it is missing', async () => {
    const pending = [
      { entityId: 'u1', labelTime: at(11), label: null },
      { entityId: 'u2', labelTime: at(20), label: null },
    ];
    await expect(ctx.store.buildTrainingSet({ labels: { rows: pending }, featureSets: [spend] })).rejects.toThrow(
      new RegExp(
        /cannot infer the type of label \(only null \/ empty values\): declare /.source +
          /it with the source's schema option, e.g. schema: \{ label: 'DOUBLE' \}/.source,
      ),
    );
    const set = await ctx.store.buildTrainingSet({
      labels: { rows: pending, schema: { label: 'DOUBLE' } },
      featureSets: [spend],
    });
    expect(await ctx.store.query(`SELECT entity_id, label, spend__total FROM ${set.table}`)).toEqual([
      { entity_id: 'u1', label: null, spend__total: 50 },
      { entity_id: 'u2', label: null, spend__total: 7 },
    ]);
  });

  it('rejects unknown sets or features, bad maxAges, colliding label columns and bad table names', async () => {
    const build = (request: Partial<Parameters<typeof ctx.store.buildTrainingSet>[0]>) =>
      ctx.store.buildTrainingSet({ labels: { rows: labels }, featureSets: [spend], ...request });
    await expect(build({ featureSets: [{ name: 'nope' }] })).rejects.toThrow(
      /unknown feature set "nope"; known: profile, spend/,
    );
    await expect(build({ featureSets: [{ ...spend, features: ['missing'] }] })).rejects.toThrow(
      /has no feature missing/,
    );
    await expect(build({ featureSets: [{ ...spend, maxAge: duration.ms(-1) }] })).rejects.toThrow(/non-negative/);
    await expect(build({ featureSets: [spend, spend] })).rejects.toThrow(/requested twice/);
    await expect(build({ into: 'x"; DROP TABLE y; --' })).rejects.toThrow(/invalid table name/);
    await expect(
      build({ labels: { rows: [{ entityId: 'u1', labelTime: at(1), label: 1, extra: { spend__total: 1 } }] } }),
    ).rejects.toThrow(/collides/);
    await expect(build({ labels: { query: `SELECT 'u1' AS entity_id, 1 AS label` } })).rejects.toThrow(
      /missing label_time/,
    );
  });

  it('binds entity ids as values: quotes in ids neither break nor inject SQL', async () => {
    const evil = "u1'; DROP TABLE rtml_feature_columns; --";
    await ctx.store.appendHistory('spend', { rows: [{ entityId: evil, eventTime: at(1), values: { total: 3 } }] });
    await ctx.store.buildTrainingSet({
      labels: { rows: [{ entityId: evil, labelTime: at(2), label: 1 }] },
      featureSets: [spend],
      into: 'evil',
    });
    expect((await rows('evil'))[0]).toMatchObject({ entity_id: evil, spend__total: 3 });
    expect(await ctx.store.valueAsOf('spend', evil, 'total', at(1))).toBe(3);
    expect(ctx.store.featureSets()).toEqual(['profile', 'spend']);
  });
});
