import { Redis } from 'ioredis';
import { z } from 'zod';
import { duration, entity, featureService, featureSet, isoOrEpochMs, sliding, source, sum } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { createServingApp } from '@rtml/serving';
import { featureSetProcessor, StreamProcessor } from '@rtml/stream';

// Defined once: the offline backfill, the stream processor and the scorer all run this definition.
const payment = z.object({ eventId: z.string(), eventTime: isoOrEpochMs, userId: z.string(), amount: z.number() });
const payments = source('payment', payment);
const user = entity({ name: 'user', key: 'userId' });
export const spend = featureSet({
  name: 'user_spend',
  entity: user,
  source: payments,
  maxAge: duration.hours(1), // older values are stale: served as the fallback, joined as NULL for training
  features: { amount_1h: sum('amount', { window: sliding(duration.hours(1)), default: 0 }) },
});
export const spendModel = featureService({ name: 'spend', featureSets: [spend] });

// Streamed from Kafka into Redis, exactly once...
export const redis = new Redis(process.env.REDIS_URL!);
const store = new OnlineStore(redis, { namespace: 'demo', featureSets: spendModel });
export const stream = new StreamProcessor({
  topology: { processor: featureSetProcessor(spend), topics: ['payments'], allowedLateness: duration.minutes(1) },
  kafka: { brokers: process.env.KAFKA_BROKERS!.split(',') },
  store,
  group: 'spend',
  createMissingTopics: { numPartitions: 1 },
});
await stream.start();

// ...and served: POST /score with a payment answers with its user's amount_1h (and its freshness) and a score.
export const app = createServingApp({
  store,
  featureSets: spendModel,
  fallbacks: { amount_1h: 0 },
  model: { name: 'big-spender', featureNames: ['amount_1h'], score: ([amount1h]) => (amount1h! > 1_000 ? 1 : 0) },
});
