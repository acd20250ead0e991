export type { KeyedProcessor, ParseResult } from './processor.js';
export { StreamProcessor, type StreamProcessorOptions, type ConsumerTuning } from './stream-processor.js';
export { DEAD_LETTER_HEADERS, defaultDeadLetterTopic, type DeadLetter, type DeadLetterReason } from './dead-letter.js';
export { StreamMetrics, RecentSamples, serveMetrics } from './metrics.js';
export { checkpointKeys, type CheckpointKeys } from './keys.js';
export { waitUntilCaughtUp, type ProcessorInput, type WaitCaughtUpOptions } from './caught-up.js';
export { coPartitionedAssigner } from './assigner.js';
export { featureSetProcessor } from './feature-set.js';
export { temporalJoin, type TemporalJoinOptions, type JoinSide, type JoinEvent, type JoinState } from './join.js';
