export type { KeyedProcessor, ParseResult } from './processor.js';
export {
  StreamProcessor,
  StateLostError,
  DEFAULT_CHECKPOINT,
  DEFAULT_CONSUMER_TUNING,
  DEFAULT_MAX_EVENT_TIME_AHEAD,
  type StreamProcessorOptions,
  type StreamTopology,
  type CheckpointSettings,
  type ConsumerTuning,
  type StateLossPolicy,
} from './stream-processor.js';
export { isLive, isReady, type ConsumerState, type HealthReport } from './health.js';
export { rebuildCheckpoints, type RebuildOptions, type RebuildReport } from './rebuild.js';
export {
  DEAD_LETTER_HEADERS,
  TRUNCATED_BODY_BYTES,
  defaultDeadLetterTopic,
  type DeadLetter,
  type DeadLetterReason,
} from './dead-letter.js';
export { StreamMetrics, RecentSamples, serveMetrics, humanMs } from './metrics.js';
export { checkpointKeys, type CheckpointKeys } from './keys.js';
export { waitUntilCaughtUp, type ProcessorInput, type WaitCaughtUpOptions } from './caught-up.js';
export { coPartitionedAssigner } from './assigner.js';
export { environmentWithRecordedStack } from './recorded-stack.js';
export { featureSetProcessor } from './feature-set.js';
export { temporalJoin, type TemporalJoinOptions, type JoinSide, type JoinEvent, type JoinState } from './join.js';
