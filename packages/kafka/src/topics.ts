// Every Kafka-facing component imports ensureTopics, so the kafkajs timer fix loads with it (see the module).
import './request-queue-patch.js';
import type { Admin, ITopicConfig } from 'kafkajs';

/** Metadata errors that only mean "the broker has not caught up with the controller yet". */
const NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Creates topics (existing ones are left alone) and waits until every partition has a leader.
 *
 * kafkajs' own `createTopics({ waitForLeaders: true })` gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft
 * broker answers for a few milliseconds after the controller has created the topic; we keep polling instead.
 * Only missing topics are sent: the broker answers an existing one with an error that kafkajs logs as an ERROR.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly ITopicConfig[],
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  if (topics.length === 0) return;
  const existing = new Set(await admin.listTopics());
  await createTopics(
    admin,
    topics.filter((t) => !existing.has(t.topic)),
  );
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (await allPartitionsLed(admin, names)) return;
    if (Date.now() > deadline)
      throw new Error(`topics not ready after ${opts.timeoutMs ?? 30_000} ms: ${names.join(', ')}`);
    await sleep(50);
  }
}

/**
 * Runs an admin request again while a broker answers that it does not know a topic yet: on a multi-broker cluster a
 * topic created a moment ago reaches each broker's metadata at its own pace, and kafkajs gives up at once for some
 * requests (`describeConfigs` fails on the first UNKNOWN_TOPIC_OR_PARTITION). Other errors are thrown as they come.
 */
export async function whileTopicsPropagate<T>(request: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await request();
    } catch (error) {
      if (!isNotReady(error) || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** kafkajs puts the broker's error type on the error, or on its `cause` when it wraps it (bail, retries exceeded). */
function isNotReady(error: unknown): boolean {
  const typed = error as { type?: string; cause?: { type?: string } } | undefined;
  return NOT_READY.has(typed?.type ?? '') || NOT_READY.has(typed?.cause?.type ?? '');
}

/** Thrown when the broker refuses to create a topic: one line naming each topic and the broker's reason. */
export class TopicCreationError extends Error {
  override readonly name = 'TopicCreationError';
}

interface BrokerError {
  readonly type?: string;
  readonly topic?: string;
  readonly message: string;
}

async function createTopics(admin: Admin, topics: readonly ITopicConfig[]): Promise<void> {
  if (topics.length === 0) return;
  try {
    // false (not an error) when a concurrent caller created them first
    await admin.createTopics({ topics: [...topics], waitForLeaders: false });
  } catch (error) {
    throw new TopicCreationError(`cannot create Kafka topic ${brokerReasons(error, topics).join('; ')}`, {
      cause: error,
    });
  }
}

/** Per topic, what the broker said (kafkajs wraps its per-topic errors in an aggregate, the aggregate in `cause`). */
function brokerReasons(error: unknown, topics: readonly ITopicConfig[]): string[] {
  const wrapped = error as BrokerError & { errors?: BrokerError[]; cause?: { errors?: BrokerError[] } };
  const errors = (wrapped.errors ?? wrapped.cause?.errors ?? [wrapped]).filter(
    (e) => e.type !== 'TOPIC_ALREADY_EXISTS',
  );
  return errors.map((e) => `${e.topic ?? topics.map((t) => t.topic).join(', ')}: ${e.type ?? 'error'} (${e.message})`);
}

async function allPartitionsLed(admin: Admin, names: string[]): Promise<boolean> {
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: names });
    return (
      topics.length === names.length &&
      topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
    );
  } catch (error) {
    if (isNotReady(error)) return false;
    throw error;
  }
}
