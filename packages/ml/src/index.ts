export {
  trainLogisticRegression,
  predictProbability,
  predictProbabilities,
  fitStandardiser,
  type LogisticModel,
  type Standardiser,
  type TrainOptions,
  type Matrix,
} from './logistic.js';
export { rocAuc, precisionAtK, recallAtK, logLoss } from './metrics.js';
export { groupedPrecisionRecallAtK, type GroupedRanking } from './ranking.js';
export {
  modelRow,
  trainingMeans,
  emptyHistoryValues,
  ModelInputError,
  type Fallbacks,
  type ModelRow,
} from './model-row.js';
export {
  populationStabilityIndex,
  psiBinEdges,
  mismatchRate,
  valuesMatch,
  type PsiOptions,
  type MismatchOptions,
  type Comparable,
} from './drift.js';
