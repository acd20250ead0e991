import { createHash } from 'node:crypto';
import type { IHeaders, Message, Producer } from 'kafkajs';

export type DeadLetterReason = 'malformed-json' | 'schema' | 'missing-key' | 'late' | 'future';

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
  /** Only on a letter too large for its dead-letter topic: the body is then the first bytes of the record. */
  truncated: 'rtml-dlq-truncated',
  originalSize: 'rtml-original-size',
  originalSha256: 'rtml-original-sha256',
} as const;

/**
 * Bytes of the record kept in a truncated letter: enough to see what it was; the record itself stays in the input
 * topic.
 */
export const TRUNCATED_BODY_BYTES = 64 * 1024;
const TRUNCATED_KEY_BYTES = 1024;
/** Detail texts (zod reasons, parser errors) are cut here: a header should explain, not carry data. */
const MAX_DETAIL_CHARS = 2_000;
/** Kafka's record and batch framing per message, generously: sizes below are estimates for staying under a limit. */
const RECORD_OVERHEAD_BYTES = 512;

/**
 * Body = the original bytes untouched (replayable as-is); headers = why and where from.
 * The Kafka key is `topic:partition:offset`, so a duplicate sent again after a crash is recognisable.
 * A letter that would not fit `maxBytes` (its dead-letter topic's `max.message.bytes`) is stored bounded instead:
 * the first bytes of the record plus its size and SHA-256, so one huge record can never block the partition.
 */
export function toDeadLetterMessage(letter: DeadLetter, maxBytes = Infinity): Message {
  const headers: IHeaders = {
    [DEAD_LETTER_HEADERS.reason]: letter.reason,
    [DEAD_LETTER_HEADERS.detail]:
      letter.detail.length > MAX_DETAIL_CHARS ? `${letter.detail.slice(0, MAX_DETAIL_CHARS)}…` : letter.detail,
    [DEAD_LETTER_HEADERS.topic]: letter.topic,
    [DEAD_LETTER_HEADERS.partition]: String(letter.partition),
    [DEAD_LETTER_HEADERS.offset]: letter.offset,
  };
  if (letter.key) headers[DEAD_LETTER_HEADERS.originalKey] = letter.key;
  const message: Message = {
    key: `${letter.topic}:${letter.partition}:${letter.offset}`,
    value: letter.value,
    headers,
  };
  return messageSize(message) <= maxBytes ? message : bounded(message, letter, maxBytes);
}

function bounded(message: Message, letter: DeadLetter, maxBytes: number): Message {
  const value = letter.value ?? Buffer.alloc(0);
  const headers: IHeaders = {
    ...message.headers,
    [DEAD_LETTER_HEADERS.truncated]: 'true',
    [DEAD_LETTER_HEADERS.originalSize]: String(value.length),
    [DEAD_LETTER_HEADERS.originalSha256]: createHash('sha256').update(value).digest('hex'),
  };
  if (letter.key) headers[DEAD_LETTER_HEADERS.originalKey] = letter.key.subarray(0, TRUNCATED_KEY_BYTES);
  const withoutBody = messageSize({ ...message, value: null, headers });
  return {
    ...message,
    value: value.subarray(0, Math.max(0, Math.min(TRUNCATED_BODY_BYTES, maxBytes - withoutBody))),
    headers,
  };
}

/** Upper estimate of a message's size in a record batch. */
export function messageSize(message: Message): number {
  const bytes = (v: unknown) => (v === null || v === undefined ? 0 : Buffer.byteLength(v as Buffer | string));
  const headerBytes = Object.entries(message.headers ?? {}).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + bytes(value) + 8,
    0,
  );
  return bytes(message.key) + bytes(message.value) + headerBytes + RECORD_OVERHEAD_BYTES;
}

export function defaultDeadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Where dead letters of a source topic go, and the largest record that topic accepts. */
export interface DeadLetterTarget {
  readonly topic: string;
  readonly maxMessageBytes: number;
}

/**
 * Sends and waits for all in-sync replicas, so a dead letter is durable before the offset moves past it.
 * A topic's `max.message.bytes` bounds a whole record batch, so letters go in sends whose total fits it.
 */
export async function sendDeadLetters(
  producer: Producer,
  targetFor: (source: string) => DeadLetterTarget,
  letters: readonly DeadLetter[],
): Promise<void> {
  const sends: { topic: string; messages: Message[]; bytes: number }[] = [];
  const filling = new Map<string, { topic: string; messages: Message[]; bytes: number }>();
  for (const letter of letters) {
    const target = targetFor(letter.topic);
    const message = toDeadLetterMessage(letter, target.maxMessageBytes);
    const size = messageSize(message);
    let send = filling.get(target.topic);
    if (send === undefined || send.bytes + size > target.maxMessageBytes) {
      send = { topic: target.topic, messages: [], bytes: 0 };
      filling.set(target.topic, send);
      sends.push(send);
    }
    send.messages.push(message);
    send.bytes += size;
  }
  for (const { topic, messages } of sends) await producer.send({ topic, acks: -1, messages });
}
