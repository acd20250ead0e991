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
 */
export async function ensureTopics(admin: Admin, topics: readonly ITopicConfig[], opts: { timeoutMs?: number } = {}): Promise<void> {
  if (topics.length === 0) return;
  await admin.createTopics({ topics: [...topics], waitForLeaders: false });
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (await allPartitionsLed(admin, names)) return;
    if (Date.now() > deadline) throw new Error(`topics not ready after ${opts.timeoutMs ?? 30_000} ms: ${names.join(', ')}`);
    await sleep(50);
  }
}

async function allPartitionsLed(admin: Admin, names: string[]): Promise<boolean> {
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: names });
    return topics.length === names.length && topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
  } catch (error) {
    if (NOT_READY.has((error as { type?: string }).type ?? '')) return false;
    throw error;
  }
}
