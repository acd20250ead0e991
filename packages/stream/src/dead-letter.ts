import type { IHeaders, Message, Producer } from 'kafkajs';

export type DeadLetterReason = 'malformed-json' | 'schema' | 'missing-key' | 'late';

/** An input record the runtime refused, with everything needed to inspect or replay it. */
export interface DeadLetter {
  readonly reason: DeadLetterReason;
  readonly detail: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export const DEAD_LETTER_HEADERS = {
  reason: 'rtml-dlq-reason',
  detail: 'rtml-dlq-detail',
  topic: 'rtml-source-topic',
  partition: 'rtml-source-partition',
  offset: 'rtml-source-offset',
  originalKey: 'rtml-original-key',
} as const;

/**
 * Body = the original bytes untouched (replayable as-is); headers = why and where from.
 * The Kafka key is `topic:partition:offset`, so a duplicate sent again after a crash is recognisable.
 */
export function toDeadLetterMessage(letter: DeadLetter): Message {
  const headers: IHeaders = {
    [DEAD_LETTER_HEADERS.reason]: letter.reason,
    [DEAD_LETTER_HEADERS.detail]: letter.detail,
    [DEAD_LETTER_HEADERS.topic]: letter.topic,
    [DEAD_LETTER_HEADERS.partition]: String(letter.partition),
    [DEAD_LETTER_HEADERS.offset]: letter.offset,
  };
  if (letter.key) headers[DEAD_LETTER_HEADERS.originalKey] = letter.key;
  return { key: `${letter.topic}:${letter.partition}:${letter.offset}`, value: letter.value, headers };
}

export function defaultDeadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Sends and waits for all in-sync replicas, so a dead letter is durable before the offset moves past it. */
export async function sendDeadLetters(producer: Producer, topicFor: (source: string) => string, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const byTopic = new Map<string, Message[]>();
  for (const letter of letters) {
    const target = topicFor(letter.topic);
    byTopic.set(target, [...(byTopic.get(target) ?? []), toDeadLetterMessage(letter)]);
  }
  await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
}
