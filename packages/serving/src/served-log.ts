import type { Producer } from 'kafkajs';
import { KAFKA_BROKERS, kafkaClient, type KafkaSettings } from '@rtml/connections';
import { ensureTopics } from '@rtml/kafka';
import type { FeatureValues } from '@rtml/features';

/** Where a served feature value came from. `computed`: request-time feature or transform, never stale. */
export type FeatureStatus = 'fresh' | 'stale' | 'missing' | 'computed';

/** One served request, as logged for skew analysis: exactly what the model saw and why. */
export interface ServedRecord {
  readonly requestId: string;
  readonly entityId: string;
  /** Event time of the request (epoch ms). */
  readonly requestTime: number;
  /** Processing time the features were read at (epoch ms). */
  readonly servedAt: number;
  readonly model: string;
  /** Assembled feature values before fallbacks (null stays null). */
  readonly values: FeatureValues;
  readonly status: Readonly<Record<string, FeatureStatus>>;
  readonly fallbacks: readonly string[];
  readonly score: number;
}

export interface ServedLog {
  append(record: ServedRecord): void;
  /** Sends everything buffered; resolves when Kafka acknowledged it. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaServedLogOptions {
  readonly brokers: readonly string[];
  /** Kafka settings from @rtml/connections (TLS, SASL); when given they are used instead of `brokers`. */
  readonly kafka?: KafkaSettings;
  readonly topic: string;
  /** Records per produce call. */
  readonly batchSize?: number;
  /** A partial batch is sent after this long, so a quiet endpoint still logs promptly. */
  readonly lingerMs?: number;
  /** Partitions if the topic has to be created (default 3). */
  readonly partitions?: number;
}

/**
 * Batched, keyed by entity (per-entity order kept), acks from all in-sync replicas, idempotent (a retried batch is not
 * logged twice).
 */
export class KafkaServedLog implements ServedLog {
  private buffer: ServedRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly batchSize: number,
    private readonly lingerMs: number,
  ) {}

  static async connect(options: KafkaServedLogOptions): Promise<KafkaServedLog> {
    const kafka = kafkaClient(options.kafka ?? { brokers: options.brokers, variable: KAFKA_BROKERS }, {
      clientId: 'rtml-serving-log',
    });
    const admin = kafka.admin();
    await admin.connect();
    // Created up front and served by the broker: auto-creation on first send logs retries and races the first batch.
    await ensureTopics(admin, [{ topic: options.topic, numPartitions: options.partitions ?? 3 }]);
    await admin.disconnect();
    // Batches are sent one at a time anyway, so one request in flight (what idempotence needs) costs nothing.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    return new KafkaServedLog(producer, options.topic, options.batchSize ?? 500, options.lingerMs ?? 100);
  }

  append(record: ServedRecord): void {
    if (this.failure !== undefined) throw new Error(`served-vector log is failing: ${String(this.failure)}`);
    this.buffer.push(record);
    if (this.buffer.length >= this.batchSize) void this.send();
    else this.timer ??= setTimeout(() => void this.send(), this.lingerMs);
  }

  private send(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return this.inFlight;
    const messages = batch.map((r) => ({ key: r.entityId, value: JSON.stringify(r) }));
    // Chained so batches reach Kafka in the order they were appended.
    this.inFlight = this.inFlight
      .then(() => this.producer.send({ topic: this.topic, messages, acks: -1 }))
      .then(
        () => undefined,
        (error: unknown) => {
          this.failure = error instanceof Error ? error : new Error(String(error));
        },
      );
    return this.inFlight;
  }

  async flush(): Promise<void> {
    await this.send();
    if (this.failure !== undefined) throw new Error(`served-vector log failed: ${String(this.failure)}`);
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.producer.disconnect();
    }
  }
}

/** Reads a served-vector topic from the beginning up to its current end (for skew reports and tests). */
export async function readServedLog(settings: KafkaSettings, topic: string): Promise<ServedRecord[]> {
  const kafka = kafkaClient(settings, { clientId: 'rtml-served-log-reader' });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]),
  );
  const records: ServedRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `served-log-reader-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            if (message.value) records.push(JSON.parse(message.value.toString()) as ServedRecord);
          }
          if (Number(batch.lastOffset()) + 1 >= (remaining.get(batch.partition) ?? 0))
            remaining.delete(batch.partition);
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return records;
}
