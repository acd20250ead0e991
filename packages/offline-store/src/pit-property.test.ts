import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duration, eventTime, type EventTime } from '@rtml/features';
import { openTempStore } from './test-support.js';

let ctx: Awaited<ReturnType<typeof openTempStore>>;
beforeAll(async () => {
  ctx = await openTempStore();
});
afterAll(async () => ctx.cleanup());

interface Point {
  readonly entityId: string;
  readonly time: number;
  readonly value: number;
}

/** Brute-force reference: the newest history row strictly before the label, dropped if older than maxAge. */
function referenceJoin(
  history: readonly Point[],
  label: { entityId: string; time: number },
  maxAge: number | undefined,
): [number | null, number | null] {
  const candidates = history.filter((row) => row.entityId === label.entityId && row.time < label.time);
  const newest = candidates.reduce<Point | undefined>(
    (best, row) => (best === undefined || row.time > best.time ? row : best),
    undefined,
  );
  if (newest === undefined || (maxAge !== undefined && label.time - newest.time > maxAge)) return [null, null];
  return [newest.value, newest.time];
}

const entity = fc.constantFrom('a', 'b', "c'd");
const history = fc.uniqueArray(
  fc.record({ entityId: entity, time: fc.integer({ min: 0, max: 40 }), value: fc.integer({ min: -99, max: 99 }) }),
  {
    selector: (row) => `${row.entityId}@${row.time}`,
    maxLength: 25,
  },
);
const labels = fc.array(fc.record({ entityId: entity, time: fc.integer({ min: 0, max: 45 }) }), {
  minLength: 1,
  maxLength: 15,
});
const maxAge = fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined });

const ms = (time: number): EventTime => eventTime(Date.UTC(2024, 0, 1) + time);

describe('point-in-time join property', () => {
  it('equals a brute-force JS reference for random histories, labels and maxAges', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(history, labels, maxAge, async (points, labelPoints, maxAgeMs) => {
        run += 1;
        const set = `prop${run}`;
        await ctx.store.registerFeatureSet(set, { value: 'DOUBLE' });
        await ctx.store.appendHistory(set, {
          rows: points.map((p) => ({ entityId: p.entityId, eventTime: ms(p.time), values: { value: p.value } })),
        });
        await ctx.store.buildTrainingSet({
          labels: { rows: labelPoints.map((l, i) => ({ entityId: l.entityId, labelTime: ms(l.time), label: i })) },
          featureSets: [{ name: set, maxAge: maxAgeMs === undefined ? undefined : duration.ms(maxAgeMs) }],
          into: 'prop',
        });
        const rows = await ctx.store.query(
          `SELECT ${set}__value AS v, epoch_ms(${set}__event_time)::DOUBLE AS t FROM prop`,
        );
        const actual = rows.map((row) => [row['v'], row['t'] === null ? null : Number(row['t']) - ms(0)]);
        expect(actual).toEqual(labelPoints.map((label) => referenceJoin(points, label, maxAgeMs)));
      }),
      { numRuns: 40 },
    );
  });
});
