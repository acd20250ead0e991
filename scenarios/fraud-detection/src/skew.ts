import { mismatchRate, populationStabilityIndex } from '@rtml/ml';
import type { Assembler, ServedRecord } from '@rtml/serving';
import type { FeatureValue, FeatureValues } from '@rtml/features';
import { fraudModel, type Transaction } from './features.js';

/** The features the reimplementation below gets wrong, each in its own classic way. */
export const SKEWED_FEATURES = ['amount_mean_1h', 'log_amount', 'is_night'] as const;

/**
 * A serving team's hand-written copy of the request-time features, NOT using the shared feature code:
 *  - null handling: an empty 1h window becomes 0 instead of missing (the model then sees 0, not the fallback);
 *  - rounding: log amount rounded to one decimal ("plenty of precision");
 *  - time zone: hour of day from the server's UTC clock instead of the card holder's local time.
 * Everything else is copied correctly, so the skew report must flag exactly SKEWED_FEATURES.
 */
export const reimplementedAssembler: Assembler<Transaction> = (vector, txn) => {
  const v = vector.values;
  const recent = Array.isArray(v['last_merchants']) ? (v['last_merchants'] as readonly string[]) : [];
  const utcHour = new Date(txn.eventTime).getUTCHours();
  const mean30d = v['amount_mean_30d'];
  return {
    ...v,
    amount_mean_1h: v['amount_mean_1h'] ?? 0,
    log_amount: Math.round(Math.log1p(txn.amount) * 10) / 10,
    merchant: txn.merchantId,
    hour_of_day: utcHour,
    is_night: utcHour < 6,
    is_new_merchant: !recent.includes(txn.merchantId),
    amount_vs_30d_mean: typeof mean30d === 'number' ? Math.log1p(txn.amount) - Math.log1p(mean30d) : null,
  };
};

export interface FeatureSkew {
  readonly feature: string;
  readonly mismatchRate: number;
  readonly psi: number;
  readonly flagged: boolean;
}

/** A feature is flagged when more than 5% of requests differ from offline, or its distribution moved (PSI > 0.1). */
export const SKEW_THRESHOLDS = { mismatchRate: 0.05, psi: 0.1 } as const;

const asNumber = (value: FeatureValue | undefined): number | null =>
  typeof value === 'boolean' ? (value ? 1 : 0) : typeof value === 'number' ? value : null;

/**
 * Compares what was served (the served-vector log) with the offline recomputation of the same requests
 * (point-in-time features + the shared request-time code), per model feature.
 */
export function skewReport(
  served: readonly ServedRecord[],
  offlineByRequest: ReadonlyMap<string, FeatureValues>,
): FeatureSkew[] {
  const pairs = served.flatMap((record) => {
    const offline = offlineByRequest.get(record.requestId);
    return offline ? [{ served: record.values, offline }] : [];
  });
  if (pairs.length === 0) throw new Error('no served record matches an offline example: nothing to compare');
  return fraudModel.features.map((feature) => {
    const offline = pairs.map((p) => asNumber(p.offline[feature]));
    const online = pairs.map((p) => asNumber(p.served[feature]));
    const mismatch = mismatchRate(offline, online, { tolerance: 1e-6 });
    const psi = populationStabilityIndex(offline, online);
    return {
      feature,
      mismatchRate: mismatch,
      psi,
      flagged: mismatch > SKEW_THRESHOLDS.mismatchRate || psi > SKEW_THRESHOLDS.psi,
    };
  });
}

/**
 * Per model feature, the offline and served values of the same requests, aligned by request (null = missing or
 * unserved).
 */
export interface FeatureValuePairs {
  readonly offline: (number | null)[];
  readonly served: (number | null)[];
}

/**
 * The raw material of `skewReport`, for distribution plots: offline vs served value per request, in `requestIds` order.
 */
export function servedVsOffline(
  served: readonly ServedRecord[],
  offlineByRequest: ReadonlyMap<string, FeatureValues>,
  requestIds: readonly string[],
): Record<string, FeatureValuePairs> {
  const servedById = new Map(served.map((record) => [record.requestId, record.values]));
  return Object.fromEntries(
    fraudModel.features.map((feature) => [
      feature,
      {
        offline: requestIds.map((id) => asNumber(offlineByRequest.get(id)?.[feature])),
        served: requestIds.map((id) => asNumber(servedById.get(id)?.[feature])),
      },
    ]),
  );
}
