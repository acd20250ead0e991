import type { Admin, Producer } from 'kafkajs';
import { kafkaClient, redisClient, type ConnectionSettings } from '@rtml/connections';
import { duration, type FeatureSet, type OnlineState } from '@rtml/features';
import { ensureTopics } from '@rtml/kafka';
import { deleteNamespace, OnlineStore, type RedisClient } from '@rtml/online-store';
import { defaultDeadLetterTopic, featureSetProcessor, StreamProcessor, waitUntilCaughtUp } from '@rtml/stream';
import type { ActivityEvent, RawActivityEvent } from './events.js';
import { recommender } from './features.js';

export interface OnlinePipelineOptions {
  /** Kafka and Redis, TLS and credentials included (`readConnectionSettings`). */
  readonly connections: ConnectionSettings;
  /** Unique per run: Kafka topics, consumer groups and Redis keys are all named after it. */
  readonly namespace: string;
  readonly partitions: number;
  readonly log?: (line: string) => void;
}

/** One input topic and one processor per feature set: a keyed processor needs its topic partitioned by its entity. */
interface Lane {
  readonly set: FeatureSet<ActivityEvent>;
  readonly topic: string;
  readonly group: string;
  readonly key: (event: RawActivityEvent) => string;
  readonly processor: StreamProcessor<OnlineState, ActivityEvent>;
}

/**
 * Kafka -> @rtml/stream -> Redis for the scenario's two feature sets. The events are produced once per entity
 * key (by user, by item), the Kafka Streams "repartition" step, so every entity's events meet in one task.
 */
export class OnlinePipeline {
  private constructor(
    readonly store: OnlineStore,
    private readonly redis: RedisClient,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly lanes: readonly Lane[],
    private readonly namespace: string,
  ) {}

  static async start(options: OnlinePipelineOptions): Promise<OnlinePipeline> {
    const { kafka: kafkaSettings, redis: redisSettings } = options.connections;
    const redis = redisClient(redisSettings);
    const store = new OnlineStore(redis, { namespace: options.namespace, featureSets: recommender });
    const kafka = kafkaClient(kafkaSettings, { clientId: `rtml-rec-${options.namespace}` });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([admin.connect(), producer.connect()]);
    const lanes = recommender.featureSets.map((set) => {
      const key = partitionKey(set);
      const topic = `${options.namespace}.activity.by-${set.entity.name}`;
      const group = `${options.namespace}-${set.name}`;
      const processor = new StreamProcessor({
        topology: { processor: featureSetProcessor(set), topics: [topic], allowedLateness: duration.minutes(1) },
        kafka: kafkaSettings,
        store,
        group,
        // The replay waits until caught up (the checkpoint) after each step: checkpoint every batch, not every second.
        checkpoint: { intervalMs: 0 },
        consumer: { maxWaitTimeInMs: 50 },
        progressIntervalMs: 0,
        ...(options.log ? { log: options.log } : {}),
      });
      return { set, topic, group, key, processor };
    });
    await ensureTopics(
      admin,
      lanes.map((l) => ({ topic: l.topic, numPartitions: options.partitions })),
    );
    await Promise.all(lanes.map((l) => l.processor.start()));
    return new OnlinePipeline(store, redis, admin, producer, lanes, options.namespace);
  }

  /** Creates more topics (e.g. served-vector logs) before anything writes to them; `stop` leaves them in place. */
  async createTopics(topics: readonly string[]): Promise<void> {
    await ensureTopics(
      this.admin,
      topics.map((topic) => ({ topic, numPartitions: 1 })),
    );
  }

  /** Sends events to every lane's topic, keyed by that lane's entity (acks from all in-sync replicas). */
  async produce(events: readonly RawActivityEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 2_000) {
      const chunk = events.slice(i, i + 2_000);
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: this.lanes.map((lane) => ({
          topic: lane.topic,
          messages: chunk.map((e) => ({ key: lane.key(e), value: JSON.stringify(e) })),
        })),
      });
    }
  }

  /** Resolves when every processor has checkpointed (in Redis, after its vectors) up to the end of its topic. */
  async waitCaughtUp(timeoutMs = 120_000): Promise<void> {
    await waitUntilCaughtUp(this.store, this.admin, this.lanes, { timeoutMs });
  }

  /** Stops the processors and deletes this run's topics and Redis keys (the dev stack is shared). */
  async stop(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.processor.stop()));
    await this.producer.disconnect();
    const topics = this.lanes.flatMap((l) => [l.topic, defaultDeadLetterTopic(l.topic)]);
    const existing = new Set(await this.admin.listTopics());
    await this.admin.deleteTopics({ topics: topics.filter((t) => existing.has(t)) }).catch(() => undefined);
    await this.admin.disconnect();
    await deleteNamespace(this.redis, this.namespace);
    this.redis.disconnect();
  }
}

/** The Kafka key of a lane: the id of its feature set's entity, so one entity = one partition. */
function partitionKey(set: FeatureSet<ActivityEvent>): (event: RawActivityEvent) => string {
  const field = set.entity.key;
  return (event) => {
    const id: unknown = (event as Record<string, unknown>)[field];
    if (typeof id !== 'string' || id === '') throw new Error(`event ${event.eventId} has no ${field}`);
    return id;
  };
}
