import type { AggregateFeature } from './feature-set.js';
import type { FeatureValue } from './vector.js';

/** What the float tolerance of a sum or mean depends on: the inputs it added up. */
export interface SummedInputs {
  /** How many values went into the aggregate (an upper bound is fine). */
  readonly count: number;
  /** Σ|x| of those values (an upper bound is fine). */
  readonly absoluteSum: number;
}

/**
 * Whether the offline (DuckDB SQL) and online (incremental engine) values of one feature agree: the parity
 * contract the tests hold both executions to. Sums and means add the same numbers in different orders
 * (DuckDB's windowed segment trees vs arrival order) and float addition is not associative, so they may differ
 * by the classic reordering bound n · ε · Σ|x| (×4 headroom); every other value (counts, min/max, distinct
 * counts, last/lastK lists, nulls) must be identical.
 */
export function offlineOnlineAgree(
  feature: AggregateFeature,
  offline: FeatureValue,
  online: FeatureValue,
  inputs: SummedInputs,
): boolean {
  const tolerant = feature.spec.kind === 'sum' || feature.spec.kind === 'mean';
  if (tolerant && typeof offline === 'number' && typeof online === 'number') {
    return Math.abs(offline - online) <= 4 * inputs.count * Number.EPSILON * Math.max(1, inputs.absoluteSum);
  }
  return JSON.stringify(offline) === JSON.stringify(online);
}
