import { activityEvent, type RawActivityEvent } from './events.js';
import { MinHeap, PendingEvents, Random } from '@rtml/synthetic';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export interface GeneratorConfig {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  readonly categories: number;
  readonly hours: number;
  /** Epoch ms of the first simulated instant (midnight UTC). */
  readonly start: number;
  /** Mean sessions per user per day (each user draws their own rate around it). */
  readonly sessionsPerUserDay: number;
  /** Candidates shown per slate: one `view` event each, all at the slate's time. */
  readonly slateSize: number;
}

/**
 * The ground truth, in one place. A click's log-odds:
 *   BASE + user propensity + session engagement + AFFINITY (favourite category) + POPULARITY * item trend
 *   + item quality + HOUR * cos(hour - 20h)
 *   + ALREADY_CLICKED (the user clicked this item before)
 * Session engagement makes recent clicks predictive; the trend drifts hourly (AR(1)), so only recent item
 * windows track it; favourite categories make "category in the user's last clicks" predictive.
 */
const TRUTH = {
  base: -3.1,
  affinity: 1.3,
  popularity: 0.7,
  /** Already clicked that item before: seen it, less likely to click again. The leaky join flips this sign. */
  alreadyClicked: -1.5,
  hour: 0.3,
  engagementSd: 0.9,
  userSd: 0.5,
  qualitySd: 0.4,
  trendPersistence: 0.9,
  trendShockSd: 0.45,
  favouriteCategories: 2,
  clickDelayMeanMs: 2 * MINUTE,
  purchaseDelayMeanMs: 4 * MINUTE,
  purchaseBase: -1.2,
  slateGapMeanMs: 90 * SECOND,
  slatesPerSessionMean: 4,
} as const;

export const SIZES = {
  tiny: { users: 120, items: 80, categories: 12, hours: 20, sessionsPerUserDay: 4, slateSize: 6 },
  small: { users: 600, items: 300, categories: 16, hours: 30, sessionsPerUserDay: 4, slateSize: 8 },
  medium: { users: 2_000, items: 800, categories: 20, hours: 36, sessionsPerUserDay: 4, slateSize: 8 },
  large: { users: 10_000, items: 4_000, categories: 30, hours: 72, sessionsPerUserDay: 3, slateSize: 8 },
} as const satisfies Record<string, Omit<GeneratorConfig, 'seed' | 'start'>>;
export type SizeName = keyof typeof SIZES;

export function configFor(size: SizeName, seed = 7, start = Date.UTC(2024, 2, 1)): GeneratorConfig {
  return { ...SIZES[size], seed, start };
}

interface Item {
  readonly id: string;
  readonly category: string;
  readonly quality: number;
}

interface User {
  readonly id: string;
  readonly propensity: number;
  readonly favourites: ReadonlySet<string>;
  /** Sessions per ms at the busiest hour (thinned by the hour-of-day curve). */
  readonly peakRate: number;
  /** Item id -> time of the user's first click on it (generation state, filled as sessions are simulated). */
  readonly clicked: Map<string, number>;
}

/** The simulated world: who exists, what they like, and every item's hourly trend. */
export interface World {
  readonly config: GeneratorConfig;
  readonly items: readonly Item[];
  readonly users: readonly User[];
  /** trend[hour * items + i]: log-popularity of item i during that hour. */
  readonly trend: Float64Array;
  /** Per hour, cumulative exp(trend): slates show trending items more often. */
  readonly exposure: readonly Float64Array[];
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
/** Evening peak: 1 at 20:00 UTC, -1 at 08:00. */
const hourCurve = (at: number) => Math.cos((2 * Math.PI * (new Date(at).getUTCHours() - 20)) / 24);

export function createWorld(config: GeneratorConfig): World {
  const random = new Random(config.seed);
  const categories = Array.from({ length: config.categories }, (_, c) => `cat${c}`);
  const items = Array.from({ length: config.items }, (_, i) => ({
    id: `item${i}`,
    category: categories[i % categories.length]!,
    quality: random.normal(0, TRUTH.qualitySd),
  }));
  const users = Array.from({ length: config.users }, (_, u) => {
    const favourites = new Set<string>();
    while (favourites.size < Math.min(TRUTH.favouriteCategories, categories.length))
      favourites.add(random.pick(categories));
    const perDay = config.sessionsPerUserDay * Math.exp(random.normal(0, 0.4));
    return {
      id: `user${u}`,
      propensity: random.normal(0, TRUTH.userSd),
      favourites,
      peakRate: perDay / (24 * HOUR) / 0.55,
      clicked: new Map<string, number>(),
    };
  });
  const trend = new Float64Array((config.hours + 1) * config.items);
  const stationarySd = TRUTH.trendShockSd / Math.sqrt(1 - TRUTH.trendPersistence ** 2);
  for (let i = 0; i < config.items; i++) trend[i] = random.normal(0, stationarySd);
  for (let h = 1; h <= config.hours; h++) {
    for (let i = 0; i < config.items; i++)
      trend[h * config.items + i] =
        TRUTH.trendPersistence * trend[(h - 1) * config.items + i]! + random.normal(0, TRUTH.trendShockSd);
  }
  const exposure = Array.from({ length: config.hours + 1 }, (_, h) => {
    const cumulative = new Float64Array(config.items);
    let total = 0;
    for (let i = 0; i < config.items; i++) cumulative[i] = total += Math.exp(trend[h * config.items + i]!);
    return cumulative;
  });
  return { config, items, users, trend, exposure };
}

/**
 * Every event of the simulation in event-time order, generated lazily: memory holds the world and the events
 * of sessions in progress, never the whole history, so sizes of millions of events stream.
 */
export function* generateEvents(config: GeneratorConfig): Generator<RawActivityEvent> {
  const world = createWorld(config);
  const random = new Random(config.seed ^ 0x5eed);
  const end = config.start + config.hours * HOUR;
  const sessions = new MinHeap<{ user: User; at: number }>((a, b) => a.at - b.at);
  const pending = new PendingEvents<RawActivityEvent>((e) => e.eventTime);
  const emit = (event: RawActivityEvent) => pending.push(event);
  for (const user of world.users) sessions.push({ user, at: nextSessionStart(random, user, config.start) });
  for (let next = sessions.pop(); next !== undefined && next.at < end; next = sessions.pop()) {
    // Everything generated from now on happens at or after next.at: earlier pending events are final.
    yield* pending.drainBefore(next.at);
    simulateSession(world, random, next.user, next.at, emit);
    sessions.push({ user: next.user, at: nextSessionStart(random, next.user, next.at) });
  }
  yield* pending.drainBefore(end);
}

/** Poisson arrivals thinned by the hour-of-day curve: more sessions in the evening. */
function nextSessionStart(random: Random, user: User, after: number): number {
  let at = after;
  do at += random.exponential(1 / user.peakRate);
  while (!random.chance(0.55 + 0.45 * hourCurve(at)));
  return Math.round(at);
}

function simulateSession(
  world: World,
  random: Random,
  user: User,
  start: number,
  emit: (event: RawActivityEvent) => void,
): void {
  const engagement = random.normal(0, TRUTH.engagementSd);
  const slates = 1 + Math.floor(random.exponential(TRUTH.slatesPerSessionMean - 1));
  let at = start;
  for (let s = 0; s < slates; s++) {
    showSlate(world, random, { user, engagement, at, slateId: `${user.id}-${at}` }, emit);
    at += Math.round(20 * SECOND + random.exponential(TRUTH.slateGapMeanMs));
  }
}

interface Slate {
  readonly user: User;
  readonly engagement: number;
  readonly at: number;
  readonly slateId: string;
}

function showSlate(world: World, random: Random, slate: Slate, emit: (event: RawActivityEvent) => void): void {
  const hour = Math.min(world.config.hours, Math.floor((slate.at - world.config.start) / HOUR));
  for (const [position, index] of pickCandidates(world, random, hour).entries()) {
    const item = world.items[index]!;
    const facts = { userId: slate.user.id, itemId: item.id, category: item.category };
    emit(activityEvent({ ...facts, eventId: `v-${slate.slateId}-${position}`, eventTime: slate.at, type: 'view' }));
    const logit =
      TRUTH.base +
      slate.user.propensity +
      slate.engagement +
      (slate.user.favourites.has(item.category) ? TRUTH.affinity : 0) +
      TRUTH.popularity * world.trend[hour * world.config.items + index]! +
      item.quality +
      TRUTH.hour * hourCurve(slate.at) +
      ((slate.user.clicked.get(item.id) ?? Infinity) < slate.at ? TRUTH.alreadyClicked : 0);
    if (!random.chance(sigmoid(logit))) continue;
    const clickAt = slate.at + Math.round(SECOND + random.exponential(TRUTH.clickDelayMeanMs));
    emit(activityEvent({ ...facts, eventId: `c-${slate.slateId}-${position}`, eventTime: clickAt, type: 'click' }));
    slate.user.clicked.set(item.id, Math.min(clickAt, slate.user.clicked.get(item.id) ?? Infinity));
    if (!random.chance(sigmoid(TRUTH.purchaseBase + 2 * item.quality))) continue;
    const purchaseAt = clickAt + Math.round(SECOND + random.exponential(TRUTH.purchaseDelayMeanMs));
    emit(
      activityEvent({ ...facts, eventId: `p-${slate.slateId}-${position}`, eventTime: purchaseAt, type: 'purchase' }),
    );
  }
}

/** Half the slate follows the hour's trend (what a popularity recommender shows), half is uniform exploration. */
function pickCandidates(world: World, random: Random, hour: number): number[] {
  const chosen = new Set<number>();
  const size = Math.min(world.config.slateSize, world.items.length);
  while (chosen.size < size) {
    chosen.add(chosen.size % 2 === 0 ? random.weighted(world.exposure[hour]!) : random.int(0, world.items.length - 1));
  }
  return [...chosen];
}
