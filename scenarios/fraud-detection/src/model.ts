import { precisionAtK, predictProbability, recallAtK, rocAuc, trainLogisticRegression, type LogisticModel } from '@rtml/ml';
import { modelRow, trainingMeans, type Fallbacks, type ScoringModel } from '@rtml/serving';
import type { FeatureValues } from '@rtml/features';
import { MODEL_FEATURES } from './features.js';

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
  const fallbacks = trainingMeans(examples.map((e) => e.values), MODEL_FEATURES);
  const rows = examples.map((e) => modelRow(e.values, MODEL_FEATURES, fallbacks).row);
  const logistic = trainLogisticRegression(MODEL_FEATURES, rows, examples.map((e) => e.label), { l2: 1e-3, iterations: 300 });
  return { logistic, fallbacks, scoring: { name, featureNames: MODEL_FEATURES, score: (row) => predictProbability(logistic, row) } };
}

export function scoreOffline(model: TrainedModel, examples: readonly Example[]): number[] {
  return examples.map((e) => model.scoring.score(modelRow(e.values, MODEL_FEATURES, model.fallbacks).row));
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
  return { auc: rocAuc(scores, labels), precisionAtK: precisionAtK(scores, labels, k), recallAtK: recallAtK(scores, labels, k), k };
}
