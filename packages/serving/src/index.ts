export { createServingApp } from './app.js';
export {
  createScorer,
  createMultiEntityScorer,
  type ServingOptions,
  type MultiEntityScorerOptions,
  type BatchScorer,
  type ScoringModel,
  type Assembler,
  type ScoreResponse,
  type ServedFeature,
  type Fallback,
} from './scorer.js';
export { modelRow, trainingMeans, emptyHistoryValues, ServingError, type Fallbacks, type ModelRow } from './model-row.js';
export { KafkaServedLog, readServedLog, type ServedLog, type ServedRecord, type FeatureStatus, type KafkaServedLogOptions } from './served-log.js';
