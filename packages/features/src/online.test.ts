import { describe, expect, it } from 'vitest';
import { count, last, lastK, sliding, sum } from './definition.js';
import { transactions, userTransactionFeatures, type TransactionEvent } from './example.js';
import { featureSet } from './feature-set.js';
import { createOnlineEngine, type OnlineEngine, type OnlineState } from './online.js';
import { duration, eventTime } from './time.js';

const HOUR = duration.hours(1);
const t0 = Date.UTC(2024, 0, 1);

function txn(id: string, offsetMs: number, amount: number | null, merchantId = 'm1'): TransactionEvent {
  return { eventId: id, eventTime: eventTime(t0 + offsetMs), userId: 'u1', amount, merchantId };
}

function applyAll(engine: OnlineEngine<TransactionEvent>, events: readonly TransactionEvent[]): OnlineState {
  return events.reduce((state, event) => engine.apply(state, event), engine.initialState());
}

const hourly = featureSet({
  name: 'hourly',
  entity: 'user',
  source: transactions,
  features: {
    n_1h: count({ window: sliding(HOUR) }),
    sum_1h: sum('amount', { window: sliding(HOUR) }),
    sum_1h_or_zero: sum('amount', { window: sliding(HOUR), default: 0 }),
    last_amount: last('amount'),
    last_2_merchants_1h: lastK('merchantId', 2, { window: sliding(HOUR) }),
  },
});

describe('online engine', () => {
  const engine = createOnlineEngine(hourly);

  it('counts events in (T - window, T]: the start is exclusive, the end inclusive', () => {
    const state = applyAll(engine, [txn('a', 0, 1)]);
    expect(engine.read(state, 'u1', eventTime(t0 - 1)).values.n_1h).toBe(0);
    expect(engine.read(state, 'u1', eventTime(t0)).values.n_1h).toBe(1);
    expect(engine.read(state, 'u1', eventTime(t0 + HOUR - 1)).values.n_1h).toBe(1);
    expect(engine.read(state, 'u1', eventTime(t0 + HOUR)).values.n_1h).toBe(0);
  });

  it('keeps null (missing) apart from the default, and skips null values', () => {
    const onlyNull = applyAll(engine, [txn('a', 0, null)]);
    const values = engine.read(onlyNull, 'u1', eventTime(t0)).values;
    expect(values).toMatchObject({ n_1h: 1, sum_1h: null, sum_1h_or_zero: 0, last_amount: null });
    const withValue = applyAll(engine, [txn('a', 0, 5), txn('b', 1, null)]);
    expect(engine.read(withValue, 'u1', eventTime(t0 + 1)).values).toMatchObject({ n_1h: 2, sum_1h: 5, last_amount: 5 });
  });

  it('breaks event-time ties by eventId, whatever the arrival order', () => {
    const events = [txn('b', 0, 2, 'mb'), txn('a', 0, 1, 'ma'), txn('c', 0, 3, 'mc')];
    for (const order of [events, [...events].reverse()]) {
      const values = engine.read(applyAll(engine, order), 'u1', eventTime(t0)).values;
      expect(values.last_amount).toBe(3);
      expect(values.last_2_merchants_1h).toEqual(['mc', 'mb']);
    }
  });

  it('handles late events exactly and ignores a redelivered one', () => {
    const state = applyAll(engine, [txn('a', 10, 1), txn('c', 30, 3), txn('b', 20, 2), txn('b', 20, 2)]);
    expect(engine.read(state, 'u1', eventTime(t0 + 25)).values).toMatchObject({ n_1h: 2, sum_1h: 3 });
    expect(engine.read(state, 'u1', eventTime(t0 + 30)).values).toMatchObject({ n_1h: 3, sum_1h: 6, last_amount: 3 });
  });

  it('counts a redelivered event once in a lifetime-only set too, until compact says it can no longer arrive', () => {
    const lifetimeOnly = createOnlineEngine(featureSet({ name: 'totals', entity: 'user', source: transactions, features: { n: count(), total: sum('amount'), recent: lastK('amount', 3) } }));
    const state = applyAll(lifetimeOnly, [txn('a', 0, 1), txn('b', 10, 2), txn('a', 0, 1), txn('b', 10, 2), txn('b', 10, 2)]);
    expect(lifetimeOnly.read(state, 'u1', eventTime(t0 + 10)).values).toEqual({ n: 2, total: 3, recent: [2, 1] });
    // A watermark at b's time: a (older) cannot arrive any more and is forgotten, b can and is still recognised.
    lifetimeOnly.compact(state, eventTime(t0 + 10));
    expect(state.refs).toEqual(['b']);
    lifetimeOnly.apply(state, txn('b', 10, 2));
    expect(lifetimeOnly.read(state, 'u1', eventTime(t0 + 10)).values).toEqual({ n: 2, total: 3, recent: [2, 1] });
  });

  it('refuses NaN and Infinity in an event built by hand (parse never lets them through), for every aggregation alike', () => {
    const lifetimeOnly = createOnlineEngine(featureSet({ name: 'totals', entity: 'user', source: transactions, features: { recent: lastK('amount', 3) } }));
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(() => engine.apply(engine.initialState(), txn('a', 0, bad))).toThrow(/event "a": amount must be a finite number or null, got/);
      expect(() => lifetimeOnly.apply(lifetimeOnly.initialState(), txn('a', 0, bad))).toThrow(/amount must be a finite number or null/);
    }
    expect(engine.parse({ eventId: 'a', eventTime: t0, userId: 'u1', amount: JSON.parse('1e999') as number, merchantId: 'm' })).toMatchObject({ ok: false, reason: expect.stringMatching(/amount: .*Infinity/) });
  });

  it('reports the next expiry for event-time timers and compacts what can no longer matter', () => {
    const state = applyAll(engine, [txn('a', 0, 1), txn('b', 100, 2)]);
    expect(engine.nextChange(state, eventTime(t0))).toBe(t0 + HOUR);
    expect(engine.nextChange(state, eventTime(t0 + HOUR))).toBe(t0 + 100 + HOUR);
    expect(engine.nextChange(state, eventTime(t0 + 100 + HOUR))).toBeUndefined();
    engine.compact(state, eventTime(t0 + HOUR));
    expect(state).toMatchObject({ nums: [t0 + 100, 2], refs: ['b', 'm1'] });
    expect(engine.read(state, 'u1', eventTime(t0 + HOUR)).values.n_1h).toBe(1);
    expect(engine.isEmpty(state)).toBe(false);
  });

  it('compacts small and large states (exact-size copy or in-place trim) without changing any later read', () => {
    // 100 events a minute apart, every third amount null: 200 numbers retained, above the exact-size threshold.
    const events = Array.from({ length: 100 }, (_, i) => txn(`e${i}`, i * 60_000, i % 3 === 0 ? null : i, `m${i % 7}`));
    for (const watermark of [30, 70, 99, 160].map((minute) => eventTime(t0 + minute * 60_000))) {
      const compacted = engine.compact(JSON.parse(JSON.stringify(applyAll(engine, events))) as OnlineState, watermark);
      const full = applyAll(engine, events);
      for (const asOf of [0, 1, 59, 60, 61, 100].map((minutes) => eventTime(watermark + minutes * 60_000))) {
        expect(engine.read(compacted, 'u1', asOf)).toEqual(engine.read(full, 'u1', asOf));
      }
      expect(compacted.nums.length / 2).toBe(events.filter((e) => e.eventTime > watermark - HOUR).length);
    }
  });

  it('keeps state as plain JSON: a checkpoint round trip reads the same, null values included', () => {
    const state = applyAll(engine, [txn('a', 0, 1.5, 'x'), txn('b', 5, 2, 'y'), txn('c', 7, null, 'z')]);
    const restored = JSON.parse(JSON.stringify(state)) as OnlineState;
    expect(engine.read(restored, 'u1', eventTime(t0 + 7))).toEqual(engine.read(state, 'u1', eventTime(t0 + 7)));
    engine.apply(restored, txn('d', 9, null, 'w'));
    engine.apply(state, txn('d', 9, null, 'w'));
    expect(engine.read(restored, 'u1', eventTime(t0 + 9))).toEqual(engine.read(state, 'u1', eventTime(t0 + 9)));
  });

  it('reads version-1 snapshots (one array per event) and rejects unknown layouts with a clear error', () => {
    const full = createOnlineEngine(userTransactionFeatures);
    const events = [txn('a', 0, 1.5, 'x'), txn('b', 5, null, 'y'), txn('c', 9, 4, 'x')];
    // As the version-1 engine wrote it for these events (sliding fields amount, merchantId; lastK as [t, id, v] entries).
    const v1 = {
      events: events.map((e) => [e.eventTime, e.eventId, e.amount, e.merchantId]),
      lifetime: {
        amount_mean_lifetime: [5.5, 2],
        amount_min_lifetime: 1.5,
        last_merchants: [...events].reverse().map((e) => [e.eventTime, e.eventId, e.merchantId]),
        last_amount: [t0 + 9, 'c', 4],
      },
    } as unknown as OnlineState;
    const expected = applyAll(full, events);
    expect(full.read(v1, 'u1', eventTime(t0 + 9))).toEqual(full.read(expected, 'u1', eventTime(t0 + 9)));
    expect(v1).toEqual(expected);
    // Before any non-null value, version 1 held `last` as null.
    const v1Fresh = { events: [], lifetime: { amount_mean_lifetime: [0, 0], amount_min_lifetime: null, last_merchants: [], last_amount: null } } as unknown as OnlineState;
    expect(full.isEmpty(v1Fresh)).toBe(true);
    expect(full.read(full.apply(v1Fresh, events[0]!), 'u1', eventTime(t0)).values).toMatchObject({ last_amount: 1.5, last_merchants: ['x'] });
    const future = { ...expected, v: 3 } as unknown as OnlineState;
    expect(() => full.read(future, 'u1', eventTime(t0))).toThrow(/unsupported online state \(layout version 3; this engine reads versions 1 and 2\)/);
  });

  it('parses raw events without throwing and names what is wrong', () => {
    const full = createOnlineEngine(userTransactionFeatures);
    const ok = full.parse({ eventId: 'e1', eventTime: '2024-01-01T02:00:00+02:00', userId: 'u1', amount: 3, merchantId: 'm' });
    expect(ok).toEqual({ ok: true, event: { eventId: 'e1', eventTime: t0, userId: 'u1', amount: 3, merchantId: 'm' } });
    const bad = full.parse({ eventId: 'e1', eventTime: 'noon', userId: 'u1', merchantId: 'm' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toMatch(/eventTime: expected integer epoch milliseconds or ISO-8601.*amount: .*received undefined/s);
    expect(full.parse(null).ok).toBe(false);
  });

  it('serves aggregates + request features + transforms', () => {
    const full = createOnlineEngine(userTransactionFeatures);
    const state = applyAll(full, [txn('a', 0, 10)]);
    const request = txn('r', 1, Math.E - 1);
    const input = full.serving(full.read(state, full.entityKey(request), eventTime(t0 + 1)), request);
    expect(input.amount_log).toBeCloseTo(1, 12);
    expect(input.amount_sum_24h).toBe(10);
    expect(input.amount_vs_24h_sum).toBeCloseTo(1 / Math.log1p(10), 12);
  });
});
