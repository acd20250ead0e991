import { ensureTopics } from '@rtml/kafka';
import type { Admin, Producer } from 'kafkajs';
import { kafkaClient, type KafkaSettings } from '@rtml/connections';
import { SECURE_NAMING } from '@rtml/devstack';
import { duration, type OnlineEngine, type SourceEvent } from '@rtml/features';
import type { OnlineStore, RedisClient } from '@rtml/online-store';
import { featureSetProcessor, StreamProcessor, waitUntilCaughtUp } from '@rtml/stream';
import { engines, type Topics, type WireEvent } from './data.js';
import type { EventType } from './events.js';

export interface LivePipelineOptions {
  /** Set-up: creates the topics, produces the events and checks progress. */
  readonly kafka: KafkaSettings;
  readonly redis: RedisClient;
  /** The stream processors' own connections (the `processor` principal, or the set-up ones) and their store. */
  readonly processor: { readonly kafka: KafkaSettings; readonly store: OnlineStore };
  readonly topics: Topics;
  readonly runId: string;
  readonly partitions?: number;
}

const TYPES = Object.keys(engines) as EventType[];

const groupOf = (runId: string, type: EventType): string =>
  `${SECURE_NAMING.processorGroupPrefix}fraud-${runId}-${type}`;

/**
 * The streaming path for real: events produced to Kafka (one topic per type, keyed by user), one stream
 * processor per feature set keeping Redis up to date. `sendAndWait` returns once every event sent is
 * committed to Redis, which is what lets a replay score a transaction "just before" its own event.
 */
export class LivePipeline {
  private constructor(
    private readonly options: LivePipelineOptions,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly processors: readonly Runnable[],
  ) {}

  static async start(options: LivePipelineOptions): Promise<LivePipeline> {
    const kafka = kafkaClient(options.kafka, { clientId: `fraud-${options.runId}` });
    const admin = kafka.admin();
    await admin.connect();
    const numPartitions = options.partitions ?? 3;
    await ensureTopics(
      admin,
      TYPES.map((type) => ({ topic: options.topics[type], numPartitions })),
    );
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const processors = [
      processorFor(options, 'transaction', engines.transaction),
      processorFor(options, 'chargeback', engines.chargeback),
      processorFor(options, 'profile_update', engines.profile_update),
    ];
    await Promise.all(processors.map((p) => p.start()));
    return new LivePipeline(options, producer, admin, processors);
  }

  groupOf(type: EventType): string {
    return groupOf(this.options.runId, type);
  }

  async sendAndWait(events: readonly WireEvent[]): Promise<void> {
    if (events.length === 0) return;
    const byTopic = new Map<string, { key: string; value: string }[]>();
    for (const { event } of events) {
      const topic = this.options.topics[event.type];
      if (!byTopic.has(topic)) byTopic.set(topic, []);
      byTopic.get(topic)!.push({ key: event.userId, value: JSON.stringify(event) });
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    await this.producer.sendBatch({ topicMessages, acks: -1 });
    const inputs = TYPES.filter((type) => byTopic.has(this.options.topics[type])).map((type) => ({
      group: this.groupOf(type),
      topic: this.options.topics[type],
    }));
    await waitUntilCaughtUp(this.options.processor.store, this.admin, inputs, { pollMs: 10 });
  }

  async stop(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.stop()));
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}

interface Runnable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

function processorFor<E extends SourceEvent>(
  options: LivePipelineOptions,
  type: EventType,
  engine: OnlineEngine<E>,
): Runnable {
  return new StreamProcessor({
    topology: {
      processor: featureSetProcessor(engine.featureSet),
      topics: [options.topics[type]],
      // Events arrive in event-time order here; an hour of slack costs nothing.
      allowedLateness: duration.hours(1),
      deadLetterTopic: (source) => `${SECURE_NAMING.deadLetterTopicPrefix}${source}`,
    },
    kafka: options.processor.kafka,
    store: options.processor.store,
    group: groupOf(options.runId, type),
    // sendAndWait waits for the checkpoint after each segment: checkpoint every batch, as a replay needs no throughput.
    checkpoint: { intervalMs: 0 },
    consumer: { sessionTimeout: 6_000, heartbeatInterval: 500, rebalanceTimeout: 6_000, maxWaitTimeInMs: 20 },
    progressIntervalMs: 0,
  });
}
