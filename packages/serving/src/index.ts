export { createServingApp } from './app.js';
export {
  createScorer,
  createMultiEntityScorer,
  type ServingOptions,
  type ScorerOptions,
  type BatchScorer,
  type ScoringModel,
  type Assembler,
  type ScoreResponse,
  type ServedFeature,
  type Fallback,
} from './scorer.js';
export { ServingError } from './errors.js';
export {
  KafkaServedLog,
  readServedLog,
  type ServedLog,
  type ServedRecord,
  type FeatureStatus,
  type KafkaServedLogOptions,
} from './served-log.js';
