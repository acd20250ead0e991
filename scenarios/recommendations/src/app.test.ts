import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { duration, eventTime, type FeatureValues } from '@rtml/features';
import { deleteNamespace, OnlineStore } from '@rtml/online-store';
import type { ScoringModel } from '@rtml/serving';
import { createRecommendationApp, type RecommendResponse } from './app.js';
import { itemPopularity, recommender, userActivity } from './features.js';

const T0 = Date.UTC(2024, 2, 1, 20);
let redis: Redis;
let store: OnlineStore;
const namespace = `rec-app-test-${randomUUID().slice(0, 8)}`;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  store = new OnlineStore(redis, { namespace, featureSets: recommender });
});
afterAll(async () => {
  await deleteNamespace(redis, namespace);
  redis.disconnect();
});

/** Scores are a known linear function of the row, so the test can check exactly what the app fed the model. */
const weights: Record<string, number> = { category_in_last_clicks: 10, item_clicks_1h: 1, clicks_30m: 0.5 };
const model: ScoringModel = {
  name: 'test',
  featureNames: recommender.features,
  score: (row) => recommender.features.reduce((s, name, i) => s + (weights[name] ?? 0) * row[i]!, 0),
};
const fallbacks = Object.fromEntries(recommender.features.map((name) => [name, name === 'item_clicks_1h' ? 0.25 : 0]));

async function write(set: string, entityId: string, at: number, values: FeatureValues): Promise<void> {
  await store.writeBatch([{ featureSet: set, entityId, eventTime: eventTime(at), values }]);
}

const STALE_AGE = duration.days(2) + 60_000;

describe('POST /recommend', () => {
  it(
    'joins user features (by userId) and item features (by itemId) with request-time features, ranks, ' +
      'reports freshness and fallbacks',
    async () => {
      await write(userActivity.name, 'u1', T0 - 60_000, {
        views_30m: 4,
        clicks_30m: 2,
        views_24h: 10,
        clicks_24h: 3,
        categories_24h: 2,
        last_click_categories: ['books'],
        last_click_items: ['i9'],
      });
      await write(itemPopularity.name, 'i1', T0 - 5_000, {
        item_views_1h: 20,
        item_clicks_1h: 3,
        item_views_24h: 100,
        item_clicks_24h: 9,
        item_purchases_24h: 1,
      });
      // Older than the sets' maxAge (2 days): stale.
      await write(itemPopularity.name, 'i2', T0 - STALE_AGE, {
        item_views_1h: 50,
        item_clicks_1h: 40,
        item_views_24h: 60,
        item_clicks_24h: 45,
        item_purchases_24h: 4,
      });
      const app = createRecommendationApp({ store, model, fallbacks, replayClock: true });
      const response = await app.inject({
        method: 'POST',
        url: '/recommend',
        payload: {
          requestId: 'r1',
          eventTime: T0,
          userId: 'u1',
          candidates: [
            { itemId: 'i1', category: 'toys' },
            { itemId: 'i2', category: 'books' },
            { itemId: 'new', category: 'toys' },
          ],
        },
      });
      expect(response.statusCode).toBe(200);
      const body = response.json<RecommendResponse>();
      expect(body.ranked.map((r) => r.itemId)).toEqual(['i2', 'i1', 'new']);
      const [i2, i1, fresh] = body.ranked as [
        RecommendResponse['ranked'][number],
        RecommendResponse['ranked'][number],
        RecommendResponse['ranked'][number],
      ];
      // i2: category in the last clicks (10) + its stale item_clicks_1h replaced by the fallback 0.25 + clicks_30m 2 *
      // 0.5.
      expect(i2.score).toBeCloseTo(10 + 0.25 + 1, 12);
      expect(i2.features['item_clicks_1h']).toEqual({ value: 40, freshnessMs: STALE_AGE, status: 'stale' });
      expect(i2.fallbacks.map((f) => [f.feature, f.reason])).toContainEqual(['item_clicks_1h', 'stale']);
      expect(i1.score).toBeCloseTo(3 + 1, 12);
      expect(i1.features['clicks_30m']).toEqual({ value: 2, freshnessMs: 60_000, status: 'fresh' });
      expect(i1.features['category_in_last_clicks']).toEqual({ value: 0, freshnessMs: null, status: 'computed' });
      expect(i1.features['hour_of_day']).toEqual({ value: 20, freshnessMs: null, status: 'computed' });
      expect(fresh.features['item_views_1h']).toEqual({ value: null, freshnessMs: null, status: 'missing' });
      expect(fresh.fallbacks.find((f) => f.feature === 'item_clicks_1h')).toEqual({
        feature: 'item_clicks_1h',
        reason: 'missing',
        value: 0.25,
      });
    },
  );

  it('rejects a request without candidates', async () => {
    const app = createRecommendationApp({ store, model, fallbacks });
    const response = await app.inject({
      method: 'POST',
      url: '/recommend',
      payload: { requestId: 'r', eventTime: T0, userId: 'u', candidates: [] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: string }>().error).toMatch(/candidates/);
  });
});
