import type { ChargebackEvent, FraudEvent, ProfileUpdateEvent, TransactionEvent } from './events.js';
import { isoWithOffset, PendingEvents, Random } from '@rtml/synthetic';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface GeneratorConfig {
  readonly seed: number;
  readonly users: number;
  readonly merchants: number;
  readonly days: number;
  /** Midnight UTC of the first simulated day, epoch ms. */
  readonly start: number;
  /** Mean legit transactions per user per day (each user draws their own rate around it). */
  readonly txnsPerUserDay: number;
  /** Share of users whose account is taken over once, at a random time: the fraud episodes. */
  readonly compromisedUserShare: number;
}

export const SIZES = {
  tiny: { users: 1000, merchants: 500, days: 10, txnsPerUserDay: 1, compromisedUserShare: 0.04 },
  small: { users: 1500, merchants: 800, days: 14, txnsPerUserDay: 1, compromisedUserShare: 0.03 },
  medium: { users: 2500, merchants: 1200, days: 21, txnsPerUserDay: 1, compromisedUserShare: 0.03 },
  large: { users: 40_000, merchants: 10_000, days: 45, txnsPerUserDay: 1.5, compromisedUserShare: 0.03 },
} as const satisfies Record<string, Omit<GeneratorConfig, 'seed' | 'start'>>;
export type SizeName = keyof typeof SIZES;

export function configFor(size: SizeName, seed = 42, start = Date.UTC(2024, 2, 1)): GeneratorConfig {
  return { ...SIZES[size], seed, start };
}

/** Ground truth travels beside the event, never inside it: the event is what a real system would see. */
export interface GeneratedEvent {
  readonly event: FraudEvent;
  readonly epochMs: number;
  /** Only for transactions: whether it was fraudulent (the chargeback, if any, is the observable label). */
  readonly fraud?: boolean;
}

interface User {
  readonly id: string;
  readonly offsetMinutes: number;
  readonly cards: readonly string[];
  readonly favourites: readonly string[];
  readonly amountLogMean: number;
  readonly dailyRate: number;
  /** Epoch ms of the account takeover, if this user is one of the compromised. */
  readonly takeoverAt: number | undefined;
}

const OFFSETS = [-300, -240, 0, 60, 120, 330, 480, 540];
const PROFILE_FIELDS: readonly ProfileUpdateEvent['field'][] = ['email', 'phone', 'address', 'password'];

/** Legit activity follows the local day; fraud does not care (and prefers the night). */
function legitHourWeight(localHour: number): number {
  if (localHour < 6) return 0.1;
  if (localHour < 9) return 0.6;
  if (localHour < 22) return 1;
  return 0.5;
}

const localHourOf = (epochMs: number, offsetMinutes: number): number =>
  Math.floor(((((epochMs + offsetMinutes * MINUTE) % DAY) + DAY) % DAY) / HOUR);

function validate(config: GeneratorConfig): void {
  for (const key of ['users', 'merchants', 'days'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1)
      throw new RangeError(`${key} must be a positive integer, got ${config[key]}`);
  }
  if (config.merchants < 20)
    throw new RangeError('need at least 20 merchants (favourites and a risky subset are drawn from them)');
  if (!(config.txnsPerUserDay > 0)) throw new RangeError(`txnsPerUserDay must be > 0, got ${config.txnsPerUserDay}`);
  if (!(config.compromisedUserShare >= 0 && config.compromisedUserShare <= 1))
    throw new RangeError('compromisedUserShare must be in [0, 1]');
  if (config.start % DAY !== 0) throw new RangeError('start must be midnight UTC');
}

class FraudWorld {
  private readonly rng: Random;
  private readonly merchantIds: string[];
  private readonly riskyMerchants: string[];
  readonly users: User[];
  private readonly pending = new PendingEvents<GeneratedEvent>(
    (e) => e.epochMs,
    (a, b) => (a.event.eventId < b.event.eventId ? -1 : 1),
  );
  private sequence = 0;

  constructor(private readonly config: GeneratorConfig) {
    this.rng = new Random(config.seed);
    this.merchantIds = Array.from({ length: config.merchants }, (_, i) => `m${String(i).padStart(5, '0')}`);
    this.riskyMerchants = this.merchantIds.filter((_, i) => i % 10 === 0);
    this.users = Array.from({ length: config.users }, (_, i) => this.newUser(i));
  }

  private newUser(index: number): User {
    const rng = this.rng;
    const cards = Array.from({ length: rng.int(1, 2) }, (_, c) => `c${String(index).padStart(6, '0')}-${c}`);
    const favourites = Array.from({ length: rng.int(4, 12) }, () => rng.pick(this.merchantIds));
    const compromised = rng.chance(this.config.compromisedUserShare);
    return {
      id: `u${String(index).padStart(6, '0')}`,
      offsetMinutes: rng.pick(OFFSETS),
      cards,
      favourites,
      amountLogMean: rng.normal(3.4, 0.6),
      dailyRate: this.config.txnsPerUserDay * Math.exp(rng.normal(-0.125, 0.5)),
      takeoverAt: compromised ? this.config.start + Math.floor(rng.uniform(DAY, this.config.days * DAY)) : undefined,
    };
  }

  private nextId(prefix: string): string {
    return `${prefix}-${String(this.sequence++).padStart(10, '0')}`;
  }

  /** A time within the UTC day, drawn (by rejection) to follow the user's local daily rhythm. */
  private legitTime(user: User, dayStart: number): number {
    for (;;) {
      const t = dayStart + Math.floor(this.rng.next() * DAY);
      if (this.rng.next() < legitHourWeight(localHourOf(t, user.offsetMinutes))) return t;
    }
  }

  private transaction(user: User, at: number, merchantId: string, amount: number, fraud: boolean): void {
    const event: TransactionEvent = {
      eventId: this.nextId('tx'),
      type: 'transaction',
      eventTime: isoWithOffset(at, user.offsetMinutes),
      userId: user.id,
      cardId: fraud ? user.cards[0]! : this.rng.pick(user.cards),
      merchantId,
      amount: Math.round(amount * 100) / 100,
      utcOffsetMinutes: user.offsetMinutes,
    };
    this.pending.push({ event, epochMs: at, fraud });
    const chargebackChance = fraud ? 0.9 : 0.001; // most fraud is disputed; a little "friendly fraud" noise
    if (this.rng.chance(chargebackChance)) this.chargeback(user, event, at + Math.floor(this.rng.uniform(2, 25) * DAY));
  }

  private chargeback(user: User, txn: TransactionEvent, at: number): void {
    const event: ChargebackEvent = {
      eventId: this.nextId('cb'),
      type: 'chargeback',
      eventTime: isoWithOffset(at, user.offsetMinutes),
      userId: user.id,
      transactionId: txn.eventId,
      amount: txn.amount,
    };
    this.pending.push({ event, epochMs: at });
  }

  private profileUpdate(user: User, at: number): void {
    const event: ProfileUpdateEvent = {
      eventId: this.nextId('pu'),
      type: 'profile_update',
      eventTime: isoWithOffset(at, user.offsetMinutes),
      userId: user.id,
      field: this.rng.pick(PROFILE_FIELDS),
    };
    this.pending.push({ event, epochMs: at });
  }

  private legitAmount(user: User): number {
    const bigPurchase = this.rng.chance(0.03) ? 1.5 : 0;
    return Math.exp(this.rng.normal(user.amountLogMean + bigPurchase, 0.6));
  }

  private legitDay(user: User, dayStart: number): void {
    const rng = this.rng;
    for (let n = rng.poisson(user.dailyRate); n > 0; n--) {
      const merchant = rng.chance(0.8) ? rng.pick(user.favourites) : rng.pick(this.merchantIds);
      this.transaction(user, this.legitTime(user, dayStart), merchant, this.legitAmount(user), false);
    }
    // Shopping sprees: legit bursts, so velocity alone is not a giveaway.
    if (rng.chance(0.04)) {
      let t = this.legitTime(user, dayStart);
      for (let n = rng.int(2, 4); n > 0; n--) {
        t += Math.floor(rng.exponential(6 * MINUTE));
        this.transaction(
          user,
          t,
          rng.chance(0.5) ? rng.pick(user.favourites) : rng.pick(this.merchantIds),
          this.legitAmount(user),
          false,
        );
      }
    }
    if (rng.chance(0.01)) this.profileUpdate(user, this.legitTime(user, dayStart));
  }

  /** Account takeover: often a credential change first, then a burst of large purchases at unfamiliar merchants. */
  private takeover(user: User, at: number): void {
    const rng = this.rng;
    const localHour = localHourOf(at, user.offsetMinutes);
    // Shift more than half of the takeovers into the local night.
    const start = rng.chance(0.5) && localHour >= 6 ? at - (localHour - rng.int(0, 4)) * HOUR : at;
    if (rng.chance(0.6)) this.profileUpdate(user, start - Math.floor(rng.uniform(5, 90) * MINUTE));
    let t = start;
    for (let n = rng.int(2, 7); n > 0; n--) {
      const merchant = rng.chance(0.6) ? rng.pick(this.riskyMerchants) : rng.pick(this.merchantIds);
      this.transaction(
        user,
        t,
        merchant,
        Math.exp(user.amountLogMean + rng.uniform(0.3, 2) + rng.normal(0, 0.3)),
        true,
      );
      t += Math.floor(rng.exponential(5 * MINUTE)) + 1;
    }
  }

  generateDay(day: number): void {
    const dayStart = this.config.start + day * DAY;
    for (const user of this.users) {
      this.legitDay(user, dayStart);
      if (user.takeoverAt !== undefined && user.takeoverAt >= dayStart && user.takeoverAt < dayStart + DAY)
        this.takeover(user, user.takeoverAt);
    }
  }

  /** Everything pending strictly before `until` (later events may still be generated only at or after it). */
  drainBefore(until: number): Generator<GeneratedEvent> {
    return this.pending.drainBefore(until);
  }
}

/**
 * Streams the synthetic history in event-time order, one simulated day in memory at a time (plus chargebacks
 * scheduled for later days), so millions of events never sit in memory together. Same config, same events.
 * Chargebacks due after the last day are still emitted at the end: labels do arrive, just late.
 */
export function* generateEvents(config: GeneratorConfig): Generator<GeneratedEvent> {
  validate(config);
  const world = new FraudWorld(config);
  for (let day = 0; day < config.days; day++) {
    world.generateDay(day);
    // A takeover drawn on day d may be moved back into the local night and preceded by a profile update:
    // up to ~25h earlier. Events more than two days back can no longer be preceded by anything new.
    yield* world.drainBefore(config.start + (day - 2) * DAY);
  }
  yield* world.drainBefore(Number.POSITIVE_INFINITY);
}
