import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  count,
  DefinitionError,
  distinctCount,
  entity,
  lastK,
  request,
  sliding,
  source,
  sum,
  transform,
} from './definition.js';
import { isoOrEpochMs } from './event-time.js';
import { transactions, user } from './example.js';
import { DEFAULT_ONLINE_EXPIRY, featureSet } from './feature-set.js';
import { featureService } from './feature-service.js';
import { duration } from './time.js';

describe('feature definitions', () => {
  it('infers the event type for request features and accepts a valid set', () => {
    const set = featureSet({
      name: 'ok',
      entity: user,
      source: transactions,
      features: { n: count() },
      requestFeatures: {
        amount_or_zero: (event) => event.amount ?? 0,
        is_big: request((event: { amount: number | null }) => (event.amount ?? 0) > 100),
      },
      transforms: { doubled: transform(['n'], (n) => (typeof n === 'number' ? n * 2 : null)) },
    });
    expect(set.aggregates.map((a) => [a.name, a.valueType])).toEqual([['n', 'number']]);
    expect(set.requestFeatures.map((f) => f.name)).toEqual(['amount_or_zero', 'is_big']);
  });

  it('rejects an unknown field, at compile time and at run time', () => {
    expect(() =>
      featureSet({
        name: 'bad',
        entity: user,
        source: transactions,
        // @ts-expect-error 'amuont' is not a numeric field of the source
        features: { s: sum('amuont') },
      }),
    ).toThrow(/unknown field 'amuont' in source 'transaction'/);
  });

  it('rejects an aggregation over a field of the wrong type', () => {
    expect(() =>
      // @ts-expect-error merchantId is a string: it cannot be summed
      featureSet({ name: 'bad', entity: user, source: transactions, features: { s: sum('merchantId') } }),
    ).toThrow(/sum needs a number field, 'merchantId' is string/);
  });

  it('rejects k < 1, non-positive windows and mistyped defaults', () => {
    expect(() => lastK('merchantId', 0)).toThrow(DefinitionError);
    expect(() => lastK('merchantId', 1.5)).toThrow(/k must be a whole number >= 1/);
    expect(() => sliding(duration.minutes(-5))).toThrow(/positive whole number of ms, got -300000/);
    expect(() => sliding(duration.ms(0))).toThrow(DefinitionError);
    expect(() =>
      featureSet({
        name: 'bad',
        entity: user,
        source: transactions,
        features: { s: sum('amount', { default: 'zero' }) },
      }),
    ).toThrow(/default "zero" is not a number/);
    expect(() =>
      featureSet({
        name: 'bad',
        entity: user,
        source: transactions,
        features: { s: sum('amount', { default: Number.NaN }) },
      }),
    ).toThrow(/is not a number/);
  });

  it('rejects unknown transform inputs, reserved and duplicate names', () => {
    expect(() =>
      featureSet({
        name: 'bad',
        entity: user,
        source: transactions,
        features: { n: count() },
        // @ts-expect-error 'm' is not a feature of the set
        transforms: { t: transform(['m'], (m) => m) },
      }),
    ).toThrow(/unknown input\(s\) m/);
    expect(() =>
      featureSet({ name: 'bad', entity: user, source: transactions, features: { event_time: count() } }),
    ).toThrow(/reserved/);
    expect(() =>
      featureSet({
        name: 'bad',
        entity: user,
        source: transactions,
        features: { n: count() },
        requestFeatures: { n: request(() => 1) },
      }),
    ).toThrow(/used twice/);
    expect(() =>
      featureSet({ name: 'bad', entity: user, source: transactions, features: { 'a-b': distinctCount('merchantId') } }),
    ).toThrow(/identifier/);
  });

  it('rejects sources without eventId', () => {
    const noId = z.object({ eventTime: isoOrEpochMs, userId: z.string() });
    // @ts-expect-error the schema has no eventId
    expect(() => source('s', noId)).toThrow(/must have an 'eventId' field/);
  });
});

describe('entities', () => {
  const merchant = entity({ name: 'merchant', key: 'merchantId' });
  const numericKey = source(
    'numeric_key',
    z.object({ eventId: z.string(), eventTime: isoOrEpochMs, userId: z.number() }),
  );

  it(
    "checks that a feature set's events carry its entity's key as a string field, at compile time and at " + 'run time',
    () => {
      // @ts-expect-error userId is a number in this source
      expect(() => featureSet({ name: 'bad', entity: user, source: numericKey, features: { n: count() } })).toThrow(
        new RegExp(
          /entity 'user' is keyed by 'userId', which is not a string /.source +
            /field of source 'numeric_key' \(string fields: eventId\)/.source,
        ),
      );
      const card = entity({ name: 'card', key: 'cardId' });
      // @ts-expect-error transactions carry no cardId
      expect(() => featureSet({ name: 'bad', entity: card, source: transactions, features: { n: count() } })).toThrow(
        /keyed by 'cardId'/,
      );
      expect(
        featureSet({ name: 'per_merchant', entity: merchant, source: transactions, features: { n: count() } }).entity,
      ).toBe(merchant);
    },
  );

  it('rejects names that are not identifiers', () => {
    expect(() => entity({ name: 'a user', key: 'userId' })).toThrow(/entity name 'a user' must be an identifier/);
  });

  it('puts freshness and online expiry on the definition, with checked values and a default expiry', () => {
    const plain = featureSet({ name: 'plain', entity: user, source: transactions, features: { n: count() } });
    expect([plain.maxAge, plain.onlineExpiry]).toEqual([undefined, DEFAULT_ONLINE_EXPIRY]);
    const timed = featureSet({
      name: 'timed',
      entity: user,
      source: transactions,
      maxAge: duration.hours(1),
      onlineExpiry: duration.days(2),
      features: { n: count() },
    });
    expect([timed.maxAge, timed.onlineExpiry]).toEqual([duration.hours(1), duration.days(2)]);
    expect(() =>
      featureSet({
        name: 'bad',
        entity: user,
        source: transactions,
        maxAge: duration.ms(-1),
        features: { n: count() },
      }),
    ).toThrow(/maxAge must be/);
    expect(() =>
      featureSet({
        name: 'bad',
        entity: user,
        source: transactions,
        onlineExpiry: duration.ms(0),
        features: { n: count() },
      }),
    ).toThrow(/onlineExpiry must be/);
  });
});

describe('feature services', () => {
  const merchant = entity({ name: 'merchant', key: 'merchantId' });
  const perUser = featureSet({
    name: 'per_user',
    entity: user,
    source: transactions,
    features: { n: count() },
    requestFeatures: { big: (e) => (e.amount ?? 0) > 100 },
  });
  const perMerchant = featureSet({
    name: 'per_merchant',
    entity: merchant,
    source: transactions,
    features: { merchant_n: count() },
  });

  it('groups the sets of one model; its features default to every feature, in definition order', () => {
    const service = featureService({ name: 'fraud', featureSets: [perUser, perMerchant] });
    expect(service.features).toEqual(['n', 'big', 'merchant_n']);
    expect(
      featureService({ name: 'fraud', featureSets: [perUser, perMerchant], features: ['merchant_n', 'n'] }).features,
    ).toEqual(['merchant_n', 'n']);
  });

  it('rejects unknown or repeated features, a set listed twice and a feature two sets define', () => {
    expect(() => featureService({ name: 'm', featureSets: [perUser], features: ['n', 'nope'] })).toThrow(
      /unknown feature\(s\) nope/,
    );
    expect(() => featureService({ name: 'm', featureSets: [perUser], features: ['n', 'n'] })).toThrow(/listed twice/);
    expect(() => featureService({ name: 'm', featureSets: [perUser, perUser] })).toThrow(
      /feature set 'per_user' is listed twice/,
    );
    const clash = featureSet({ name: 'clash', entity: merchant, source: transactions, features: { n: count() } });
    expect(() => featureService({ name: 'm', featureSets: [perUser, clash] })).toThrow(
      /feature 'n' is defined by both 'per_user' and 'clash'/,
    );
  });

  it('rejects a set the request cannot be read for, or whose request features need another source', () => {
    const profiles = source(
      'profile',
      z.object({ eventId: z.string(), eventTime: isoOrEpochMs, userId: z.string(), shopId: z.string() }),
    );
    const shop = entity({ name: 'shop', key: 'shopId' });
    const perShop = featureSet({ name: 'per_shop', entity: shop, source: profiles, features: { shop_n: count() } });
    expect(() => featureService({ name: 'm', featureSets: [perUser, perShop] })).toThrow(
      /'per_shop' is read by shop 'shopId', which requests \(source 'transaction'\) do not carry/,
    );
    const withRequest = featureSet({
      name: 'profile_req',
      entity: user,
      source: profiles,
      features: { p: count() },
      requestFeatures: { shop: (e) => e.shopId },
    });
    expect(() => featureService({ name: 'm', featureSets: [perUser, withRequest] })).toThrow(
      /has request features but another source/,
    );
  });
});

describe('isoOrEpochMs', () => {
  it('normalises ISO-8601 with any offset and epoch ms to the same instant', () => {
    const instant = Date.UTC(2024, 4, 1, 12, 0, 0, 250);
    for (const raw of [
      '2024-05-01T12:00:00.250Z',
      '2024-05-01T14:00:00.250+02:00',
      '2024-05-01T06:30:00.250-05:30',
      instant,
    ]) {
      expect(isoOrEpochMs.parse(raw)).toBe(instant);
    }
  });

  it('rejects offsetless ISO strings and fractional epochs', () => {
    expect(isoOrEpochMs.safeParse('2024-05-01T12:00:00').success).toBe(false);
    expect(isoOrEpochMs.safeParse(1.5).success).toBe(false);
    expect(isoOrEpochMs.safeParse('yesterday').success).toBe(false);
  });
});
