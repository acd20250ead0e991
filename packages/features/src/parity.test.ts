import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isoWithOffset } from '@rtml/synthetic';
import { offlineOnlineAgree } from './agreement.js';
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
  type Aggregate,
  type Window,
} from './definition.js';
import { isoOrEpochMs } from './event-time.js';
import { featureSet } from './feature-set.js';
import { readBackfillHistory, rowAsOf, runBackfill, type HistoryRow } from './offline.js';
import { createOnlineEngine, type OnlineState } from './online.js';
import { duration, eventTime } from './time.js';

/*
 * Parity: the DuckDB backfill (offline) and the incremental engine (online) are two independent executions of
 * one definition. For random streams, offline-as-of-T (the last history row at or before T) must equal online
 * read(state after applying, in a random arrival order, every event with eventTime <= T, T) at every event
 * time, every expiry point and the points around them. Every stream exercises every feature below, so each
 * feature type sees RUNS * streams-per-run (>= 1,000) streams; streams are batched into one table per run.
 */

const paritySource = source(
  'parity_event',
  z.object({
    eventId: z.string(),
    eventTime: isoOrEpochMs,
    entity: z.string(),
    amount: z.number().nullable(),
    label: z.string().nullable(),
    flag: z.boolean().nullable(),
  }),
);
const stream = entity({ name: 'stream', key: 'entity' });
type ParityEvent = z.output<typeof paritySource.schema>;

const WINDOWS: Record<string, Window> = { w7: sliding(duration.ms(7)), w20: sliding(duration.ms(20)), life: lifetime };

function featuresFor(suffix: string, window: Window): Record<string, Aggregate> {
  return {
    [`count_${suffix}`]: count({ window }),
    [`sum_${suffix}`]: sum('amount', { window }),
    [`sum0_${suffix}`]: sum('amount', { window, default: 0 }),
    [`mean_${suffix}`]: mean('amount', { window }),
    [`min_${suffix}`]: min('amount', { window }),
    [`max_${suffix}`]: max('amount', { window, default: -1 }),
    [`last_amount_${suffix}`]: last('amount', { window }),
    [`last_label_${suffix}`]: last('label', { window, default: 'none' }),
    [`last_flag_${suffix}`]: last('flag', { window }),
    [`distinct_label_${suffix}`]: distinctCount('label', { window }),
    [`distinct_amount_${suffix}`]: distinctCount('amount', { window }),
    [`distinct_flag_${suffix}`]: distinctCount('flag', { window }),
    [`last3_labels_${suffix}`]: lastK('label', 3, { window }),
    [`last2_amounts_${suffix}`]: lastK('amount', 2, { window, default: [] }),
  };
}

const paritySet = featureSet({
  name: 'parity',
  entity: stream,
  source: paritySource,
  features: Object.assign(
    {},
    ...Object.entries(WINDOWS).map(([suffix, window]) => featuresFor(suffix, window)),
  ) as Record<string, Aggregate>,
});
/** Lifetime only: the online engine retains no events for windows here, yet must still count a redelivery once. */
const lifetimeSet = featureSet({
  name: 'parity_lifetime',
  entity: stream,
  source: paritySource,
  features: featuresFor('life', lifetime),
});
const SETS = [paritySet, lifetimeSet].map((set) => ({
  set,
  engine: createOnlineEngine(set),
  table: `${set.name}_history`,
}));
type Checked = (typeof SETS)[number];
const SLIDING_SIZES = [7, 20];
const BASE = Date.UTC(2024, 2, 31, 23, 59, 59, 990); // near a day/month boundary, so offsets change the date part

/* ---------------------------------------------------------------- generators */

interface GeneratedEvent {
  readonly idPrefix: string;
  readonly offsetMs: number;
  /** Time-zone offset in minutes used to write the ISO form; null = send epoch ms online. */
  readonly zoneMinutes: number;
  readonly epochOnline: boolean;
  readonly amount: number | null;
  readonly label: string | null;
  readonly flag: boolean | null;
  /** How many times the event is delivered (a raw dump of a topic with redeliveries): counted once by both paths. */
  readonly copies: number;
}

const amountArb = fc.oneof(
  fc.constant(null),
  fc.integer({ min: -50, max: 50 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0.1, 0.2, 0.3, 1e15, -1e15, 2.5e-7),
);
const eventArb: fc.Arbitrary<GeneratedEvent> = fc.record({
  // Id prefixes include characters above U+FFFF and in U+E000..U+FFFF: tie-breaking must use code-point order.
  idPrefix: fc.constantFrom('a', 'b', 'B', 'é', '\uE000', '😀', 'a b'),
  offsetMs: fc.integer({ min: 0, max: 60 }),
  zoneMinutes: fc.constantFrom(0, 60, -300, 330, 545, -720, 840),
  epochOnline: fc.boolean(),
  amount: amountArb,
  label: fc.oneof(fc.constant(null), fc.constantFrom('x', 'y', 'z', "o'k", 'Ω')),
  flag: fc.oneof(fc.constant(null), fc.boolean()),
  copies: fc.constantFrom(1, 1, 1, 2, 3),
});
const streamArb = fc.record({
  events: fc.array(eventArb, { minLength: 1, maxLength: 14 }),
  arrivalKeys: fc.array(fc.nat(), { minLength: 42, maxLength: 42 }),
});
type Stream = { readonly events: GeneratedEvent[]; readonly arrivalKeys: number[] };

interface RawEvent {
  readonly iso: string;
  readonly online: Record<string, unknown>;
}

function rawEvents(stream: Stream, entity: string): RawEvent[] {
  return stream.events.flatMap((e, index) => {
    const epoch = BASE + e.offsetMs;
    // Zone 0 as 'Z' (toISOString), others as '+hh:mm': both spellings must parse to the same instant.
    const iso = e.zoneMinutes === 0 ? new Date(epoch).toISOString() : isoWithOffset(epoch, e.zoneMinutes);
    const fields = { eventId: `${e.idPrefix}#${index}`, entity, amount: e.amount, label: e.label, flag: e.flag };
    // Copies alternate the online spelling of the time: the same instant either way, so the same event.
    return Array.from({ length: e.copies }, (_, copy) => ({
      iso,
      online: { ...fields, eventTime: e.epochOnline !== (copy % 2 === 1) ? epoch : iso },
    }));
  });
}

/* ---------------------------------------------------------------- offline side */

async function loadEvents(connection: DuckDBConnection, table: string, streams: readonly RawEvent[][]): Promise<void> {
  await connection.run(
    `CREATE OR REPLACE TABLE ${table} ("eventId" VARCHAR, "eventTime" VARCHAR, entity VARCHAR, amount ` +
      `DOUBLE, label VARCHAR, flag BOOLEAN)`,
  );
  const appender = await connection.createAppender(table);
  for (const raw of streams.flat()) {
    const e = raw.online as {
      eventId: string;
      entity: string;
      amount: number | null;
      label: string | null;
      flag: boolean | null;
    };
    appender.appendVarchar(e.eventId);
    appender.appendVarchar(raw.iso); // offline always parses the ISO text itself (DuckDB), online often gets epoch ms
    appender.appendVarchar(e.entity);
    if (e.amount === null) appender.appendNull();
    else appender.appendDouble(e.amount);
    if (e.label === null) appender.appendNull();
    else appender.appendVarchar(e.label);
    if (e.flag === null) appender.appendNull();
    else appender.appendBoolean(e.flag);
    appender.endRow();
  }
  appender.closeSync();
}

/* ---------------------------------------------------------------- comparison */

function checkPoints(events: readonly ParityEvent[]): number[] {
  const points = new Set<number>();
  for (const { eventTime: t } of events) {
    for (const shift of [0, ...SLIDING_SIZES]) for (const delta of [-1, 0, 1]) points.add(t + shift + delta);
  }
  const first = Math.min(...events.map((e) => e.eventTime));
  return [...points].filter((t) => t >= first).sort((a, b) => a - b);
}

function checkStream(
  { set, engine }: Checked,
  entity: string,
  stream: Stream,
  raw: readonly RawEvent[],
  history: readonly HistoryRow[],
): void {
  const parsed = raw.map((r) => {
    const result = engine.parse(r.online);
    if (!result.ok) throw new Error(result.reason);
    return result.event;
  });
  const arrival = parsed
    .map((event, i) => ({ event, key: stream.arrivalKeys[i] ?? 0 }))
    .sort((a, b) => a.key - b.key)
    .map((a) => a.event);
  const distinct = stream.events.length;
  const magnitude = Math.max(1, ...parsed.map((e) => Math.abs(e.amount ?? 0))) * distinct;
  // One online state per distinct event time: built from scratch from the events up to it, in arrival order.
  const states = [...new Set(parsed.map((e) => e.eventTime))]
    .sort((a, b) => a - b)
    .map((t) => ({
      t,
      state: arrival
        .filter((e) => e.eventTime <= t)
        .reduce((s: OnlineState, e) => engine.apply(s, e), engine.initialState()),
    }));
  for (const point of checkPoints(parsed)) {
    const offline = rowAsOf(history, point);
    const online = engine.read(rowAsOf(states, point)!.state, entity, eventTime(point));
    if (offline === undefined) throw new Error(`${entity}: no history row as of ${point}`);
    for (const feature of set.aggregates) {
      const a = offline.values[feature.name] ?? null;
      const b = online.values[feature.name] ?? null;
      if (!offlineOnlineAgree(feature, a, b, { count: distinct, absoluteSum: magnitude })) {
        const t = point - BASE;
        throw new Error(
          `${entity} ${feature.name} as of BASE+${t}: offline ${JSON.stringify(a)} != online ` +
            `${JSON.stringify(b)}\nevents: ${JSON.stringify(raw.map((r) => r.online))}`,
        );
      }
    }
  }
}

/* ---------------------------------------------------------------- the property */

describe('offline/online parity', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  afterAll(() => {
    connection?.closeSync();
    instance?.closeSync();
  });

  it(
    'agrees at every event time, expiry point and the points around them, for >= 1,000 random streams with ' +
      'redeliveries',
    async () => {
      let streamsChecked = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(streamArb, { minLength: 40, maxLength: 48 }), async (streams) => {
          const raw = streams.map((stream, i) => rawEvents(stream, `s${i}`));
          await loadEvents(connection, 'parity_events', raw);
          for (const checked of SETS) {
            await runBackfill(connection, checked.set, { events: 'parity_events', into: checked.table });
            const history = await readBackfillHistory(connection, checked.table);
            streams.forEach((stream, i) => checkStream(checked, `s${i}`, stream, raw[i]!, history.get(`s${i}`) ?? []));
          }
          streamsChecked += streams.length;
        }),
        // No shrinking: each shrink step is a DuckDB batch, and the failure message already names the stream, feature
        // and T.
        { numRuns: 25, endOnFailure: true },
      );
      expect(streamsChecked).toBeGreaterThanOrEqual(1000);
    },
  );
});
