export * from './events.js';
export * from './features.js';
export {
  generateEvents,
  createWorld,
  configFor,
  SIZES,
  type GeneratorConfig,
  type SizeName,
  type World,
} from './generator.js';
export {
  createRecommendationApp,
  recommendRequest,
  type RecommendRequest,
  type RecommendResponse,
  type RankedCandidate,
} from './app.js';
export {
  runScenario,
  DEFAULT_HORIZON_MS,
  type ScenarioOptions,
  type ScenarioResult,
  type JoinResult,
  type ServingStats,
} from './pipeline.js';
export { JOINS, type Join } from './offline.js';
export { evaluate, type Metrics } from './evaluate.js';
