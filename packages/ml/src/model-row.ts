import type { FeatureValue, FeatureValues } from '@rtml/features';

/** Value used for a model feature that is missing, null or stale at serving time (and null at training time). */
export type Fallbacks = Readonly<Record<string, number>>;

/** A feature value a model cannot take, or a model feature with no fallback. */
export class ModelInputError extends Error {
  override readonly name = 'ModelInputError';
}

function numericValue(name: string, value: FeatureValue | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  throw new ModelInputError(`model feature '${name}' must be numeric or boolean, got ${JSON.stringify(value)}`);
}

export interface ModelRow {
  readonly row: number[];
  /** Model features whose value was null or absent and took the fallback instead. */
  readonly imputed: string[];
}

/**
 * Feature values -> model input row, nulls replaced by the fallbacks. Training and serving both call THIS
 * function, so "what the model sees for a missing feature" cannot differ between them.
 */
export function modelRow(values: FeatureValues, featureNames: readonly string[], fallbacks: Fallbacks): ModelRow {
  const imputed: string[] = [];
  const row = featureNames.map((name) => {
    const value = numericValue(name, values[name]);
    if (value !== null) return value;
    const fallback = fallbacks[name];
    if (fallback === undefined) throw new ModelInputError(`no fallback for model feature '${name}'`);
    imputed.push(name);
    return fallback;
  });
  return { row, imputed };
}

/** Fallbacks = the mean of each feature's non-null training values (0 if a feature was never present). */
export function trainingMeans(rows: readonly FeatureValues[], featureNames: readonly string[]): Fallbacks {
  return Object.fromEntries(
    featureNames.map((name) => {
      const present = rows.map((r) => numericValue(name, r[name])).filter((v): v is number => v !== null);
      return [name, present.length === 0 ? 0 : present.reduce((a, b) => a + b, 0) / present.length];
    }),
  );
}

interface AggregateDefaults {
  readonly aggregates: readonly {
    readonly name: string;
    readonly spec: { readonly kind: string; readonly default: FeatureValue };
  }[];
}

/**
 * What an aggregate is for an entity with no history at all: a count or distinct count of nothing is 0, an
 * aggregate with a numeric `default` is that default. Use these as fallbacks before training means: imputing
 * "no chargebacks yet" with the mean chargeback count would invent history.
 */
export function emptyHistoryValues(sets: readonly AggregateDefaults[]): Fallbacks {
  return Object.fromEntries(
    sets.flatMap((set) =>
      set.aggregates.flatMap(({ name, spec }) => {
        if (typeof spec.default === 'number') return [[name, spec.default]];
        return spec.kind === 'count' || spec.kind === 'distinctCount' ? [[name, 0]] : [];
      }),
    ),
  );
}
