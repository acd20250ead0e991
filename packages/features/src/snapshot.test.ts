import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  count,
  distinctCount,
  entity,
  last,
  lastK,
  lifetime,
  max,
  mean,
  min,
  sliding,
  source,
  sum,
  type Window,
} from './definition.js';
import { isoOrEpochMs } from './event-time.js';
import { featureSet } from './feature-set.js';
import { createOnlineEngine, type OnlineEngine, type OnlineState } from './online.js';
import { duration, eventTime } from './time.js';

/*
 * Recovery is exact: a stream task that snapshots an entity's state (JSON, as the stream processor writes it to
 * Redis), dies, and restores it into a fresh engine (nothing decoded in memory) ends with the same state, byte for
 * byte, and the same reads as one that never stopped, for any events, ids and values.
 */
const events = source(
  'snapshot_event',
  z.object({
    eventId: z.string().min(1),
    eventTime: isoOrEpochMs,
    key: z.string(),
    amount: z.number().nullable(),
    label: z.string().nullable(),
    flag: z.boolean().nullable(),
  }),
);
const keyed = entity({ name: 'key', key: 'key' });
type SnapshotEvent = z.output<typeof events.schema>;

function featuresFor(tag: string, window: Window) {
  return {
    [`n_${tag}`]: count({ window }),
    [`sum_${tag}`]: sum('amount', { window }),
    [`mean_${tag}`]: mean('amount', { window }),
    [`min_${tag}`]: min('amount', { window }),
    [`max_${tag}`]: max('amount', { window }),
    [`last_amount_${tag}`]: last('amount', { window }),
    [`last_label_${tag}`]: last('label', { window }),
    [`last_flag_${tag}`]: last('flag', { window }),
    [`labels_${tag}`]: distinctCount('label', { window }),
    [`flags_${tag}`]: distinctCount('flag', { window }),
    [`recent_labels_${tag}`]: lastK('label', 3, { window }),
    [`recent_amounts_${tag}`]: lastK('amount', 2, { window }),
  };
}

const everything = featureSet({
  name: 'snapshots',
  entity: keyed,
  source: events,
  features: {
    ...featuresFor('w5', sliding(duration.ms(5))),
    ...featuresFor('w40', sliding(duration.ms(40))),
    ...featuresFor('life', lifetime),
  },
});

const T0 = Date.UTC(2026, 0, 1);
/**
 * Ids and strings with what an encoding could trip on: quotes, backslashes, control characters, lone surrogates, emoji.
 */
const text = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
  fc.constantFrom('a', 'b', '"', '\\', '\u0000', '\ud800', '😀', 'x'.repeat(40)),
);
const amount = fc.oneof(
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.constantFrom(-0, 0.1, 12.34, 2 ** 53, 1e308, 5e-324),
);
const eventArb = fc.record({
  eventId: text,
  // Mostly whole milliseconds, as parsed events are; hand-built events may carry any finite time.
  offset: fc.oneof(fc.integer({ min: -20, max: 120 }), fc.double({ min: -20, max: 120, noNaN: true })),
  amount,
  label: fc.oneof(fc.constant(null), text),
  flag: fc.constantFrom(null, true, false),
});
const step = fc.oneof(
  { weight: 6, arbitrary: eventArb.map((event) => ({ kind: 'apply' as const, event })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'redeliver' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 30 }).map((lateness) => ({ kind: 'compact' as const, lateness })) },
);

type Run = { engine: OnlineEngine<SnapshotEvent>; state: OnlineState };

describe('state snapshots', () => {
  it('restore exactly: a restarted engine ends with the same state and reads as one that never stopped', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const steady: Run = { engine: createOnlineEngine(everything), state: '' };
        steady.state = steady.engine.initialState();
        const restarted: Run = { engine: createOnlineEngine(everything), state: steady.state };
        const applied: SnapshotEvent[] = [];
        let streamTime = -Infinity;
        let watermark = -Infinity;
        for (const s of steps) {
          if (s.kind === 'restart') {
            restarted.engine = createOnlineEngine(everything);
            restarted.state = JSON.parse(JSON.stringify(restarted.state)) as OnlineState;
            continue;
          }
          if (s.kind === 'compact') {
            if (streamTime === -Infinity) continue;
            watermark = Math.max(watermark, streamTime - s.lateness);
            for (const run of [steady, restarted]) run.state = run.engine.compact(run.state, eventTime(watermark));
            continue;
          }
          const event: SnapshotEvent | undefined =
            s.kind === 'redeliver'
              ? applied[applied.length - 1]
              : {
                  eventId: s.event.eventId,
                  eventTime: eventTime(T0 + s.event.offset),
                  key: 'k',
                  amount: s.event.amount,
                  label: s.event.label,
                  flag: s.event.flag,
                };
          // The stream processor refuses events older than the watermark (dead letters): they never reach apply.
          if (event === undefined || event.eventTime < watermark) continue;
          applied.push(event);
          streamTime = Math.max(streamTime, event.eventTime);
          for (const run of [steady, restarted]) run.state = run.engine.apply(run.state, event);
        }
        expect(restarted.state).toBe(steady.state);
        const fresh = createOnlineEngine(everything);
        for (const asOf of [streamTime, streamTime + 3, streamTime + 39]
          .filter(Number.isFinite)
          .map((t) => eventTime(t))) {
          const expected = steady.engine.read(steady.state, 'k', asOf);
          expect(fresh.read(JSON.parse(JSON.stringify(restarted.state)) as OnlineState, 'k', asOf)).toEqual(expected);
          expect(fresh.nextChange(restarted.state, asOf)).toBe(steady.engine.nextChange(steady.state, asOf));
        }
      }),
      { numRuns: 300 },
    );
  });
});
