import type { DurationMs, EventTime, FeatureValues } from '@rtml/features';
import type { KeyedProcessor, ParseResult } from './processor.js';

/** One input stream of a join: its topic and how to read its events. */
export interface JoinSide<T> {
  readonly topic: string;
  parse(raw: unknown): ParseResult<T>;
  key(event: T): string;
  time(event: T): EventTime;
  /** Unique id: orders events with equal event times deterministically. */
  id(event: T): string;
}

export interface TemporalJoinOptions<L, R> {
  /** Feature set name of the joined vectors. */
  readonly name: string;
  /** The driving stream (e.g. transactions). */
  readonly left: JoinSide<L>;
  /** The stream looked up (e.g. profile updates). */
  readonly right: JoinSide<R>;
  /** A right event joins a left one when it is at most this much older (and not newer). */
  readonly within: DurationMs;
  /** Values of the joined vector; `right` is undefined when no right event falls in the bound. */
  combine(left: L | undefined, right: R | undefined): FeatureValues;
}

export type JoinEvent<L, R> =
  { readonly side: 'left'; readonly event: L } | { readonly side: 'right'; readonly event: R };

/** Retained events as [time, id, event], sorted by (time, id). */
type Retained<T> = readonly [number, string, T];

export interface JoinState<L, R> {
  readonly lefts: readonly Retained<L>[];
  readonly rights: readonly Retained<R>[];
}

const byTimeThenId = <T>(a: Retained<T>, b: Retained<T>) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

function insertSorted<T>(list: readonly Retained<T>[], item: Retained<T>): Retained<T>[] {
  return [...list, item].sort(byTimeThenId);
}

/** Last retained entry at or before `time` (and at or after `from`, if given). */
function latestAtOrBefore<T>(list: readonly Retained<T>[], time: number, from = -Infinity): Retained<T> | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const entry = list[i]!;
    if (entry[0] <= time) return entry[0] >= from ? entry : undefined;
  }
  return undefined;
}

/**
 * Stream-stream temporal join by key, in event time: the latest left event as of the read time, joined
 * with the latest right event of the same key in [left time - within, left time]. Reads recompute from
 * retained events, so arrival order within the allowed lateness does not matter (a late profile update
 * still changes the match of an earlier-arrived transaction). Inputs must be co-partitioned.
 */
export function temporalJoin<L, R>(
  options: TemporalJoinOptions<L, R>,
): KeyedProcessor<JoinState<L, R>, JoinEvent<L, R>> {
  const { left, right, within } = options;
  if (left.topic === right.topic)
    throw new Error(`temporalJoin "${options.name}": left and right need different topics`);
  const joinedAt = (state: JoinState<L, R>, asOf: number) => {
    const l = latestAtOrBefore(state.lefts, asOf);
    const r = l === undefined ? undefined : latestAtOrBefore(state.rights, l[0], l[0] - within);
    return { left: l?.[2], right: r?.[2] };
  };
  return {
    name: options.name,
    parse(raw, topic): ParseResult<JoinEvent<L, R>> {
      const side = topic === left.topic ? 'left' : topic === right.topic ? 'right' : undefined;
      if (side === undefined)
        return {
          ok: false,
          reason: `topic "${topic}" is neither side of join "${options.name}" (${left.topic}, ${right.topic})`,
        };
      const parsed = side === 'left' ? left.parse(raw) : right.parse(raw);
      if (!parsed.ok) return parsed;
      return {
        ok: true,
        event: side === 'left' ? { side, event: parsed.event as L } : { side, event: parsed.event as R },
      };
    },
    entityIdOf: (e) => (e.side === 'left' ? left.key(e.event) : right.key(e.event)),
    eventTimeOf: (e) => (e.side === 'left' ? left.time(e.event) : right.time(e.event)),
    initialState: () => ({ lefts: [], rights: [] }),
    apply: (state, e) =>
      e.side === 'left'
        ? { ...state, lefts: insertSorted(state.lefts, [left.time(e.event), left.id(e.event), e.event]) }
        : { ...state, rights: insertSorted(state.rights, [right.time(e.event), right.id(e.event), e.event]) },
    read(state, entityId, asOf) {
      const { left: l, right: r } = joinedAt(state, asOf);
      return { featureSet: options.name, entityId, eventTime: asOf, values: options.combine(l, r) };
    },
    // Reads only change when events arrive: the match of a left event is fixed by its own time.
    nextChange: () => undefined,
    compact(state, watermark) {
      // Keep the latest left at or before the watermark (reads at >= watermark may still return it) and
      // everything after; keep the rights any of those lefts, or a left arriving at >= watermark, can match.
      const kept = latestAtOrBefore(state.lefts, watermark);
      const lefts = state.lefts.filter((entry) => entry[0] > watermark || entry === kept);
      const horizon = Math.min(kept?.[0] ?? watermark, watermark) - within;
      return { lefts, rights: state.rights.filter((entry) => entry[0] >= horizon) };
    },
  };
}
