export { OfflineStore, type OfflineStoreOptions } from './store.js';
export type { RelationSource, Row } from './db.js';
export type { EventsInput } from './events.js';
export type { HistoryRow, HistorySource, AppendResult } from './history.js';
export type { LabelRow, LabelSource } from './labels.js';
export type { LatestQuery } from './time-travel.js';
export type {
  TrainingFeatureSet,
  JoinStrategy,
  JoinedFeatureSet,
  TrainingSet,
  TrainingSetRequest,
} from './training-set.js';
export type { Leak, LeakageCheckOptions, LeakageReport, LeakageRule } from './leakage.js';
export type { ExportFormat } from './export.js';
export { FEATURE_TYPES, type FeatureSchema, type FeatureType } from './schema.js';
export { InvalidIdentifierError } from './sql.js';
