import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readKafkaSettings } from '@rtml/connections';
import {
  count,
  duration,
  entity,
  eventTime,
  featureService,
  featureSet,
  isoOrEpochMs,
  max,
  processingTime,
  request,
  sliding,
  source,
  type FeatureValues,
} from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { testNamespaces } from '@rtml/online-store/testing';
import { createServingApp, KafkaServedLog, readServedLog, type ScoreResponse, type ScoringModel } from './index.js';

const payments = source(
  'payment',
  z.object({ eventId: z.string(), eventTime: isoOrEpochMs, userId: z.string(), amount: z.number() }),
);
type Payment = z.output<typeof payments.schema>;
const user = entity({ name: 'user', key: 'userId' });
const freshness = { maxAge: duration.minutes(30), onlineExpiry: duration.days(1) };
const paymentFeatures = featureSet({
  name: 'user_payments',
  entity: user,
  source: payments,
  ...freshness,
  features: {
    count_1h: count({ window: sliding(duration.hours(1)) }),
    max_1h: max('amount', { window: sliding(duration.hours(1)) }),
  },
  requestFeatures: { amount_now: request((e: Payment) => e.amount) },
});
const disputes = source('dispute', z.object({ eventId: z.string(), eventTime: isoOrEpochMs, userId: z.string() }));
/** A context set: another source, keyed by the same user, aggregates only. */
const disputeFeatures = featureSet({
  name: 'user_disputes',
  entity: user,
  source: disputes,
  ...freshness,
  features: { disputes: count() },
});
const service = featureService({ name: 'payments', featureSets: [paymentFeatures, disputeFeatures] });

/** A fixed linear-logistic model: enough to check the row the app builds. */
const model: ScoringModel = {
  name: 'test-lr',
  featureNames: ['count_1h', 'max_1h', 'amount_now', 'disputes'],
  score: (row) => 1 / (1 + Math.exp(-(0.5 * row[0]! + 0.01 * row[1]! + 0.02 * row[2]! + 1 * row[3]! - 3))),
};
const expectedScore = (row: number[]) => model.score(row);
const fallbacks = { count_1h: 0, max_1h: 50, amount_now: 40, disputes: 0.1 };

const T0 = 1_700_000_000_000;
const namespaces = testNamespaces(inject('redisUrl'), 'serving');
const { redis } = namespaces;
afterAll(namespaces.cleanup);

function freshStore(): OnlineStore {
  return new OnlineStore(redis, { namespace: namespaces.fresh(), featureSets: service });
}

async function write(
  store: OnlineStore,
  featureSet: string,
  entityId: string,
  at: number,
  values: FeatureValues,
): Promise<void> {
  await store.writeBatch([{ featureSet, entityId, eventTime: eventTime(at), values }]);
}

const payment = (userId: string, at: number, amount: number) => ({
  eventId: `p-${randomUUID()}`,
  eventTime: at,
  userId,
  amount,
});

function app(store: OnlineStore, log?: KafkaServedLog) {
  return createServingApp({
    store,
    featureSets: service,
    model,
    fallbacks,
    clock: (req) => processingTime(req.eventTime),
    ...(log ? { log } : {}),
  });
}

async function score(store: OnlineStore, body: unknown): Promise<ScoreResponse> {
  const response = await app(store).inject({ method: 'POST', url: '/score', payload: body as object });
  expect(response.statusCode).toBe(200);
  return response.json<ScoreResponse>();
}

describe('POST /score', () => {
  it('scores fresh online features plus request-time features, reporting freshness per feature', async () => {
    const store = freshStore();
    await write(store, 'user_payments', 'u1', T0, { count_1h: 3, max_1h: 120 });
    await write(store, 'user_disputes', 'u1', T0 - 60_000, { disputes: 2 });
    const result = await score(store, payment('u1', T0 + 5_000, 80));
    expect(result.score).toBeCloseTo(expectedScore([3, 120, 80, 2]), 12);
    expect(result.fallbacks).toEqual([]);
    expect(result.features.count_1h).toEqual({ value: 3, freshnessMs: 5_000, status: 'fresh' });
    expect(result.features.disputes).toEqual({ value: 2, freshnessMs: 65_000, status: 'fresh' });
    expect(result.features.amount_now).toEqual({ value: 80, freshnessMs: null, status: 'computed' });
  });

  it('falls back for an unknown entity and flags every substituted feature as missing', async () => {
    const store = freshStore();
    const result = await score(store, payment('nobody', T0, 30));
    expect(result.score).toBeCloseTo(expectedScore([0, 50, 30, 0.1]), 12);
    expect(result.fallbacks).toEqual([
      { feature: 'count_1h', reason: 'missing', value: 0 },
      { feature: 'max_1h', reason: 'missing', value: 50 },
      { feature: 'disputes', reason: 'missing', value: 0.1 },
    ]);
    expect(result.features.max_1h).toEqual({ value: null, freshnessMs: null, status: 'missing' });
  });

  it('does not trust stale values: they are replaced by the fallback and flagged stale', async () => {
    const store = freshStore();
    await write(store, 'user_payments', 'u2', T0, { count_1h: 9, max_1h: 999 });
    await write(store, 'user_disputes', 'u2', T0 + 3_600_000, { disputes: 1 });
    const result = await score(store, payment('u2', T0 + 3_600_000, 10));
    expect(result.score).toBeCloseTo(expectedScore([0, 50, 10, 1]), 12);
    expect(result.fallbacks.map((f) => [f.feature, f.reason])).toEqual([
      ['count_1h', 'stale'],
      ['max_1h', 'stale'],
    ]);
  });

  it('uses the fallback for a null value and says so', async () => {
    const store = freshStore();
    await write(store, 'user_payments', 'u3', T0, { count_1h: 0, max_1h: null });
    await write(store, 'user_disputes', 'u3', T0, { disputes: 0 });
    const result = await score(store, payment('u3', T0 + 1, 10));
    expect(result.fallbacks).toEqual([{ feature: 'max_1h', reason: 'null', value: 50 }]);
    expect(result.features.max_1h!.status).toBe('fresh');
  });

  it('rejects an invalid request with the schema reason', async () => {
    const response = await app(freshStore()).inject({
      method: 'POST',
      url: '/score',
      payload: { eventId: 'x', userId: 'u', amount: 'ten' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: string }>().error).toMatch(/amount/);
  });

  it('refuses to start when a model feature has no fallback', () => {
    expect(() =>
      createServingApp({ store: freshStore(), featureSets: service, model, fallbacks: { count_1h: 0 } }),
    ).toThrow(/max_1h, amount_now, disputes/);
  });

  it('refuses a model that reads a feature its feature service does not serve', () => {
    const other = { ...model, featureNames: [...model.featureNames, 'chargebacks'] };
    expect(() =>
      createServingApp({
        store: freshStore(),
        featureSets: service,
        model: other,
        fallbacks: { ...fallbacks, chargebacks: 0 },
      }),
    ).toThrow(/model test-lr reads feature\(s\) chargebacks, which feature service payments does not serve/);
  });
});

describe('GET /health', () => {
  it('is ok while Redis answers', async () => {
    const response = await app(freshStore()).inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok', model: 'test-lr', features: 4 });
  });
});

describe('served-vector log', () => {
  it('writes every served vector to Kafka, readable for skew analysis', async () => {
    const kafka = readKafkaSettings({ KAFKA_BROKERS: inject('kafkaBrokers') });
    const topic = `served-test-${randomUUID()}`;
    const log = await KafkaServedLog.connect({ brokers: kafka.brokers, kafka, topic, batchSize: 2 });
    const store = freshStore();
    await write(store, 'user_payments', 'u1', T0, { count_1h: 1, max_1h: 5 });
    const server = app(store, log);
    const requests = [payment('u1', T0 + 1, 7), payment('u1', T0 + 2, 8), payment('ghost', T0 + 3, 9)];
    for (const body of requests) await server.inject({ method: 'POST', url: '/score', payload: body });
    await log.close();
    const records = await readServedLog(kafka, topic);
    expect(records.map((r) => r.requestId).sort()).toEqual(requests.map((r) => r.eventId).sort());
    const ghost = records.find((r) => r.entityId === 'ghost')!;
    expect(ghost.values).toMatchObject({ amount_now: 9 });
    expect(ghost.fallbacks).toEqual(['count_1h', 'max_1h', 'disputes']);
    expect(ghost.status.count_1h).toBe('missing');
  });
});
