/** Lab 3's checkpoint reference: the skew report as `@rtml/ml` computes it, to check the participant's against. */
import type { FeatureValues } from '@rtml/features';
import { mismatchRate, populationStabilityIndex } from '@rtml/ml';
import { SKEW_THRESHOLDS } from '@rtml/scenario-fraud-detection';

// A type, not an interface: tables take Record<string, unknown>, which only type aliases satisfy.
export type SkewRow = { feature: string; mismatch: number; psi: number; flagged: boolean };

export const asNumber = (x: unknown): number | null =>
  typeof x === 'boolean' ? Number(x) : typeof x === 'number' ? x : null;

export function referenceReport(
  features: readonly string[],
  offline: FeatureValues[],
  served: FeatureValues[],
): SkewRow[] {
  return features.map((feature) => {
    const expected = offline.map((x) => asNumber(x[feature]));
    const actual = served.map((x) => asNumber(x[feature]));
    const mismatch = mismatchRate(expected, actual, { tolerance: 1e-6 });
    const psi = populationStabilityIndex(expected, actual);
    return { feature, mismatch, psi, flagged: mismatch > SKEW_THRESHOLDS.mismatchRate || psi > SKEW_THRESHOLDS.psi };
  });
}
