import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { count, DefinitionError, distinctCount, lastK, request, sliding, source, sum, transform } from './definition.js';
import { isoOrEpochMs } from './event-time.js';
import { transactions } from './example.js';
import { featureSet } from './feature-set.js';
import { duration } from './time.js';

describe('feature definitions', () => {
  it('infers the event type for request features and accepts a valid set', () => {
    const set = featureSet({
      name: 'ok',
      entity: 'user',
      source: transactions,
      features: { n: count() },
      requestFeatures: { amount_or_zero: (event) => event.amount ?? 0, is_big: request((event: { amount: number | null }) => (event.amount ?? 0) > 100) },
      transforms: { doubled: transform(['n'], (n) => (typeof n === 'number' ? n * 2 : null)) },
    });
    expect(set.aggregates.map((a) => [a.name, a.valueType])).toEqual([['n', 'number']]);
    expect(set.requestFeatures.map((f) => f.name)).toEqual(['amount_or_zero', 'is_big']);
  });

  it('rejects an unknown field, at compile time and at run time', () => {
    expect(() =>
      featureSet({
        name: 'bad',
        entity: 'user',
        source: transactions,
        // @ts-expect-error 'amuont' is not a numeric field of the source
        features: { s: sum('amuont') },
      }),
    ).toThrow(/unknown field 'amuont' in source 'transaction'/);
  });

  it('rejects an aggregation over a field of the wrong type', () => {
    expect(() =>
      // @ts-expect-error merchantId is a string: it cannot be summed
      featureSet({ name: 'bad', entity: 'user', source: transactions, features: { s: sum('merchantId') } }),
    ).toThrow(/sum needs a number field, 'merchantId' is string/);
  });

  it('rejects k < 1, non-positive windows and mistyped defaults', () => {
    expect(() => lastK('merchantId', 0)).toThrow(DefinitionError);
    expect(() => lastK('merchantId', 1.5)).toThrow(/k must be a whole number >= 1/);
    expect(() => sliding(duration.minutes(-5))).toThrow(/positive whole number of ms, got -300000/);
    expect(() => sliding(duration.ms(0))).toThrow(DefinitionError);
    expect(() => featureSet({ name: 'bad', entity: 'u', source: transactions, features: { s: sum('amount', { default: 'zero' }) } })).toThrow(
      /default "zero" is not a number/,
    );
    expect(() => featureSet({ name: 'bad', entity: 'u', source: transactions, features: { s: sum('amount', { default: Number.NaN }) } })).toThrow(
      /is not a number/,
    );
  });

  it('rejects unknown transform inputs, reserved and duplicate names', () => {
    expect(() =>
      featureSet({
        name: 'bad',
        entity: 'u',
        source: transactions,
        features: { n: count() },
        // @ts-expect-error 'm' is not a feature of the set
        transforms: { t: transform(['m'], (m) => m) },
      }),
    ).toThrow(/unknown input\(s\) m/);
    expect(() => featureSet({ name: 'bad', entity: 'u', source: transactions, features: { event_time: count() } })).toThrow(/reserved/);
    expect(() =>
      featureSet({ name: 'bad', entity: 'u', source: transactions, features: { n: count() }, requestFeatures: { n: request(() => 1) } }),
    ).toThrow(/used twice/);
    expect(() => featureSet({ name: 'bad', entity: 'u', source: transactions, features: { 'a-b': distinctCount('merchantId') } })).toThrow(/identifier/);
  });

  it('rejects sources without eventId or a string entity key', () => {
    const noId = z.object({ eventTime: isoOrEpochMs, userId: z.string() });
    // @ts-expect-error the schema has no eventId
    expect(() => source('s', noId, { entityKey: 'userId' })).toThrow(/must have an 'eventId' field/);
    const numericKey = z.object({ eventId: z.string(), eventTime: isoOrEpochMs, userId: z.number() });
    // @ts-expect-error userId is not a string
    expect(() => source('s', numericKey, { entityKey: 'userId' })).toThrow(/entityKey 'userId' must be a string field/);
  });
});

describe('isoOrEpochMs', () => {
  it('normalises ISO-8601 with any offset and epoch ms to the same instant', () => {
    const instant = Date.UTC(2024, 4, 1, 12, 0, 0, 250);
    for (const raw of ['2024-05-01T12:00:00.250Z', '2024-05-01T14:00:00.250+02:00', '2024-05-01T06:30:00.250-05:30', instant]) {
      expect(isoOrEpochMs.parse(raw)).toBe(instant);
    }
  });

  it('rejects offsetless ISO strings and fractional epochs', () => {
    expect(isoOrEpochMs.safeParse('2024-05-01T12:00:00').success).toBe(false);
    expect(isoOrEpochMs.safeParse(1.5).success).toBe(false);
    expect(isoOrEpochMs.safeParse('yesterday').success).toBe(false);
  });
});
