import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';

export interface TailedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/**
 * Reads topics from their beginning and keeps following them, with a group of its own that commits nothing: the
 * console only looks, so it must neither share a group with a processor nor leave positions that mean anything.
 */
export async function tailTopics(
  kafka: Kafka,
  purpose: string,
  topics: readonly string[],
  onMessage: (tailed: TailedMessage) => void,
): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: `rtml-console-${purpose}-${randomUUID()}`,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => onMessage({ topic, partition, message }),
  });
  return consumer;
}
