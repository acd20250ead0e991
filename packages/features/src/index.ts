export * from './time.js';
export * from './vector.js';
export { isoOrEpochMs } from './event-time.js';
export {
  source,
  entity,
  sliding,
  lifetime,
  count,
  sum,
  mean,
  min,
  max,
  last,
  distinctCount,
  lastK,
  request,
  transform,
  DefinitionError,
  AGGREGATION_FIELD_TYPES,
  type SourceEvent,
  type Source,
  type Entity,
  type FieldType,
  type FieldsOf,
  type Window,
  type SlidingWindow,
  type Aggregate,
  type CountAggregate,
  type FieldAggregate,
  type AggregateOptions,
  type RequestFeature,
  type Transform,
} from './definition.js';
export {
  featureSet,
  type FeatureSet,
  type FeatureSetDefinition,
  type AggregateFeature,
  type ValueType,
} from './feature-set.js';
export { featureService, type FeatureService } from './feature-service.js';
export { createOnlineEngine, modelInput, type OnlineEngine, type OnlineState, type ParseResult } from './online.js';
export type { Json } from './accumulators.js';
export {
  compileBackfillSql,
  runBackfill,
  type BackfillOptions,
  type BackfillResult,
  type EventTimeEncoding,
  type SqlConnection,
} from './offline.js';
