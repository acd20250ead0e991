import kafkajs from 'kafkajs';
import {
  type DurationMs,
  type FeatureSet,
  type FeatureVector,
  type OnlineState,
  type SourceEvent,
} from '@rtml/features';
import { checkpoint, processRecords, writeVectors, type SourceRecord } from '../batch.js';
import type { DeadLetter } from '../dead-letter.js';
import { featureSetProcessor } from '../feature-set.js';
import { checkpointKeys } from '../keys.js';
import type { KeyedProcessor } from '../processor.js';
import { DEFAULT_MAX_EVENT_TIME_AHEAD } from '../stream-processor.js';
import { Task } from '../task.js';
import { MemoryStore } from './memory-store.js';

// A CommonJS export Node's named-export detection misses; the default import has it.
const { Partitioners } = kafkajs;

export interface TestDriverOptions {
  /** As `StreamProcessorOptions.allowedLateness`: events older than stream time minus this are dead-lettered `late`. */
  readonly allowedLateness: DurationMs;
  /** Partitions of every input topic (default 1). Stream time, hence lateness and timers, is per partition. */
  readonly partitions?: number;
  /**
   * Input topics (default `['events']`); `pipe(…, { topic })` picks one. Several are co-partitioned, as for
   * `temporalJoin`.
   */
  readonly topics?: readonly string[];
  /** As `StreamProcessorOptions.maxEventTimeAhead` (default 1 day): later events are dead-lettered `future`. */
  readonly maxEventTimeAhead?: DurationMs;
  /** The driver's wall clock at creation, epoch ms (default `Date.now()`); only `advanceTime` moves it. */
  readonly startTime?: number;
  /**
   * Key -> partition; default kafkajs' DefaultPartitioner (murmur2, as Java clients), which the pipelines' producers
   * use.
   */
  readonly partitioner?: (key: string, partitions: number) => number;
  /**
   * As `StreamProcessorOptions.maxCachedEntitiesPerTask`; 0 reloads every clean entity from its checkpoint each batch.
   */
  readonly maxCachedEntitiesPerTask?: number;
  /**
   * A checkpoint after every this many batches of a partition (default 1). Larger values make `restart()` replay the
   * records since the last checkpoint, as the runtime does after a crash (their dead letters are sent again).
   */
  readonly checkpointEveryBatches?: number;
}

/** A record value: an object is sent as JSON, a string or bytes as they are, null as a tombstone. */
export type PipeValue = object | string | Uint8Array | null;

export interface PipeOptions {
  /** Default: the driver's first topic. */
  readonly topic?: string;
  /** Kafka key of every record; default each event's entity key (a value that does not parse gets no key). */
  readonly key?: string;
  /** Default: the partitioner's choice for the key (partition 0 without a key). */
  readonly partition?: number;
}

export interface TestDriver {
  /**
   * Appends the values to their partitions' logs and processes them as one fetched batch per partition, through
   * the runtime's own code: decode, validate, dead letters, lateness, timers, versioned vector writes, checkpoints.
   */
  pipe(values: readonly PipeValue[], options?: PipeOptions): Promise<void>;
  /**
   * Moves the wall clock on (it bounds `future` events; timers fire on event time, i.e. when events move stream time).
   */
  advanceTime(ms: number): void;
  /** The wall clock, epoch ms. */
  now(): number;
  /** The newest vector per entity, as the online store serves them (sorted by entity id). */
  vectors(): FeatureVector[];
  vector(entityId: string): FeatureVector | undefined;
  /**
   * Every dead letter so far, in the order the runtime sent them: reason, detail, source topic/partition/offset, key,
   * bytes.
   */
  deadLetters(): DeadLetter[];
  /**
   * Drops all in-memory state, as a crash or rebalance does: the next batch reloads each partition from its checkpoint
   * and replays the records after it.
   */
  restart(): void;
}

/**
 * Runs a feature set (or any `KeyedProcessor`) without Kafka or Redis, for unit tests, like Kafka Streams'
 * TopologyTestDriver. Only the two services are replaced: records are fed as fetched from in-memory partition logs
 * with increasing offsets, and writes go to `MemoryStore`, which keeps the online store's ordering of vectors and the
 * checkpoint's compare-and-set. Everything between is the runtime's code.
 */
export function createTestDriver<E extends SourceEvent>(
  featureSet: FeatureSet<E>,
  options: TestDriverOptions,
): TestDriver;
export function createTestDriver<S, E>(processor: KeyedProcessor<S, E>, options: TestDriverOptions): TestDriver;
export function createTestDriver<S, E>(
  target: FeatureSet<SourceEvent> | KeyedProcessor<S, E>,
  options: TestDriverOptions,
): TestDriver {
  return isProcessor(target)
    ? new Driver(target, options)
    : new Driver<OnlineState, SourceEvent>(featureSetProcessor(target), options);
}

function isProcessor<S, E>(target: FeatureSet<SourceEvent> | KeyedProcessor<S, E>): target is KeyedProcessor<S, E> {
  return typeof (target as KeyedProcessor<S, E>).apply === 'function';
}

/** kafkajs' default partitioner over `partitions` healthy partitions. */
function kafkaPartition(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
  }));
  return Partitioners.DefaultPartitioner()({ topic: '', partitionMetadata, message: { key, value: null } });
}

const GROUP = 'test-driver';

class Driver<S, E> implements TestDriver {
  private readonly store = new MemoryStore();
  private readonly tasks = new Map<number, Task<S>>();
  /** Records per `topic/partition`, at index = offset: the in-memory logs. */
  private readonly logs = new Map<string, SourceRecord[]>();
  private readonly letters: DeadLetter[] = [];
  private readonly topics: readonly string[];
  private readonly partitions: number;
  private clock: number;

  constructor(
    private readonly processor: KeyedProcessor<S, E>,
    private readonly options: TestDriverOptions,
  ) {
    this.topics = options.topics ?? ['events'];
    this.partitions = options.partitions ?? 1;
    this.clock = options.startTime ?? Date.now();
    if (!Number.isInteger(this.partitions) || this.partitions < 1)
      throw new Error(`createTestDriver: partitions must be a whole number >= 1, got ${this.partitions}`);
    if (this.topics.length === 0) throw new Error('createTestDriver: give at least one topic');
    if (!Number.isFinite(options.allowedLateness) || options.allowedLateness < 0)
      throw new Error(`createTestDriver: allowedLateness must be >= 0 ms, got ${options.allowedLateness}`);
    const every = options.checkpointEveryBatches ?? 1;
    if (!Number.isInteger(every) || every < 1)
      throw new Error(`createTestDriver: checkpointEveryBatches must be a whole number >= 1, got ${every}`);
  }

  async pipe(values: readonly PipeValue[], options: PipeOptions = {}): Promise<void> {
    const topic = options.topic ?? this.topics[0]!;
    if (!this.topics.includes(topic))
      throw new Error(`pipe: unknown topic "${topic}" (the driver's topics: ${this.topics.join(', ')})`);
    const byPartition = new Map<number, SourceRecord[]>();
    for (const value of values) {
      const bytes = toBytes(value);
      const key = options.key ?? this.keyOf(bytes, topic);
      const partition =
        options.partition ?? (key === null ? 0 : (this.options.partitioner ?? kafkaPartition)(key, this.partitions));
      if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions)
        throw new Error(`pipe: partition ${partition} does not exist (the driver has ${this.partitions})`);
      const records = byPartition.get(partition) ?? [];
      byPartition.set(partition, records);
      records.push(this.append(topic, partition, key === null ? null : Buffer.from(key), bytes));
    }
    for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) await this.processBatch(topic, partition);
  }

  advanceTime(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`advanceTime: ms must be a finite number >= 0, got ${ms}`);
    this.clock += ms;
  }

  now(): number {
    return this.clock;
  }

  vectors(): FeatureVector[] {
    return this.store.vectors(this.processor.name);
  }

  vector(entityId: string): FeatureVector | undefined {
    return this.store.vector(this.processor.name, entityId);
  }

  deadLetters(): DeadLetter[] {
    return [...this.letters];
  }

  restart(): void {
    this.tasks.clear();
  }

  /** The Kafka key a producer keying by entity would give the value; null when it does not parse. */
  private keyOf(bytes: Buffer | null, topic: string): string | null {
    if (bytes === null) return null;
    try {
      const parsed = this.processor.parse(JSON.parse(bytes.toString('utf8')), topic);
      return parsed.ok ? this.processor.entityIdOf(parsed.event) || null : null;
    } catch {
      return null;
    }
  }

  private append(topic: string, partition: number, key: Buffer | null, value: Buffer | null): SourceRecord {
    const log = this.logs.get(`${topic}/${partition}`) ?? [];
    this.logs.set(`${topic}/${partition}`, log);
    const record = { topic, partition, offset: String(log.length), key, value };
    log.push(record);
    return record;
  }

  /**
   * What `StreamProcessor` does with one fetched batch, minus Kafka: every record from the task's position (after a
   * restart, its checkpoint) to the log's end; dead letters first, then the vector writes and, when due, a checkpoint.
   */
  private async processBatch(topic: string, partition: number): Promise<void> {
    const task = await this.taskFor(partition);
    const records = this.logs.get(`${topic}/${partition}`)!.slice(Number(task.offsets[topic] ?? '0'));
    const outcome = await processRecords(task, this.processor, this.store, records, {
      allowedLatenessMs: this.options.allowedLateness,
      latestEventTime: this.clock + (this.options.maxEventTimeAhead ?? DEFAULT_MAX_EVENT_TIME_AHEAD),
    });
    this.letters.push(...outcome.deadLetters);
    await writeVectors(task, topic, String(Number(records.at(-1)!.offset) + 1), outcome, this.store);
    if (task.batchesSinceCheckpoint < (this.options.checkpointEveryBatches ?? 1)) return;
    if ((await checkpoint(task, this.processor, this.store, 0)) !== 'done') {
      this.tasks.delete(partition);
      throw new Error(
        `internal: the checkpoint of partition ${partition} was rejected (nothing else writes to the driver's store)`,
      );
    }
    task.evictBeyond(this.options.maxCachedEntitiesPerTask ?? 100_000);
  }

  private async taskFor(partition: number): Promise<Task<S>> {
    const cached = this.tasks.get(partition);
    if (cached) return cached;
    const task = await Task.load<S>(this.store, partition, checkpointKeys('test', GROUP, partition));
    this.tasks.set(partition, task);
    return task;
  }
}

function toBytes(value: PipeValue): Buffer | null {
  if (value === null) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value);
  return Buffer.from(JSON.stringify(value), 'utf8');
}
