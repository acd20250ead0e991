export * from './time.js';
export * from './vector.js';
export { EVENT_TIME_RULE, ISO_WITH_OFFSET_PATTERN, isoOrEpochMs } from './event-time.js';
export { compareEventIds, compareEventKeys } from './order.js';
export {
  source,
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
export { featureSet, type FeatureSet, type FeatureSetDefinition, type AggregateFeature, type ValueType } from './feature-set.js';
export { createOnlineEngine, modelInput, type OnlineEngine, type OnlineState, type ParseResult } from './online.js';
export type { Json } from './accumulators.js';
export { compileBackfillSql, runBackfill, readBackfillHistory, rowAsOf, type BackfillOptions, type BackfillResult, type EventTimeEncoding, type HistoryRow, type SqlConnection } from './offline.js';
export { transactions, userTransactionFeatures, type TransactionEvent } from './example.js';
export { offlineOnlineAgree, type SummedInputs } from './agreement.js';
