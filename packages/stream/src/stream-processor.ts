import type { Redis } from 'ioredis';
import { ensureTopics } from '@rtml/kafka';
import { KAFKA_BROKERS, kafkaClient, type KafkaSettings } from '@rtml/connections';
import type { Admin, Batch, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { DurationMs } from '@rtml/features';
import type { OnlineStore } from '@rtml/online-store';
import { coPartitionedAssigner } from './assigner.js';
import { batchPosition } from './position.js';
import { applyBatch, decodeRecord, entitiesNeeded, type BatchOutcome } from './batch.js';
import { defaultDeadLetterTopic, sendDeadLetters } from './dead-letter.js';
import { checkpointKeys } from './keys.js';
import { StreamMetrics } from './metrics.js';
import type { KeyedProcessor } from './processor.js';
import { encodeOffsets, Task } from './task.js';

/** Kafka consumer timings; tests turn these down so rebalances after a crash take seconds, not minutes. */
export interface ConsumerTuning {
  readonly sessionTimeout?: number;
  readonly heartbeatInterval?: number;
  readonly rebalanceTimeout?: number;
  readonly maxBytesPerPartition?: number;
  readonly maxWaitTimeInMs?: number;
  /**
   * Partitions processed at once (kafkajs `partitionsConsumedConcurrently`; default 3). Batches of one task
   * never overlap (a lock per task); different tasks overlap their Redis and Kafka round trips with CPU work.
   */
  readonly partitionsConsumedConcurrently?: number;
}

export interface StreamProcessorOptions<S, E> {
  readonly brokers: readonly string[];
  /** Kafka settings from @rtml/connections (TLS, SASL); when given they are used instead of `brokers`. */
  readonly kafka?: KafkaSettings;
  readonly redis: Redis;
  /** Vectors, checkpoints and offsets go through its fenced `writeBatch`; checkpoint keys use its namespace. */
  readonly store: OnlineStore;
  readonly group: string;
  /** Co-partitioned input topics; partition N of each forms task N. */
  readonly topics: readonly string[];
  readonly processor: KeyedProcessor<S, E>;
  /** Events up to this much older than the task's max event time still update results; older ones are dead-lettered as `late`. */
  readonly allowedLateness: DurationMs;
  readonly deadLetterTopic?: (sourceTopic: string) => string;
  readonly consumer?: ConsumerTuning;
  readonly clientId?: string;
  readonly log?: (line: string) => void;
  /** Period of the progress line; 0 = no progress lines. */
  readonly progressIntervalMs?: number;
  /**
   * Entity states kept in memory per task (LRU; default 100,000). Beyond it the least recently used are dropped
   * after a commit and reloaded from their Redis snapshots when next needed, so the bound costs reads, never correctness.
   */
  readonly maxCachedEntitiesPerTask?: number;
}

const nothingApplied = (): BatchOutcome => ({ deadLetters: [], vectors: [], sideWrites: [], appliedEventTimes: [], timerEmits: 0 });

/**
 * Consumes keyed events in a consumer group and maintains per-entity state and feature vectors in Redis,
 * exactly once: each batch commits vectors, state snapshots and the next offset in ONE fenced Redis call.
 * Kafka's group offsets are written afterwards for lag monitoring only; positions are read from Redis.
 */
export class StreamProcessor<S, E> {
  readonly metrics = new StreamMetrics();
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly tasks = new Map<number, Task<S>>();
  private readonly lowWatermarks = new Map<string, Map<number, string>>();
  private readonly deadLetterTopic: (sourceTopic: string) => string;
  private readonly log: (line: string) => void;
  private assigned: Readonly<Record<string, readonly number[]>> = {};
  private progressTimer: NodeJS.Timeout | undefined;
  /** Tail of each task's batch chain: co-partitioned topics deliver batches of one task concurrently. */
  private readonly taskLocks = new Map<number, Promise<void>>();
  /** Monitoring-only Kafka offset commits: at most one in flight per topic-partition, the newest offset wins. */
  private readonly kafkaCommits = new Map<string, { inFlight: boolean; next: string | undefined }>();
  private readonly maxCachedEntities: number;

  constructor(private readonly options: StreamProcessorOptions<S, E>) {
    if (options.topics.length === 0) throw new Error('StreamProcessor: give at least one input topic');
    if (!Number.isFinite(options.allowedLateness) || options.allowedLateness < 0) throw new Error(`StreamProcessor: allowedLateness must be >= 0 ms, got ${options.allowedLateness}`);
    this.deadLetterTopic = options.deadLetterTopic ?? defaultDeadLetterTopic;
    this.log = options.log ?? ((line) => console.log(line));
    this.maxCachedEntities = options.maxCachedEntitiesPerTask ?? 100_000;
    if (!Number.isInteger(this.maxCachedEntities) || this.maxCachedEntities < 0) throw new Error(`StreamProcessor: maxCachedEntitiesPerTask must be a whole number >= 0, got ${this.maxCachedEntities}`);
    // Rebalances and coordinator start-up are routine here (debug); an unreachable broker is one line per interval.
    this.kafka = kafkaClient(options.kafka ?? { brokers: options.brokers, variable: KAFKA_BROKERS }, { clientId: options.clientId ?? `rtml-stream-${options.group}` });
    const { partitionsConsumedConcurrently: _concurrency, ...tuning } = options.consumer ?? {};
    // read_committed (kafkajs' default, stated here because exactly-once depends on it): records of aborted
    // transactions are never applied.
    this.consumer = this.kafka.consumer({ groupId: options.group, partitionAssigners: [coPartitionedAssigner], readUncommitted: false, ...tuning });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.admin = this.kafka.admin();
  }

  /** Partitions (task numbers) this instance currently owns. */
  assignedPartitions(): number[] {
    return [...new Set(Object.values(this.assigned).flat())].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await Promise.all([this.admin.connect(), this.producer.connect(), this.consumer.connect()]);
    await this.createDeadLetterTopics();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      // Another instance may have committed while we did not own a partition: rebuild every task from Redis.
      this.tasks.clear();
      this.metrics.forgetLag();
      this.assigned = event.payload.memberAssignment;
    });
    // kafkajs resolves a fetch holding only transaction markers or aborted records itself, without calling eachBatch
    // (batchSize 0): commit past it here, or a partition whose log ends that way would look behind forever.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0) return;
      this.withTaskLock(payload.partition, () => this.skipHiddenRecords(payload)).catch((error: Error) => {
        this.tasks.delete(payload.partition);
        this.log(`[stream] partition ${payload.partition}: committing past markers/aborted records failed (the next batch repositions): ${error.message}`);
      });
    });
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: true });
    const concurrency = this.options.consumer?.partitionsConsumedConcurrently ?? 3;
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: concurrency, eachBatch: (payload) => this.onBatch(payload) });
    const every = this.options.progressIntervalMs ?? 5_000;
    if (every > 0) this.progressTimer = setInterval(() => this.log(this.metrics.progressLine(this.options.processor.name)), every).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.progressTimer);
    for (const slot of this.kafkaCommits.values()) slot.next = undefined; // nothing new to send while leaving
    await this.consumer.disconnect();
    await Promise.all([this.producer.disconnect(), this.admin.disconnect()]);
  }

  private async createDeadLetterTopics(): Promise<void> {
    const existingTopics = new Set(await this.admin.listTopics());
    const missingInputs = this.options.topics.filter((topic) => !existingTopics.has(topic));
    if (missingInputs.length > 0) throw new Error(`input topic(s) ${missingInputs.join(', ')} do not exist; create them first`);
    const metadata = await this.admin.fetchTopicMetadata({ topics: [...this.options.topics] });
    const topics = metadata.topics.map((topic) => ({ topic: this.deadLetterTopic(topic.name), numPartitions: topic.partitions.length }));
    const missing = topics.filter((topic) => !existingTopics.has(topic.topic));
    if (missing.length > 0) await ensureTopics(this.admin, missing).catch((error: Error) => this.log(`[stream] creating dead-letter topics: ${error.message}`));
  }

  /** Runs the batch after any earlier batch of the same task (another topic of the same partition number). */
  private onBatch(payload: EachBatchPayload): Promise<void> {
    return this.withTaskLock(payload.batch.partition, () => this.onBatchLocked(payload));
  }

  /** Runs `work` after everything queued earlier for the same task; the queue entry is taken synchronously. */
  private async withTaskLock(partition: number, work: () => Promise<void>): Promise<void> {
    const previous = this.taskLocks.get(partition) ?? Promise.resolve();
    const current = previous.then(work);
    const tail = current.catch(() => undefined);
    this.taskLocks.set(partition, tail);
    try {
      await current;
    } finally {
      if (this.taskLocks.get(partition) === tail) this.taskLocks.delete(partition);
    }
  }

  /** Offset-only commit over records kafkajs never handed over, when they follow the committed offset directly. */
  private async skipHiddenRecords({ topic, partition, firstOffset, lastOffset, highWatermark }: { topic: string; partition: number; firstOffset: string; lastOffset: string; highWatermark: string }): Promise<void> {
    const task = await this.taskFor(partition);
    // Otherwise the next data batch positions the consumer (batchPosition) and commits past them itself.
    if (BigInt(await this.committedOffset(task, topic)) !== BigInt(firstOffset)) return;
    const next = (BigInt(lastOffset) + 1n).toString();
    if (!(await this.commit(task, topic, next, nothingApplied()))) return;
    this.metrics.recordLag(topic, partition, Number(BigInt(highWatermark) - BigInt(next)));
    this.commitToKafka(topic, partition, next);
  }

  private async onBatchLocked(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (payload.isStale() || !payload.isRunning()) return;
    try {
      await this.processBatch(payload);
    } catch (error) {
      // The in-memory image may be ahead of Redis now; the retry rebuilds it from the last commit.
      this.tasks.delete(batch.partition);
      throw error;
    }
  }

  private async processBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    const receivedAt = Date.now();
    const { topic, partition } = batch;
    const task = await this.taskFor(partition);
    const committed = BigInt(await this.committedOffset(task, topic));
    const first = batch.messages[0];
    const last = batch.messages.at(-1);
    if (first === undefined || last === undefined) return;
    const position = batchPosition({ first: BigInt(batch.firstOffset() ?? first.offset), lastMessage: BigInt(last.offset) }, committed, task.lastSeek.get(topic));
    if (position === 'seek') {
      task.lastSeek.set(topic, committed);
      this.consumer.seek({ topic, partition, offset: committed.toString() });
      return;
    }
    const fresh = position === 'process' ? batch.messages : batch.messages.filter((message) => BigInt(message.offset) >= committed);
    const records = fresh.map((message) => decodeRecord(this.options.processor, { topic, partition, offset: message.offset, key: message.key, value: message.value }));
    await task.loadEntities(this.options.redis, this.options.processor, entitiesNeeded(task, records));
    const outcome = applyBatch(task, this.options.processor, this.options.allowedLateness, records);
    // Dead letters are durable before the offset moves past them: a crash may duplicate one, never lose it.
    await sendDeadLetters(this.producer, this.deadLetterTopic, outcome.deadLetters);
    await heartbeat();
    // Through the batch's last record, so trailing transaction markers are not fetched again after a restart.
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    if (!(await this.commit(task, topic, next, outcome))) return;
    resolveOffset(last.offset);
    task.evictBeyond(this.maxCachedEntities);
    this.recordMetrics(batch, next, outcome, receivedAt);
    this.commitToKafka(topic, partition, next);
  }

  /**
   * Kafka's group offset only feeds lag dashboards (positions come from Redis), so the batch does not wait
   * for it: one commit per partition is in flight at a time and later batches just update the offset to send.
   */
  private commitToKafka(topic: string, partition: number, offset: string): void {
    const id = `${topic}/${partition}`;
    const slot = this.kafkaCommits.get(id) ?? { inFlight: false, next: undefined };
    this.kafkaCommits.set(id, slot);
    slot.next = offset;
    if (slot.inFlight) return;
    const send = (): void => {
      const next = slot.next;
      if (next === undefined) {
        slot.inFlight = false;
        return;
      }
      slot.inFlight = true;
      slot.next = undefined;
      this.consumer
        .commitOffsets([{ topic, partition, offset: next }])
        .catch((error: Error) => this.log(`[stream] Kafka offset commit (monitoring only) failed: ${error.message}`))
        .finally(send);
    };
    send();
  }

  /** One atomic Redis call; false (and the task dropped) when another instance committed first. */
  private async commit(task: Task<S>, topic: string, nextOffset: string, outcome: BatchOutcome): Promise<boolean> {
    const offsets = { ...task.offsets, [topic]: nextOffset };
    const fence = { key: task.keys.offsets, expected: task.fence, next: encodeOffsets(offsets), sideWrites: outcome.sideWrites };
    const result = await this.options.store.writeBatch(outcome.vectors, { fence });
    if (!result.applied) {
      this.tasks.delete(task.partition);
      this.metrics.fenceRejections.inc();
      this.log(`[stream] partition ${task.partition}: another instance committed first; reloading state from Redis`);
      return false;
    }
    task.fence = fence.next;
    task.offsets = offsets;
    return true;
  }

  private recordMetrics(batch: Batch, nextOffset: string, outcome: BatchOutcome, receivedAt: number): void {
    const committedAt = Date.now();
    this.metrics.recordCommit(batch.topic, outcome.appliedEventTimes.length, committedAt - receivedAt, outcome.appliedEventTimes.map((t) => committedAt - t));
    for (const letter of outcome.deadLetters) this.metrics.recordDeadLetter(batch.topic, letter.reason);
    this.metrics.timerEmits.inc(outcome.timerEmits);
    this.metrics.recordLag(batch.topic, batch.partition, Number(BigInt(batch.highWatermark) - BigInt(nextOffset)));
  }

  private async taskFor(partition: number): Promise<Task<S>> {
    const cached = this.tasks.get(partition);
    if (cached) return cached;
    const task = await Task.load<S>(this.options.redis, partition, checkpointKeys(this.options.store.namespace, this.options.group, partition));
    this.tasks.set(partition, task);
    return task;
  }

  /** Next offset to process: from Redis, or the start of the partition if this task never committed that topic. */
  private async committedOffset(task: Task<S>, topic: string): Promise<string> {
    const fromRedis = task.offsets[topic];
    if (fromRedis !== undefined) return fromRedis;
    let lows = this.lowWatermarks.get(topic);
    if (!lows) {
      lows = new Map((await this.admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.low] as const));
      this.lowWatermarks.set(topic, lows);
    }
    const low = lows.get(task.partition);
    if (low === undefined) throw new Error(`partition ${task.partition} of ${topic} not found in topic metadata`);
    return low;
  }
}
