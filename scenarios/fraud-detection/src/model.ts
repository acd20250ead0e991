import {
  emptyHistoryValues,
  modelRow,
  precisionAtK,
  predictProbability,
  recallAtK,
  rocAuc,
  trainingMeans,
  trainLogisticRegression,
  type Fallbacks,
  type LogisticModel,
} from '@rtml/ml';
import type { ScoringModel } from '@rtml/serving';
import type { FeatureValues } from '@rtml/features';
import { fraudModel } from './features.js';

const { features } = fraudModel;

export interface TrainedModel {
  readonly logistic: LogisticModel;
  /** Training means: imputation for nulls in training rows AND the serving fallback, through one function. */
  readonly fallbacks: Fallbacks;
  readonly scoring: ScoringModel;
}

interface Example {
  readonly values: FeatureValues;
  readonly label: 0 | 1;
}

export function trainModel(name: string, examples: readonly Example[]): TrainedModel {
  // Counts of nothing are 0; only features without such a meaning (means, maxima) fall back to the training mean.
  const fallbacks = {
    ...trainingMeans(
      examples.map((e) => e.values),
      features,
    ),
    ...pick(emptyHistoryValues(fraudModel.featureSets), features),
  };
  const rows = examples.map((e) => modelRow(e.values, features, fallbacks).row);
  const logistic = trainLogisticRegression(
    features,
    rows,
    examples.map((e) => e.label),
    { l2: 1e-4 },
  );
  return {
    logistic,
    fallbacks,
    scoring: { name, featureNames: features, score: (row) => predictProbability(logistic, row) },
  };
}

const pick = (values: Fallbacks, names: readonly string[]): Fallbacks =>
  Object.fromEntries(Object.entries(values).filter(([name]) => names.includes(name)));

export function scoreOffline(model: TrainedModel, examples: readonly Example[]): number[] {
  return examples.map((e) => model.scoring.score(modelRow(e.values, features, model.fallbacks).row));
}

export interface Metrics {
  readonly auc: number;
  readonly precisionAtK: number;
  readonly recallAtK: number;
  readonly k: number;
}

/** k = 2% of the scored transactions: the review budget of a fraud team. */
export function evaluate(scores: readonly number[], labels: readonly number[]): Metrics {
  const k = Math.max(1, Math.round(0.02 * scores.length));
  return {
    auc: rocAuc(scores, labels),
    precisionAtK: precisionAtK(scores, labels, k),
    recallAtK: recallAtK(scores, labels, k),
    k,
  };
}
