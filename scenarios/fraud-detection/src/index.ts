// Public surface for notebooks and other tools: run the scenario, or use its pieces.
export { runScenario, type ScenarioOptions, type ScenarioResult, type PathStaleness } from './scenario.js';
export { configFor, SIZES, type SizeName } from './generator.js';
export { ALL_SETS, CONTEXT_SETS, type Transaction } from './features.js';
export type { FeatureSkew } from './skew.js';
export type { Metrics } from './model.js';
