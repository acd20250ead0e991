import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventTime } from '@rtml/features';
import { at, openTempStore } from './test-support.js';

let ctx: Awaited<ReturnType<typeof openTempStore>>;
beforeEach(async () => {
  ctx = await openTempStore();
  await ctx.store.appendHistory('spend', {
    rows: [
      { entityId: 'u1', eventTime: at(0), values: { total: 5, tier: 'a' } },
      { entityId: 'u1', eventTime: at(10), values: { total: 50, tier: null } },
      { entityId: 'u2', eventTime: at(5), values: { total: 7, tier: 'b' } },
    ],
  });
});
afterEach(async () => ctx.cleanup());

describe('time travel', () => {
  it('as of T uses the last row with event_time <= T, to the millisecond', async () => {
    expect(await ctx.store.valueAsOf('spend', 'u1', 'total', eventTime(at(0) - 1))).toBeNull();
    expect(await ctx.store.valueAsOf('spend', 'u1', 'total', at(0))).toBe(5);
    expect(await ctx.store.valueAsOf('spend', 'u1', 'total', eventTime(at(10) - 1))).toBe(5);
    expect(await ctx.store.valueAsOf('spend', 'u1', 'total', at(10))).toBe(50);
    expect(await ctx.store.vectorAsOf('spend', 'u1', at(10))).toEqual({
      featureSet: 'spend',
      entityId: 'u1',
      eventTime: at(10),
      values: { total: 50, tier: null },
    });
    expect(await ctx.store.vectorAsOf('spend', 'nobody', at(100))).toBeNull();
  });

  it('answers for many entities at one instant, omitting those without history yet', async () => {
    const vectors = await ctx.store.vectorsAsOf('spend', ['u2', 'u1', 'u3'], at(4));
    expect(vectors.map((v) => [v.entityId, v.values['total']])).toEqual([['u1', 5]]);
    const later = await ctx.store.vectorsAsOf('spend', ['u2', 'u1'], at(5));
    expect(later.map((v) => [v.entityId, v.eventTime, v.values['total']])).toEqual([
      ['u1', at(0), 5],
      ['u2', at(5), 7],
    ]);
  });

  it('streams the latest vector per entity for materialization, while the store stays usable', async () => {
    const seen = [];
    for await (const vector of ctx.store.latestVectors('spend')) {
      seen.push(vector);
      await ctx.store.valueAsOf('spend', 'u1', 'total', at(0)); // a query mid-iteration must not disturb the stream
    }
    expect(seen).toEqual([
      { featureSet: 'spend', entityId: 'u1', eventTime: at(10), values: { total: 50, tier: null } },
      { featureSet: 'spend', entityId: 'u2', eventTime: at(5), values: { total: 7, tier: 'b' } },
    ]);
  });

  it('rejects unknown features, empty ids and fractional times', async () => {
    await expect(ctx.store.valueAsOf('spend', 'u1', 'nope', at(0))).rejects.toThrow(/has no feature nope/);
    await expect(ctx.store.vectorAsOf('spend', '', at(0))).rejects.toThrow(/non-empty string/);
    await expect(ctx.store.vectorAsOf('spend', 'u1', eventTime(0.5))).rejects.toThrow(
      /integer number of epoch milliseconds/,
    );
  });
});
