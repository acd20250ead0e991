// Lab 6's feature set: lifetime totals per user, so a lost event (count too low) or an event applied twice
// (count too high) shows in Redis exactly. Plain ESM so the stream CLI (`rtml-stream run --feature-set`) loads it.
import { z } from 'zod';
import { count, entity, featureSet, isoOrEpochMs, source, sum } from '@rtml/features';

const user = entity({ name: 'user', key: 'userId' });

export const paymentTotals = featureSet({
  name: 'payment_totals',
  entity: user,
  source: source(
    'payment',
    z.object({ eventId: z.string().min(1), eventTime: isoOrEpochMs, userId: z.string().min(1), amount: z.number() }),
  ),
  features: { payments: count(), amount_total: sum('amount') },
});
