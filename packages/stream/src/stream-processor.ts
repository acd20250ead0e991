import { ensureTopics, whileTopicsPropagate } from '@rtml/kafka';
import { KAFKA_BROKERS, kafkaClient, kafkaLogCreator, type KafkaSettings } from '@rtml/connections';
import kafkajs, {
  type Admin,
  type Batch,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type logCreator,
  type Producer,
} from 'kafkajs';
import { duration, type DurationMs } from '@rtml/features';
import type { OnlineStore } from '@rtml/online-store';
import { coPartitionedAssigner } from './assigner.js';
import { batchPosition } from './position.js';
import { checkpoint, processRecords, writeVectors, type BatchOutcome } from './batch.js';
import { resetPartition } from './checkpoint-reset.js';
import { defaultDeadLetterTopic, sendDeadLetters, type DeadLetterTarget } from './dead-letter.js';
import type { ConsumerState, HealthReport } from './health.js';
import { checkpointKeys } from './keys.js';
import { StreamMetrics } from './metrics.js';
import type { KeyedProcessor } from './processor.js';
import { CheckpointMovedError, Task } from './task.js';

/**
 * The connections package's logger (routine retries at debug, an unreachable broker once per interval) without
 * kafkajs' crash and restart lines: the processor reports a crash itself, in one line (see `watchConsumer`).
 */
function withoutCrashLines(base: logCreator): logCreator {
  return (level) => {
    const log = base(level);
    return (entry) => {
      if (!entry.log.message.startsWith('Crash') && !entry.log.message.startsWith('Restarting the consumer'))
        log(entry);
    };
  };
}

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

/**
 * Defaults chosen for failover within 10 s of a SIGKILL: a dead member is noticed after the session timeout
 * (6 s, the broker's minimum `group.min.session.timeout.ms`), and survivors learn of the rebalance at their next
 * heartbeat (1 s) or fetch (at most 500 ms of waiting). kafkajs' own defaults (30 s session, 3 s heartbeat, 5 s
 * fetch wait) took ~30 s. Six missed heartbeats are tolerated before a live member is expelled, and an expulsion
 * costs one rebalance, never correctness (commits are fenced).
 */
export const DEFAULT_CONSUMER_TUNING = {
  sessionTimeout: 6_000,
  heartbeatInterval: 1_000,
  maxWaitTimeInMs: 500,
} as const satisfies ConsumerTuning;

/** Default bound on how far an event's time may lie ahead of the processor's clock. */
export const DEFAULT_MAX_EVENT_TIME_AHEAD = duration.days(1);

/** What to do when a partition's checkpoint is gone from Redis although Kafka says the group had made progress. */
export type StateLossPolicy =
  /** Replay from offset 0 if the topic still holds it (exact rebuild); otherwise stop with an error. */
  | 'replay-if-complete'
  /**
   * Replay from the earliest retained offset even if retention deleted older events (lifetime aggregates miss them).
   */
  | 'replay';

/**
 * What is computed (Kafka Streams' Topology): the per-entity logic, its input topics and its event-time rules.
 * The same topology runs in `StreamProcessor` and in `createTestDriver`.
 */
export interface StreamTopology<S, E> {
  readonly processor: KeyedProcessor<S, E>;
  /** Co-partitioned input topics; partition N of each forms task N. */
  readonly topics: readonly string[];
  /**
   * Events up to this much older than the task's max event time still update results; older ones are dead-lettered as
   * `late`.
   */
  readonly allowedLateness: DurationMs;
  /**
   * Events dated more than this after the processor's clock are dead-lettered as `future` (default 1 day, see
   * README: far beyond any clock skew or time-zone slip, far below the years a unit or year error produces).
   * Such an event would otherwise set stream time ahead and make every later event of its partition `late`.
   */
  readonly maxEventTimeAhead?: DurationMs;
  readonly deadLetterTopic?: (sourceTopic: string) => string;
}

/** When a task checkpoints (README "How it works"); whichever limit is reached first, and on revoke and stop. */
export interface CheckpointSettings {
  /** Longest time between two checkpoints of a task that processed something (default 1,000 ms). */
  readonly intervalMs?: number;
  /** Most batches between two checkpoints (default 100). */
  readonly maxBatches?: number;
  /** How long a checkpoint waits for a replica to acknowledge the vectors behind it (`WAIT`; default 1,000 ms). */
  readonly replicaTimeoutMs?: number;
}

export const DEFAULT_CHECKPOINT = {
  intervalMs: 1_000,
  maxBatches: 100,
  replicaTimeoutMs: 1_000,
} as const satisfies CheckpointSettings;

/**
 * A processor: its topology plus where and how it runs (Kafka Streams' StreamsConfig). Everything in Redis (vectors,
 * checkpoints, fences) goes through `store`, so nothing can point at two servers.
 */
export interface StreamProcessorOptions<S, E> {
  readonly topology: StreamTopology<S, E>;
  /** Brokers, or the settings from @rtml/connections' `readKafkaSettings()` (TLS, SASL). */
  readonly kafka: KafkaSettings | { readonly brokers: readonly string[] };
  /** Vectors and checkpoints; checkpoint keys use its namespace. A single Redis or a Redis Cluster. */
  readonly store: OnlineStore;
  readonly group: string;
  readonly checkpoint?: CheckpointSettings;
  /** Default `replay-if-complete`. */
  readonly onStateLoss?: StateLossPolicy;
  /** Input topics that do not exist are created with this many partitions; without it they are an error. */
  readonly createMissingTopics?: { readonly numPartitions: number };
  readonly consumer?: ConsumerTuning;
  readonly clientId?: string;
  readonly log?: (line: string) => void;
  /** Period of the progress line; 0 = no progress lines. */
  readonly progressIntervalMs?: number;
  /**
   * Entity states kept in memory per task (LRU; default 100,000). Beyond it the least recently used are dropped
   * after a checkpoint and reloaded from Redis when next needed, so the bound costs reads, never correctness.
   */
  readonly maxCachedEntitiesPerTask?: number;
}

/**
 * Test hook (crash.test.ts): with RTML_STREAM_TEST_KILL_BETWEEN_CHECKPOINTS=1 the process SIGKILLs itself once a
 * task has written the vectors of two batches after a checkpoint, i.e. exactly between two checkpoints.
 */
const KILL_BETWEEN_CHECKPOINTS = process.env.RTML_STREAM_TEST_KILL_BETWEEN_CHECKPOINTS === '1';
function killBetweenCheckpointsForTests(task: Task<unknown>): void {
  if (KILL_BETWEEN_CHECKPOINTS && task.fence !== null && task.batchesSinceCheckpoint >= 2 && task.writtenNodes.size > 0)
    process.kill(process.pid, 'SIGKILL');
}

// A CommonJS enum Node's named-export detection misses; the default import has it.
const { ConfigResourceTypes } = kafkajs;

/** Room for a dead letter's headers (reason, detail, source, original key) on top of the record it carries. */
const DEAD_LETTER_HEADROOM_BYTES = 64 * 1024;
/** Kafka's default `max.message.bytes`, should a broker not report a topic's. */
const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

const nothingApplied = (): BatchOutcome => ({ deadLetters: [], vectors: [], appliedEventTimes: [], timerEmits: 0 });

/** The online store lost a partition's state and an exact replay is impossible: the processor stops. */
export class StateLostError extends Error {
  override readonly name = 'StateLostError';
}

/**
 * Consumes keyed events in a consumer group and maintains per-entity state and feature vectors in Redis, exactly
 * once: each batch writes its vectors, versioned by offset; every `checkpoint.intervalMs` / `maxBatches` a fenced
 * checkpoint (offsets, changed states, timers) follows, and recovery replays from it. Kafka's group offsets are
 * written after each checkpoint for lag monitoring only; positions are read from Redis.
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
  /** Per input topic: its dead-letter topic and that topic's record size limit (read at start). */
  private readonly deadLetterTargets = new Map<string, DeadLetterTarget>();
  private state: ConsumerState = 'starting';
  private stateReason: string | undefined;
  private reportFailure: (error: Error) => void = () => undefined;
  private readonly failure = new Promise<Error>((resolve) => (this.reportFailure = resolve));
  private readonly log: (line: string) => void;
  private assigned: Readonly<Record<string, readonly number[]>> = {};
  private progressTimer: NodeJS.Timeout | undefined;
  /** Tail of each task's batch chain: co-partitioned topics deliver batches of one task concurrently. */
  private readonly taskLocks = new Map<number, Promise<void>>();
  /** Monitoring-only Kafka offset commits: at most one in flight per topic-partition, the newest offset wins. */
  private readonly kafkaCommits = new Map<string, { inFlight: boolean; next: string | undefined }>();
  private readonly maxCachedEntities: number;
  private readonly maxEventTimeAhead: number;
  /** The brokers in use, for messages. */
  private readonly brokers: readonly string[];
  private readonly topology: StreamTopology<S, E>;
  private readonly checkpoints: Required<CheckpointSettings>;
  /** Set once the consumer left the group: Kafka offsets can no longer be committed. */
  private disconnected = false;
  /** Pending time-triggered checkpoint per task. */
  private readonly checkpointTimers = new Map<number, NodeJS.Timeout>();

  constructor(private readonly options: StreamProcessorOptions<S, E>) {
    const topology = (this.topology = options.topology);
    if (topology.topics.length === 0) throw new Error('StreamProcessor: give at least one input topic');
    if (!Number.isFinite(topology.allowedLateness) || topology.allowedLateness < 0)
      throw new Error(`StreamProcessor: allowedLateness must be >= 0 ms, got ${topology.allowedLateness}`);
    this.checkpoints = { ...DEFAULT_CHECKPOINT, ...options.checkpoint };
    for (const [name, value] of Object.entries(this.checkpoints)) {
      if (!Number.isInteger(value) || value < (name === 'maxBatches' ? 1 : 0))
        throw new Error(
          `StreamProcessor: checkpoint.${name} must be a whole number >= ${name === 'maxBatches' ? 1 : 0}, ` +
            `got ${value}`,
        );
    }
    this.deadLetterTopic = topology.deadLetterTopic ?? defaultDeadLetterTopic;
    this.log = options.log ?? ((line) => console.log(line));
    this.maxEventTimeAhead = topology.maxEventTimeAhead ?? DEFAULT_MAX_EVENT_TIME_AHEAD;
    if (Number.isNaN(this.maxEventTimeAhead) || this.maxEventTimeAhead < 0)
      throw new Error(`StreamProcessor: maxEventTimeAhead must be >= 0 ms, got ${this.maxEventTimeAhead}`);
    this.maxCachedEntities = options.maxCachedEntitiesPerTask ?? 100_000;
    if (!Number.isInteger(this.maxCachedEntities) || this.maxCachedEntities < 0)
      throw new Error(
        `StreamProcessor: maxCachedEntitiesPerTask must be a whole number >= 0, got ${this.maxCachedEntities}`,
      );
    // Rebalances and coordinator start-up are routine here (debug); an unreachable broker is one line per interval.
    const settings: KafkaSettings =
      'variable' in options.kafka ? options.kafka : { brokers: options.kafka.brokers, variable: KAFKA_BROKERS };
    this.brokers = settings.brokers;
    this.kafka = kafkaClient(settings, {
      clientId: options.clientId ?? `rtml-stream-${options.group}`,
      logCreator: withoutCrashLines(kafkaLogCreator(settings)),
    });
    const { partitionsConsumedConcurrently: _concurrency, ...tuning } = options.consumer ?? {};
    // read_committed (kafkajs' default, stated here because exactly-once depends on it): records of aborted
    // transactions are never applied.
    this.consumer = this.kafka.consumer({
      groupId: options.group,
      partitionAssigners: [coPartitionedAssigner],
      readUncommitted: false,
      ...DEFAULT_CONSUMER_TUNING,
      ...tuning,
    });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.admin = this.kafka.admin();
  }

  /** Partitions (task numbers) this instance currently owns. */
  assignedPartitions(): number[] {
    return [...new Set(Object.values(this.assigned).flat())].sort((a, b) => a - b);
  }

  /**
   * The consumer's real state, for `/healthz` and `/readyz` (`serveMetrics(registry, port, () => stream.health())`).
   */
  health(): HealthReport {
    return {
      state: this.state,
      ...(this.stateReason !== undefined && { reason: this.stateReason }),
      partitions: this.assignedPartitions(),
    };
  }

  /**
   * Resolves (never rejects) with the reason once the processor has given up for good: a consumer crash kafkajs does
   * not restart, or an online store that lost its state when an exact replay is impossible. The consumer is then
   * disconnected; a CLI should exit non-zero so a supervisor restarts it (or a person looks).
   */
  whenFailed(): Promise<Error> {
    return this.failure;
  }

  async start(): Promise<void> {
    await Promise.all([this.admin.connect(), this.producer.connect(), this.consumer.connect()]);
    await this.prepareTopics();
    this.watchConsumer();
    // kafkajs resolves a fetch holding only transaction markers or aborted records itself, without calling eachBatch
    // (batchSize 0): commit past it here, or a partition whose log ends that way would look behind forever.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0) return;
      this.withTaskLock(payload.partition, () => this.skipHiddenRecords(payload)).catch((error: Error) => {
        this.tasks.delete(payload.partition);
        this.log(
          `[stream] partition ${payload.partition}: committing past markers/aborted records failed (the next ` +
            `batch repositions): ${error.message}`,
        );
      });
    });
    await this.consumer.subscribe({ topics: [...this.topology.topics], fromBeginning: true });
    const concurrency = this.options.consumer?.partitionsConsumedConcurrently ?? 3;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: (payload) => this.onBatch(payload),
    });
    const every = this.options.progressIntervalMs ?? 5_000;
    if (every > 0) this.progressTimer = setInterval(() => this.logProgress(), every).unref();
  }

  private logProgress(): void {
    const line = this.metrics.progressLine(this.topology.processor.name);
    if (line !== undefined) this.log(line);
  }

  private setState(state: ConsumerState, reason?: string): void {
    if (this.state === 'failed') return; // final
    this.state = state;
    this.stateReason = reason;
  }

  /** Tracks the consumer's life cycle for health(), and turns a crash kafkajs will not recover from into a failure. */
  private watchConsumer(): void {
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, (event) => {
      // Another instance may have committed while we did not own a partition: rebuild every task from Redis.
      this.tasks.clear();
      this.metrics.forgetLag();
      this.assigned = event.payload.memberAssignment;
      this.setState('ready');
      void this.positionAssigned(event.payload.memberAssignment);
    });
    this.consumer.on(events.REBALANCING, () => {
      this.setState('rebalancing');
      void this.checkpointAll(); // partitions may move: the next owner then replays less
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      if (!payload.restart) {
        this.fail(new Error(`Kafka consumer crashed and will not restart: ${payload.error.message}`));
        return;
      }
      this.setState('restarting', payload.error.message);
      this.log(`[stream] Kafka consumer crashed (${payload.error.message}); kafkajs restarts it`);
    });
    this.consumer.on(events.STOP, () => this.setState('stopped'));
  }

  /**
   * Seeks every assigned partition to its offset in Redis right away. The consumer starts at Kafka's group offset
   * (monitoring only), and when nothing lies after it (a rebuilt or lost checkpoint behind a caught-up group) no
   * batch would ever arrive to reposition it. Loading the tasks here also detects a lost store at assignment.
   */
  private async positionAssigned(assignment: Readonly<Record<string, readonly number[]>>): Promise<void> {
    const partitions = [...new Set(Object.values(assignment).flat())];
    await Promise.all(
      partitions.map((partition) =>
        this.withTaskLock(partition, () => this.seekToCheckpoint(partition)).catch((error: Error) =>
          this.repositionFailed(partition, error),
        ),
      ),
    );
  }

  /** Loads the task (detecting a lost store) and seeks every owned topic of the partition to its position. */
  private async seekToCheckpoint(partition: number): Promise<void> {
    const task = await this.taskFor(partition);
    for (const [topic, owned] of Object.entries(this.assigned)) {
      if (owned.includes(partition))
        this.consumer.seek({ topic, partition, offset: await this.committedOffset(task, topic) });
    }
  }

  /**
   * After a failed checkpoint the partition must replay from its last one even when no batch is coming (everything
   * fetched was processed already): retried every checkpoint interval until it works (e.g. Redis is back).
   */
  private repositionFailed(partition: number, error: Error): void {
    if (error instanceof StateLostError) return this.fail(error);
    this.log(`[stream] partition ${partition}: repositioning at its checkpoint failed (retrying): ${error.message}`);
    setTimeout(
      () => {
        if (this.state === 'stopped' || this.state === 'failed' || !this.assignedPartitions().includes(partition))
          return;
        void this.withTaskLock(partition, () => this.seekToCheckpoint(partition)).catch((again: Error) =>
          this.repositionFailed(partition, again),
        );
      },
      Math.max(this.checkpoints.intervalMs, 500),
    ).unref();
  }

  /** Gives up for good: health turns failed, whenFailed() resolves, the consumer leaves the group. */
  private fail(error: Error): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.stateReason = error.message;
    this.reportFailure(error);
    // Not awaited: a batch may call this, and disconnect waits for running batches.
    void this.consumer.disconnect().catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.state !== 'failed') this.setState('stopped');
    clearInterval(this.progressTimer);
    await this.checkpointAll();
    for (const slot of this.kafkaCommits.values()) slot.next = undefined; // nothing new to send while leaving
    await this.consumer.disconnect();
    this.disconnected = true;
    // Batches that ran meanwhile: the checkpoint's fence still guards against a new owner that committed.
    await this.checkpointAll();
    for (const timer of this.checkpointTimers.values()) clearTimeout(timer);
    await Promise.all([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /**
   * Checks (or creates) the input topics and creates missing dead-letter topics with a `max.message.bytes` that fits
   * the largest input record plus the letter's headers: with the broker's default limit a large bad record could not
   * be dead-lettered, and a partition would stop at it. Existing dead-letter topics keep their limit; letters too big
   * for it are stored bounded (see `toDeadLetterMessage`).
   */
  private async prepareTopics(): Promise<void> {
    const existingTopics = new Set(await this.admin.listTopics());
    await this.ensureInputTopics(existingTopics);
    const metadata = await whileTopicsPropagate(() =>
      this.admin.fetchTopicMetadata({ topics: [...this.topology.topics] }),
    );
    const inputLimits = await this.maxMessageBytes(this.topology.topics);
    const largestInput = Math.max(...inputLimits.values());
    const missing = metadata.topics
      .map((topic) => ({ topic: this.deadLetterTopic(topic.name), numPartitions: topic.partitions.length }))
      .filter((topic) => !existingTopics.has(topic.topic));
    const configEntries = [{ name: 'max.message.bytes', value: String(largestInput + DEAD_LETTER_HEADROOM_BYTES) }];
    if (missing.length > 0)
      await ensureTopics(
        this.admin,
        missing.map((topic) => ({ ...topic, configEntries })),
      );
    const dlqLimits = await this.maxMessageBytes([...new Set(this.topology.topics.map(this.deadLetterTopic))]);
    for (const source of this.topology.topics) {
      const topic = this.deadLetterTopic(source);
      this.deadLetterTargets.set(source, { topic, maxMessageBytes: dlqLimits.get(topic)! });
    }
  }

  private async ensureInputTopics(existingTopics: ReadonlySet<string>): Promise<void> {
    const missing = this.topology.topics.filter((topic) => !existingTopics.has(topic));
    if (missing.length === 0) return;
    const create = this.options.createMissingTopics;
    if (create === undefined) throw new Error(this.missingInputTopics(missing));
    await ensureTopics(
      this.admin,
      missing.map((topic) => ({ topic, numPartitions: create.numPartitions })),
    );
    this.log(`[stream] created input topic(s) ${missing.join(', ')} with ${create.numPartitions} partitions`);
  }

  /** Under ACLs a topic its user may not Describe is left out of the topic list, so "missing" may be "hidden". */
  private missingInputTopics(missing: readonly string[]): string {
    const { kafka } = this.options;
    const user = 'sasl' in kafka ? kafka.sasl?.username : undefined;
    if (user !== undefined) {
      return (
        `input topic(s) ${missing.join(', ')} do not exist or KAFKA_SASL_USERNAME=${user} may not see them: ` +
        `create them as an admin user, ` +
        `or run as a user with Read and Describe on them`
      );
    }
    const commands = missing.map(
      (topic) =>
        `kafka-topics.sh --bootstrap-server ${this.brokers.join(',')} --create --topic ${topic} --partitions 3`,
    );
    return `input topic(s) ${missing.join(', ')} do not exist; create them first (${commands.join('; ')})`;
  }

  /** Effective `max.message.bytes` of each topic (its own setting, or the broker default it inherits). */
  private async maxMessageBytes(topics: readonly string[]): Promise<Map<string, number>> {
    const { resources } = await whileTopicsPropagate(() =>
      this.admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({
          type: ConfigResourceTypes.TOPIC,
          name,
          configNames: ['max.message.bytes'],
        })),
      }),
    );
    return new Map(
      resources.map((resource) => [
        resource.resourceName,
        Number(resource.configEntries[0]?.configValue ?? KAFKA_DEFAULT_MAX_MESSAGE_BYTES),
      ]),
    );
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
  private async skipHiddenRecords({
    topic,
    partition,
    firstOffset,
    lastOffset,
    highWatermark,
  }: {
    topic: string;
    partition: number;
    firstOffset: string;
    lastOffset: string;
    highWatermark: string;
  }): Promise<void> {
    const task = await this.taskFor(partition);
    // Otherwise the next data batch positions the consumer (batchPosition) and commits past them itself.
    if (BigInt(await this.committedOffset(task, topic)) !== BigInt(firstOffset)) return;
    const next = (BigInt(lastOffset) + 1n).toString();
    await writeVectors(task, topic, next, nothingApplied(), this.options.store);
    this.metrics.recordLag(topic, partition, Number(BigInt(highWatermark) - BigInt(next)));
    await this.afterBatch(task);
  }

  private async onBatchLocked(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (payload.isStale() || !payload.isRunning()) return;
    try {
      await this.processBatch(payload);
    } catch (error) {
      // The in-memory image may be ahead of Redis now; the retry rebuilds it from the last checkpoint and replays.
      this.tasks.delete(batch.partition);
      if (error instanceof StateLostError) this.fail(error);
      else if (error instanceof CheckpointMovedError)
        await this.replayFromCheckpoint(batch.partition).catch((failure: Error) =>
          this.repositionFailed(batch.partition, failure),
        );
      else throw error;
    }
  }

  // eslint-disable-next-line @typescript-eslint/unbound-method -- kafkajs's payload functions are closures
  private async processBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    const receivedAt = Date.now();
    const { topic, partition } = batch;
    const task = await this.taskFor(partition);
    const committed = BigInt(await this.committedOffset(task, topic));
    const first = batch.messages[0];
    const last = batch.messages.at(-1);
    if (first === undefined || last === undefined) return;
    const position = batchPosition(
      { first: BigInt(batch.firstOffset() ?? first.offset), lastMessage: BigInt(last.offset) },
      committed,
      task.lastSeek.get(topic),
    );
    if (position === 'seek') {
      task.lastSeek.set(topic, committed);
      this.consumer.seek({ topic, partition, offset: committed.toString() });
      return;
    }
    const fresh =
      position === 'process' ? batch.messages : batch.messages.filter((message) => BigInt(message.offset) >= committed);
    const sources = fresh.map((message) => ({
      topic,
      partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
    }));
    const outcome = await processRecords(task, this.topology.processor, this.options.store, sources, {
      allowedLatenessMs: this.topology.allowedLateness,
      latestEventTime: receivedAt + this.maxEventTimeAhead,
    });
    // Dead letters are durable before a checkpoint moves past them: a crash may duplicate one, never lose it.
    await sendDeadLetters(this.producer, (source) => this.deadLetterTargets.get(source)!, outcome.deadLetters);
    await heartbeat();
    // Through the batch's last record, so trailing transaction markers are not fetched again after a restart.
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await writeVectors(task, topic, next, outcome, this.options.store);
    killBetweenCheckpointsForTests(task);
    resolveOffset(last.offset);
    this.recordMetrics(batch, next, outcome, receivedAt);
    await this.afterBatch(task);
  }

  /** Checkpoints when a limit is reached, else makes sure the interval's checkpoint comes even if no batch does. */
  private async afterBatch(task: Task<S>): Promise<void> {
    const dueAt = task.lastCheckpointAt + this.checkpoints.intervalMs;
    if (task.batchesSinceCheckpoint >= this.checkpoints.maxBatches || Date.now() >= dueAt)
      await this.checkpointTask(task);
    else this.scheduleCheckpoint(task.partition, dueAt - Date.now());
  }

  /** A checkpoint of whatever task the partition has then, unless one is scheduled already. */
  private scheduleCheckpoint(partition: number, delayMs: number): void {
    if (this.checkpointTimers.has(partition)) return;
    const timer = setTimeout(() => {
      this.checkpointTimers.delete(partition);
      void this.withTaskLock(partition, async () => {
        const task = this.tasks.get(partition);
        if (task) await this.checkpointTask(task);
      }).catch((error: Error) => {
        this.tasks.delete(partition);
        this.repositionFailed(partition, error);
      });
    }, delayMs);
    this.checkpointTimers.set(partition, timer);
  }

  /** Checkpoints a task; on success its position goes to Kafka (monitoring) and its cache is trimmed. */
  private async checkpointTask(task: Task<S>): Promise<void> {
    const result = await checkpoint(
      task,
      this.topology.processor,
      this.options.store,
      this.checkpoints.replicaTimeoutMs,
    );
    if (result === 'moved') return this.replayFromCheckpoint(task.partition);
    if (result === 'lagging') {
      this.log(
        `[stream] partition ${task.partition}: a Redis replica has not acknowledged the vectors within ` +
          `${this.checkpoints.replicaTimeoutMs} ms; checkpoint deferred`,
      );
      task.lastCheckpointAt = Date.now(); // retried after another interval, not at once
      if (!this.disconnected) this.scheduleCheckpoint(task.partition, this.checkpoints.intervalMs);
      return;
    }
    // Not while rebalancing or after leaving: Kafka refuses those commits; the next checkpoint's commit catches up.
    if (this.state === 'ready' && !this.disconnected)
      for (const [topic, offset] of Object.entries(task.offsets)) this.commitToKafka(topic, task.partition, offset);
    task.evictBeyond(this.maxCachedEntities);
  }

  /** Checkpoints every task (revoke, stop); failures are logged (the next owner replays from the last checkpoint). */
  private async checkpointAll(): Promise<void> {
    await Promise.all(
      [...this.tasks.values()].map((task) =>
        this.withTaskLock(task.partition, () =>
          this.tasks.get(task.partition) === task ? this.checkpointTask(task) : Promise.resolve(),
        ).catch((error: Error) =>
          this.log(
            `[stream] partition ${task.partition}: final checkpoint failed (the next owner replays from the ` +
              `last one): ${error.message}`,
          ),
        ),
      ),
    );
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

  /**
   * A task's fence moved: another instance checkpointed it (this image is stale), or the checkpoint is gone. Drops the
   * image and seeks to the checkpoint at once: no batch may be coming to reposition the consumer.
   */
  private async replayFromCheckpoint(partition: number): Promise<void> {
    this.tasks.delete(partition);
    const keys = checkpointKeys(this.options.store.namespace, this.options.group, partition);
    if ((await this.options.store.loadCheckpoint(keys)).fence === null) {
      this.log(
        `[stream] partition ${partition}: the online store lost its state (the partition's checkpoint is ` +
          `gone from Redis); checking whether an exact replay is possible`,
      );
    } else {
      this.metrics.fenceRejections.inc();
      this.log(`[stream] partition ${partition}: another instance checkpointed first; reloading state from Redis`);
    }
    await this.seekToCheckpoint(partition);
  }

  private recordMetrics(batch: Batch, nextOffset: string, outcome: BatchOutcome, receivedAt: number): void {
    const committedAt = Date.now();
    this.metrics.recordCommit(
      batch.topic,
      outcome.appliedEventTimes.length,
      committedAt - receivedAt,
      outcome.appliedEventTimes.map((t) => committedAt - t),
    );
    for (const letter of outcome.deadLetters) this.metrics.recordDeadLetter(batch.topic, letter.reason);
    this.metrics.timerEmits.inc(outcome.timerEmits);
    this.metrics.recordLag(batch.topic, batch.partition, Number(BigInt(batch.highWatermark) - BigInt(nextOffset)));
  }

  private async taskFor(partition: number): Promise<Task<S>> {
    const cached = this.tasks.get(partition);
    if (cached) return cached;
    const keys = checkpointKeys(this.options.store.namespace, this.options.group, partition);
    let task = await Task.load<S>(this.options.store, partition, keys);
    if (task.fence === null && (await this.recoverLostState(partition)))
      task = await Task.load<S>(this.options.store, partition, keys);
    this.tasks.set(partition, task);
    return task;
  }

  /**
   * A partition without a checkpoint in Redis is new, unless Kafka holds a group offset for it: offsets reach Kafka
   * only after their Redis commit, so then the online store lost its state (a restart without persistence, a
   * FLUSHALL, eviction). Replaying silently would be wrong when retention has deleted the head of the log, so:
   * replay when the topic still starts at offset 0 (or the policy allows a partial replay), otherwise fail.
   * True when the partition was reset for a replay.
   */
  private async recoverLostState(partition: number): Promise<boolean> {
    const progressed = await this.kafkaProgress(partition);
    if (progressed.length === 0) return false;
    const lows = await Promise.all(
      this.topology.topics.map(async (topic) => ({
        topic,
        low: (await this.admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)?.low ?? '0',
      })),
    );
    const truncated = lows.filter(({ low }) => low !== '0');
    const where =
      `partition ${partition} of group ${this.options.group} has no checkpoint in namespace ` +
      `${this.options.store.namespace}, but Kafka's group offsets say it had reached ${progressed.join(', ')}`;
    if (truncated.length > 0 && this.options.onStateLoss !== 'replay') {
      const earliest = truncated.map(({ topic, low }) => `${topic}[${partition}] starts at ${low}`).join(', ');
      throw new StateLostError(
        `the online store lost its state: ${where}; an exact replay is impossible (${earliest}, older events ` +
          `were deleted by retention). Rebuild it (README "Rebuild": rtml-stream rebuild, or --on-state-loss ` +
          `replay to accept a partial replay)`,
      );
    }
    const from =
      truncated.length > 0
        ? 'the earliest retained offsets (older events are missing from lifetime aggregates)'
        : 'offset 0 (the topic still holds every event)';
    this.log(
      `[stream] the online store lost its state: ${where}. Replaying the partition from ${from}; its dead ` +
        `letters are sent again`,
    );
    this.lowWatermarks.clear(); // retention may have moved them since they were cached
    return resetPartition(this.options.store, this.options.group, partition, null);
  }

  /** `topic@offset` of every input topic for which Kafka holds a committed group offset of this partition. */
  private async kafkaProgress(partition: number): Promise<string[]> {
    const committed = await this.admin.fetchOffsets({ groupId: this.options.group, topics: [...this.topology.topics] });
    return committed.flatMap(({ topic, partitions }) =>
      partitions.filter((p) => p.partition === partition && p.offset !== '-1').map((p) => `${topic}@${p.offset}`),
    );
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
