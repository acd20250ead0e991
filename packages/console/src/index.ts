export { createConsoleApp, parseTime, type ConsoleAppOptions } from './app.js';
export { ConsoleState, pipelineInput, type ConsoleSettings, type PipelineInput } from './state.js';
export {
  DeadLetterBook,
  readLetter,
  PREVIEW_CHARS,
  type LetterView,
  type ListedLetter,
  type RedriveNote,
  type StoredLetter,
} from './dead-letters.js';
export {
  Redriver,
  REDRIVEN_FROM_HEADER,
  DEFAULT_LEDGER_TOPIC,
  type RedriveOutcome,
  type RedriveRequest,
} from './redrive.js';
export { PipelineMonitor, type PipelineSample, type GroupView, type TopicView } from './pipeline.js';
export { explainEntity, sameValue, type EntityView, type EntitySetView, type FeatureRow } from './entity.js';
export { describeFeatureSet, humanDuration, type FeatureSetView } from './feature-sets.js';
export { readScenarioResults, scenarioResultsSchema, type ScenarioResults } from './scenario-results.js';
export { parsePrometheus, histogramQuantile } from './prometheus.js';
