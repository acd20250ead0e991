import { z } from 'zod';
import {
  count,
  distinctCount,
  duration,
  entity,
  featureService,
  featureSet,
  isoOrEpochMs,
  lastK,
  max,
  mean,
  sliding,
  source,
  sum,
  transform,
} from '@rtml/features';

/**
 * The fraud features: defined ONCE here and executed by the offline backfill (DuckDB), the stream processor
 * (online engine) and the serving endpoint (request-time features), so training and serving cannot drift apart.
 * Three feature sets because each has one source: transactions, chargebacks (the late label stream) and
 * profile updates, all keyed by user.
 */

export const transactionSource = source(
  'transaction',
  z.object({
    eventId: z.string().min(1),
    eventTime: isoOrEpochMs,
    userId: z.string().min(1),
    cardId: z.string().min(1),
    merchantId: z.string().min(1),
    amount: z.number().nonnegative(),
    utcOffsetMinutes: z
      .number()
      .int()
      .min(-14 * 60)
      .max(14 * 60),
  }),
);
export type Transaction = z.output<typeof transactionSource.schema>;

export const chargebackSource = source(
  'chargeback',
  z.object({
    eventId: z.string().min(1),
    eventTime: isoOrEpochMs,
    userId: z.string().min(1),
    transactionId: z.string(),
    amount: z.number(),
  }),
);
export type Chargeback = z.output<typeof chargebackSource.schema>;

export const profileUpdateSource = source(
  'profile_update',
  z.object({
    eventId: z.string().min(1),
    eventTime: isoOrEpochMs,
    userId: z.string().min(1),
    field: z.enum(['email', 'phone', 'address', 'password']),
  }),
);
export type ProfileUpdate = z.output<typeof profileUpdateSource.schema>;

/** Every set is the card holder's: events carry their id as `userId`. */
export const user = entity({ name: 'user', key: 'userId' });

/**
 * Online: an idle user's vectors leave Redis after 2 days. maxAge is generous on purpose: the replay compares WHICH
 * values are served; staleness is measured separately (see `PathStaleness`). The training join applies it too.
 */
const lifetimes = { maxAge: duration.days(400), onlineExpiry: duration.days(2) };

const HOUR_MS = 3_600_000;

/**
 * Hour of day in the card holder's local time: the offset travels with the event, so no server time zone is involved.
 */
export function localHourOfDay(txn: Pick<Transaction, 'eventTime' | 'utcOffsetMinutes'>): number {
  const localMs = txn.eventTime + txn.utcOffsetMinutes * 60_000;
  return Math.floor((((localMs % (24 * HOUR_MS)) + 24 * HOUR_MS) % (24 * HOUR_MS)) / HOUR_MS);
}

export const userTransactions = featureSet({
  name: 'user_txn',
  entity: user,
  source: transactionSource,
  ...lifetimes,
  features: {
    txn_count_10m: count({ window: sliding(duration.minutes(10)) }),
    txn_count_1h: count({ window: sliding(duration.hours(1)) }),
    txn_count_24h: count({ window: sliding(duration.hours(24)) }),
    amount_mean_1h: mean('amount', { window: sliding(duration.hours(1)) }),
    amount_max_24h: max('amount', { window: sliding(duration.hours(24)) }),
    amount_mean_30d: mean('amount', { window: sliding(duration.days(30)) }),
    distinct_merchants_24h: distinctCount('merchantId', { window: sliding(duration.hours(24)) }),
    last_merchants: lastK('merchantId', 20),
  },
  requestFeatures: {
    log_amount: (txn) => Math.log1p(txn.amount),
    merchant: (txn) => txn.merchantId,
    hour_of_day: (txn) => localHourOfDay(txn),
  },
  transforms: {
    is_new_merchant: transform(['last_merchants', 'merchant'], (recent, merchant) =>
      Array.isArray(recent) ? !(recent as readonly string[]).includes(String(merchant)) : true,
    ),
    is_night: transform(['hour_of_day'], (hour) => (typeof hour === 'number' ? hour < 6 : null)),
    amount_vs_30d_mean: transform(['log_amount', 'amount_mean_30d'], (logAmount, mean30d) =>
      typeof logAmount === 'number' && typeof mean30d === 'number' ? logAmount - Math.log1p(mean30d) : null,
    ),
  },
});

export const userChargebacks = featureSet({
  name: 'user_chargebacks',
  entity: user,
  source: chargebackSource,
  ...lifetimes,
  features: {
    chargeback_count: count(),
    chargeback_amount: sum('amount', { default: 0 }),
  },
});

export const userProfileUpdates = featureSet({
  name: 'user_profile',
  entity: user,
  source: profileUpdateSource,
  ...lifetimes,
  features: {
    profile_updates_2h: count({ window: sliding(duration.hours(2)) }),
    profile_updates_24h: count({ window: sliding(duration.hours(24)) }),
  },
});

/**
 * The fraud model's features: transactions are the requests; chargebacks and profile updates are read beside them for
 * the same user (aggregates only). `features` is what the model sees: `hour_of_day` enters only through `is_night`;
 * `chargeback_count` is the leak-prone one.
 */
export const fraudModel = featureService({
  name: 'fraud',
  featureSets: [userTransactions, userChargebacks, userProfileUpdates],
  features: [
    'txn_count_10m',
    'txn_count_1h',
    'txn_count_24h',
    'amount_mean_1h',
    'amount_max_24h',
    'amount_mean_30d',
    'distinct_merchants_24h',
    'log_amount',
    'amount_vs_30d_mean',
    'is_new_merchant',
    'is_night',
    'profile_updates_2h',
    'profile_updates_24h',
    'chargeback_count',
  ],
});
