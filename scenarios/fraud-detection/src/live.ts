import type { Redis } from 'ioredis';
import { ensureTopics } from '@rtml/kafka';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { duration, type OnlineEngine, type SourceEvent } from '@rtml/features';
import type { OnlineStore } from '@rtml/online-store';
import { featureSetProcessor, StreamProcessor } from '@rtml/stream';
import { engines, type Topics, type WireEvent } from './data.js';
import type { EventType } from './events.js';

export interface LivePipelineOptions {
  readonly brokers: readonly string[];
  readonly redis: Redis;
  readonly store: OnlineStore;
  readonly topics: Topics;
  readonly runId: string;
  readonly partitions?: number;
}

const TYPES = Object.keys(engines) as EventType[];

/**
 * The streaming path for real: events produced to Kafka (one topic per type, keyed by user), one stream
 * processor per feature set keeping Redis up to date. `sendAndWait` returns once every event sent is
 * committed to Redis, which is what lets a replay score a transaction "just before" its own event.
 */
export class LivePipeline {
  private readonly high = new Map<string, Map<number, number>>();

  private constructor(
    private readonly options: LivePipelineOptions,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly processors: readonly Runnable[],
  ) {}

  static async start(options: LivePipelineOptions): Promise<LivePipeline> {
    const kafka = new Kafka({ clientId: `fraud-${options.runId}`, brokers: [...options.brokers], logLevel: logLevel.ERROR });
    const admin = kafka.admin();
    await admin.connect();
    const numPartitions = options.partitions ?? 3;
    await ensureTopics(admin, TYPES.map((type) => ({ topic: options.topics[type], numPartitions })));
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
    return `fraud-${this.options.runId}-${type}`;
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
    await this.refreshHigh([...byTopic.keys()]);
    await this.waitCaughtUp([...byTopic.keys()]);
  }

  private async refreshHigh(topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      const offsets = await this.admin.fetchTopicOffsets(topic);
      this.high.set(topic, new Map(offsets.map((p) => [p.partition, Number(p.high)])));
    }
  }

  private async waitCaughtUp(topics: readonly string[], timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(topics);
    while (pending.size > 0) {
      for (const topic of [...pending]) if (await this.caughtUp(topic)) pending.delete(topic);
      if (pending.size === 0) return;
      if (Date.now() > deadline) throw new Error(`stream processors did not catch up on ${[...pending].join(', ')} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async caughtUp(topic: string): Promise<boolean> {
    const type = TYPES.find((t) => this.options.topics[t] === topic)!;
    const [committed] = await this.admin.fetchOffsets({ groupId: this.groupOf(type), topics: [topic] });
    const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return [...(this.high.get(topic) ?? new Map<number, number>())].every(([partition, high]) => high === 0 || (byPartition.get(partition) ?? -1) >= high);
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

function processorFor<E extends SourceEvent>(options: LivePipelineOptions, type: EventType, engine: OnlineEngine<E>): Runnable {
  return new StreamProcessor({
    brokers: options.brokers,
    redis: options.redis,
    store: options.store,
    group: `fraud-${options.runId}-${type}`,
    topics: [options.topics[type]],
    processor: featureSetProcessor(engine),
    // Events arrive in event-time order here; an hour of slack costs nothing.
    allowedLateness: duration.hours(1),
    consumer: { sessionTimeout: 6_000, heartbeatInterval: 500, rebalanceTimeout: 6_000, maxWaitTimeInMs: 20 },
    progressIntervalMs: 0,
  });
}
