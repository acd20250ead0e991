import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  count,
  duration,
  entity,
  eventTime,
  featureService,
  featureSet,
  isoOrEpochMs,
  processingTime,
  request,
  sliding,
  source,
  transform,
  type FeatureValues,
} from '@rtml/features';
import { deleteNamespace, OnlineStore } from '@rtml/online-store';
import { createMultiEntityScorer, type ScoringModel, type ServedLog, type ServedRecord } from './index.js';

// One event type, two entities: the user set is keyed by userId, the merchant set by merchantId.
const schema = z.object({
  eventId: z.string(),
  eventTime: isoOrEpochMs,
  userId: z.string(),
  merchantId: z.string(),
  amount: z.number(),
});
type Payment = z.output<typeof schema>;
const window = sliding(duration.hours(1));
const payments = source('payment', schema);
const freshness = { maxAge: duration.minutes(30), onlineExpiry: duration.days(1) };
const userSet = featureSet({
  name: 'user_payments',
  entity: entity({ name: 'user', key: 'userId' }),
  source: payments,
  ...freshness,
  features: { user_count_1h: count({ window }) },
  requestFeatures: { amount_now: request((e: Payment) => e.amount) },
});
const merchantSet = featureSet({
  name: 'merchant_payments',
  entity: entity({ name: 'merchant', key: 'merchantId' }),
  source: payments,
  ...freshness,
  features: { merchant_count_1h: count({ window }) },
  transforms: { merchant_busy: transform(['merchant_count_1h'], (n) => (typeof n === 'number' ? n > 10 : null)) },
});

const service = featureService({ name: 'payments', featureSets: [userSet, merchantSet] });
const featureNames = ['user_count_1h', 'amount_now', 'merchant_count_1h', 'merchant_busy'];
const weights = [1, 0.01, 0.1, 5];
/** Linear, so the test can check exactly which row reached the model. */
const model: ScoringModel = {
  name: 'linear',
  featureNames,
  score: (row) => row.reduce((s, v, i) => s + weights[i]! * v, 0),
};
const fallbacks = { user_count_1h: 0, amount_now: 0, merchant_count_1h: 2, merchant_busy: 0 };

const T0 = 1_700_000_000_000;
const namespace = `serving-multi-${randomUUID().slice(0, 8)}`;
let redis: Redis;
let store: OnlineStore;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  store = new OnlineStore(redis, { namespace, featureSets: service });
});
afterAll(async () => {
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

async function write(set: string, entityId: string, at: number, values: FeatureValues): Promise<void> {
  await store.writeBatch([{ featureSet: set, entityId, eventTime: eventTime(at), values }]);
}
const payment = (merchantId: string, amount: number): Payment => ({
  eventId: `p-${merchantId}`,
  eventTime: eventTime(T0),
  userId: 'u1',
  merchantId,
  amount,
});

describe('createMultiEntityScorer', () => {
  it(
    'reads each feature set by its own entity key, for a batch, and flags stale and missing reads per ' + 'set',
    async () => {
      await write('user_payments', 'u1', T0 - 60_000, { user_count_1h: 3 });
      await write('merchant_payments', 'm1', T0 - 5_000, { merchant_count_1h: 12 });
      await write('merchant_payments', 'm2', T0 - 3_600_000, { merchant_count_1h: 7 });
      const logged: ServedRecord[] = [];
      const log: ServedLog = {
        append: (record) => void logged.push(record),
        flush: async () => {},
        close: async () => {},
      };
      const score = createMultiEntityScorer({ store, featureSets: service, model, fallbacks, log });
      const [m1, m2, m3] = await score(
        [payment('m1', 100), payment('m2', 200), payment('m3', 300)],
        processingTime(T0),
      );

      expect(m1!.score).toBeCloseTo(3 + 1 + 1.2 + 5, 12);
      expect(m1!.fallbacks).toEqual([]);
      expect(m1!.features['user_count_1h']).toEqual({ value: 3, freshnessMs: 60_000, status: 'fresh' });
      expect(m1!.features['merchant_count_1h']).toEqual({ value: 12, freshnessMs: 5_000, status: 'fresh' });
      expect(m1!.features['merchant_busy']).toEqual({ value: true, freshnessMs: null, status: 'computed' });
      // m2's vector is older than maxAge: its value is reported, the model gets the fallback.
      expect(m2!.score).toBeCloseTo(3 + 2 + 0.2 + 0, 12);
      expect(m2!.features['merchant_count_1h']).toEqual({ value: 7, freshnessMs: 3_600_000, status: 'stale' });
      expect(m2!.fallbacks.map((f) => [f.feature, f.reason])).toEqual([
        ['merchant_count_1h', 'stale'],
        ['merchant_busy', 'null'],
      ]);
      expect(m3!.features['merchant_count_1h']).toEqual({ value: null, freshnessMs: null, status: 'missing' });
      expect(m3!.features['user_count_1h']!.status).toBe('fresh');
      expect(logged.map((r) => r.entityId)).toEqual(['u1|m1', 'u1|m2', 'u1|m3']);
    },
  );
});
