import { describe, expect, it } from 'vitest';
import {
  count,
  distinctCount,
  duration,
  entity,
  featureSet,
  isoOrEpochMs,
  mean,
  sliding,
  source,
  sum,
} from '@rtml/features';
import { z } from 'zod';
import { emptyHistoryValues, modelRow, trainingMeans } from './model-row.js';

describe('modelRow', () => {
  it('turns values into a row, booleans into 0/1, and nulls into the fallback, listing what it imputed', () => {
    const { row, imputed } = modelRow({ a: 2, b: true, c: null }, ['a', 'b', 'c', 'd'], { c: 7, d: 9 });
    expect(row).toEqual([2, 1, 7, 9]);
    expect(imputed).toEqual(['c', 'd']);
  });

  it('rejects a non-numeric model feature and a missing fallback', () => {
    expect(() => modelRow({ a: 'x' }, ['a'], { a: 0 })).toThrow(/numeric or boolean/);
    expect(() => modelRow({}, ['a'], {})).toThrow(/no fallback for model feature 'a'/);
  });
});

describe('fallbacks', () => {
  it('trainingMeans averages the non-null values only', () => {
    expect(trainingMeans([{ a: 1 }, { a: null }, { a: 3 }, {}], ['a', 'b'])).toEqual({ a: 2, b: 0 });
  });

  it('emptyHistoryValues gives counts 0 and declared numeric defaults, nothing for means', () => {
    const events = source(
      'e',
      z.object({ eventId: z.string(), eventTime: isoOrEpochMs, user: z.string(), x: z.number() }),
    );
    const set = featureSet({
      name: 's',
      entity: entity({ name: 'user', key: 'user' }),
      source: events,
      features: {
        n: count(),
        d: distinctCount('x'),
        total: sum('x', { default: 0 }),
        avg: mean('x', { window: sliding(duration.hours(1)) }),
      },
    });
    expect(emptyHistoryValues([set])).toEqual({ n: 0, d: 0, total: 0 });
  });
});
