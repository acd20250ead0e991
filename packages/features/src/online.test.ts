import { describe, expect, it } from 'vitest';
import { count, last, lastK, sliding, sum } from './definition.js';
import { transactions, user, userTransactionFeatures, type TransactionEvent } from './example.js';
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
  entity: user,
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
    expect(engine.read(withValue, 'u1', eventTime(t0 + 1)).values).toMatchObject({
      n_1h: 2,
      sum_1h: 5,
      last_amount: 5,
    });
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
    const lifetimeOnly = createOnlineEngine(
      featureSet({
        name: 'totals',
        entity: user,
        source: transactions,
        features: { n: count(), total: sum('amount'), recent: lastK('amount', 3) },
      }),
    );
    const state = applyAll(lifetimeOnly, [
      txn('a', 0, 1),
      txn('b', 10, 2),
      txn('a', 0, 1),
      txn('b', 10, 2),
      txn('b', 10, 2),
    ]);
    expect(lifetimeOnly.read(state, 'u1', eventTime(t0 + 10)).values).toEqual({ n: 2, total: 3, recent: [2, 1] });
    // A watermark at b's time: a (older) cannot arrive any more and is forgotten, b can and is still recognised.
    const compacted = lifetimeOnly.compact(state, eventTime(t0 + 10));
    expect(lifetimeOnly.apply(compacted, txn('b', 10, 2))).toBe(compacted);
    expect(lifetimeOnly.read(compacted, 'u1', eventTime(t0 + 10)).values).toEqual({ n: 2, total: 3, recent: [2, 1] });
    expect(lifetimeOnly.read(lifetimeOnly.apply(compacted, txn('a', 0, 1)), 'u1', eventTime(t0 + 10)).values.n).toBe(3);
  });

  it(
    'refuses NaN and Infinity in an event built by hand (parse never lets them through), for every ' +
      'aggregation alike',
    () => {
      const lifetimeOnly = createOnlineEngine(
        featureSet({ name: 'totals', entity: user, source: transactions, features: { recent: lastK('amount', 3) } }),
      );
      for (const bad of [NaN, Infinity, -Infinity]) {
        expect(() => engine.apply(engine.initialState(), txn('a', 0, bad))).toThrow(
          /event "a": amount must be a finite number or null, got/,
        );
        expect(() => lifetimeOnly.apply(lifetimeOnly.initialState(), txn('a', 0, bad))).toThrow(
          /amount must be a finite number or null/,
        );
      }
      expect(
        engine.parse({
          eventId: 'a',
          eventTime: t0,
          userId: 'u1',
          amount: JSON.parse('1e999') as number,
          merchantId: 'm',
        }),
      ).toMatchObject({ ok: false, reason: expect.stringMatching(/amount: .*Infinity/) });
    },
  );

  it('reports the next expiry for event-time timers and compacts what can no longer matter', () => {
    const state = applyAll(engine, [txn('a', 0, 1), txn('b', 100, 2)]);
    expect(engine.nextChange(state, eventTime(t0))).toBe(t0 + HOUR);
    expect(engine.nextChange(state, eventTime(t0 + HOUR))).toBe(t0 + 100 + HOUR);
    expect(engine.nextChange(state, eventTime(t0 + 100 + HOUR))).toBeUndefined();
    const compacted = engine.compact(state, eventTime(t0 + HOUR));
    expect(compacted.length).toBeLessThan(state.length);
    expect(engine.nextChange(compacted, eventTime(t0))).toBe(t0 + 100 + HOUR);
    expect(engine.read(compacted, 'u1', eventTime(t0 + HOUR)).values.n_1h).toBe(1);
    expect(engine.isEmpty(compacted)).toBe(false);
    expect(engine.isEmpty(engine.initialState())).toBe(true);
  });

  it('compacts small and large states without changing any later read', () => {
    // 100 events a minute apart, every third amount null: 200 numbers retained, above the exact-size threshold.
    const events = Array.from({ length: 100 }, (_, i) => txn(`e${i}`, i * 60_000, i % 3 === 0 ? null : i, `m${i % 7}`));
    for (const watermark of [30, 70, 99, 160].map((minute) => eventTime(t0 + minute * 60_000))) {
      const compacted = engine.compact(JSON.parse(JSON.stringify(applyAll(engine, events))) as OnlineState, watermark);
      const full = applyAll(engine, events);
      for (const asOf of [0, 1, 59, 60, 61, 100].map((minutes) => eventTime(watermark + minutes * 60_000))) {
        expect(engine.read(compacted, 'u1', asOf)).toEqual(engine.read(full, 'u1', asOf));
      }
      // What it keeps is what a state of the events after (watermark - 1 h) keeps, apart from the lifetime `last`.
      const kept = events.filter((e) => e.eventTime > watermark - HOUR);
      expect(compacted.length).toBeLessThanOrEqual(full.length);
      expect(engine.nextChange(compacted, eventTime(watermark))).toBe(
        engine.nextChange(applyAll(engine, kept), eventTime(watermark)),
      );
    }
  });

  it('keeps state as one string, its own JSON snapshot: a round trip reads the same, null values included', () => {
    const state = applyAll(engine, [txn('a', 0, 1.5, 'x'), txn('b', 5, 2, 'y'), txn('c', 7, null, 'z')]);
    const snapshot = JSON.stringify(state);
    expect(snapshot).toBe(`"${state}"`);
    // A fresh engine has nothing decoded: it reads the snapshot alone.
    const restarted = createOnlineEngine(hourly);
    const restored = JSON.parse(snapshot) as OnlineState;
    expect(restarted.read(restored, 'u1', eventTime(t0 + 7))).toEqual(engine.read(state, 'u1', eventTime(t0 + 7)));
    const next = engine.apply(state, txn('d', 9, null, 'w'));
    expect(restarted.apply(restored, txn('d', 9, null, 'w'))).toBe(next);
    expect(engine.read(state, 'u1', eventTime(t0 + 9)).values.n_1h).toBe(3); // apply left the state passed unchanged
  });

  it('reads snapshots of the previous layout (version 2, JSON) and rejects others with a clear error', () => {
    const full = createOnlineEngine(userTransactionFeatures);
    const events = [txn('a', 0, 1.5, 'x'), txn('b', 5, null, 'y'), txn('c', 9, 4, 'x')];
    // As the version-2 engine wrote it for these events (a null amount is null in JSON).
    const v2 = {
      v: 2,
      nums: events.flatMap((e) => [e.eventTime, e.amount]),
      refs: events.flatMap((e) => [e.eventId, e.merchantId]),
      lifetime: {
        amount_mean_lifetime: [5.5, 2],
        amount_min_lifetime: 1.5,
        last_merchants: [...events].reverse().flatMap((e) => [e.eventTime, e.eventId, e.merchantId]),
        last_amount: [t0 + 9, 'c', 4],
      },
    } as unknown as OnlineState;
    const expected = applyAll(full, events);
    expect(full.read(v2, 'u1', eventTime(t0 + 9))).toEqual(full.read(expected, 'u1', eventTime(t0 + 9)));
    expect(full.compact(v2, eventTime(t0))).toBe(expected);
    const v1 = {
      events: [],
      lifetime: { amount_mean_lifetime: [0, 0], amount_min_lifetime: null, last_merchants: [], last_amount: null },
    } as unknown as OnlineState;
    expect(() => full.read(v1, 'u1', eventTime(t0))).toThrow(
      /unsupported online state \(layout version unknown; this engine reads versions 2 and 3\)/,
    );
    expect(() => full.read({ v: 7 } as unknown as OnlineState, 'u1', eventTime(t0))).toThrow(/layout version 7;/);
    expect(() => full.read(`${expected}x`, 'u1', eventTime(t0))).toThrow(
      /malformed online state at character \d+ \(text continues after the last row\)/,
    );
  });

  it('parses raw events without throwing and names what is wrong', () => {
    const full = createOnlineEngine(userTransactionFeatures);
    const ok = full.parse({
      eventId: 'e1',
      eventTime: '2024-01-01T02:00:00+02:00',
      userId: 'u1',
      amount: 3,
      merchantId: 'm',
    });
    expect(ok).toEqual({ ok: true, event: { eventId: 'e1', eventTime: t0, userId: 'u1', amount: 3, merchantId: 'm' } });
    const bad = full.parse({ eventId: 'e1', eventTime: 'noon', userId: 'u1', merchantId: 'm' });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.reason).toMatch(
        /eventTime: expected integer epoch milliseconds or ISO-8601.*amount: .*received undefined/s,
      );
    expect(full.parse(null).ok).toBe(false);
  });

  it('serves aggregates + request features + transforms', () => {
    const full = createOnlineEngine(userTransactionFeatures);
    const state = applyAll(full, [txn('a', 0, 10)]);
    const request = txn('r', 1, Math.E - 1);
    const input = full.serving(full.read(state, full.entityIdOf(request), eventTime(t0 + 1)), request);
    expect(input.amount_log).toBeCloseTo(1, 12);
    expect(input.amount_sum_24h).toBe(10);
    expect(input.amount_vs_24h_sum).toBeCloseTo(1 / Math.log1p(10), 12);
  });
});
