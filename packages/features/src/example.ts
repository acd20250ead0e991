import { z } from 'zod';
import {
  count,
  distinctCount,
  entity,
  last,
  lastK,
  max,
  mean,
  min,
  request,
  sliding,
  source,
  sum,
  transform,
} from './definition.js';
import { isoOrEpochMs } from './event-time.js';
import { featureSet } from './feature-set.js';
import { duration } from './time.js';

/** The reference definition used by the README, tests and benchmarks: card transactions per user. */
export const transactions = source(
  'transaction',
  z.object({
    eventId: z.string().min(1),
    eventTime: isoOrEpochMs,
    userId: z.string().min(1),
    amount: z.number().nullable(),
    merchantId: z.string(),
  }),
);

export const user = entity({ name: 'user', key: 'userId' });

export type TransactionEvent = z.output<typeof transactions.schema>;

export const userTransactionFeatures = featureSet({
  name: 'user_txn',
  entity: user,
  source: transactions,
  features: {
    txn_count_1h: count({ window: sliding(duration.hours(1)) }),
    amount_sum_24h: sum('amount', { window: sliding(duration.hours(24)), default: 0 }),
    amount_mean_lifetime: mean('amount'),
    amount_max_24h: max('amount', { window: sliding(duration.hours(24)) }),
    amount_min_lifetime: min('amount'),
    distinct_merchants_7d: distinctCount('merchantId', { window: sliding(duration.days(7)) }),
    last_merchants: lastK('merchantId', 5),
    last_amount: last('amount'),
  },
  requestFeatures: {
    amount_log: request((event: TransactionEvent) => Math.log1p(Math.max(0, event.amount ?? 0))),
  },
  transforms: {
    amount_vs_24h_sum: transform(['amount_log', 'amount_sum_24h'], (amountLog, sum24h) =>
      typeof amountLog === 'number' && typeof sum24h === 'number' ? amountLog / Math.log1p(Math.max(1, sum24h)) : null,
    ),
  },
});
