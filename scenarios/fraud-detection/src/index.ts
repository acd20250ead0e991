// Public surface for notebooks and other tools: run the scenario, or use its pieces.
export {
  runScenario,
  type ScenarioOptions,
  type ScenarioResult,
  type PathStaleness,
  type LeakageSummary,
  type LeakedRow,
} from './scenario.js';
export { configFor, SIZES, type SizeName } from './generator.js';
export { fraudModel, type Transaction } from './features.js';
export { SKEWED_FEATURES, SKEW_THRESHOLDS, type FeatureSkew, type FeatureValuePairs } from './skew.js';
export type { Metrics } from './model.js';
export { resultsSummary, writeResultsFile, DEFAULT_RESULTS_FILE } from './results-file.js';
// The offline pieces on their own (no Kafka, seconds at `tiny`), for the workshop labs (workshop/).
export { collectScenarioData, type ScenarioData } from './data.js';
export { backfillAll } from './offline.js';
export { userTransactions, localHourOfDay } from './features.js';
