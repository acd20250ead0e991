import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TopicCreationError } from '@rtml/kafka';
import { ConnectionError, explainFailure } from './errors.js';

describe('explainFailure', () => {
  it('a ConnectionError is its message', () => {
    expect(explainFailure(new ConnectionError('REDIS_URL is not set'))).toBe('REDIS_URL is not set');
  });

  it('a Redis client giving up names REDIS_URL, without a stack', async () => {
    const redis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    redis.on('error', () => undefined);
    const error = await redis.get('x').catch((caught: unknown) => caught);
    redis.disconnect();
    expect((error as Error).name).toBe('MaxRetriesPerRequestError');
    expect(explainFailure(error)).toMatch(/^Redis stopped answering \(.*\); check that the server at REDIS_URL is up$/);
  });

  it('a Kafka client giving up names KAFKA_BROKERS, without a stack', async () => {
    const producer = new Kafka({
      brokers: ['127.0.0.1:1'],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).producer();
    const error = await producer.connect().catch((caught: unknown) => caught);
    expect(explainFailure(error)).toMatch(
      /^Kafka stopped answering \(.*ECONNREFUSED.*\); check that the brokers at KAFKA_BROKERS are up$/,
    );
  });

  it('a topic the broker would not create: its reasons, and for an ACL the setting to check, without a stack', () => {
    const denied =
      'cannot create Kafka topic dlq.x: TOPIC_AUTHORIZATION_FAILED (Not authorized to access topics: [Topic ' +
      'authorization failed])';
    expect(explainFailure(new TopicCreationError(denied))).toBe(
      `Kafka at KAFKA_BROKERS denied the operation (${denied}): the ACLs of KAFKA_SASL_USERNAME do not allow it`,
    );
    const invalid = 'cannot create Kafka topic t: INVALID_REPLICATION_FACTOR (Replication factor is invalid)';
    expect(explainFailure(new TopicCreationError(invalid))).toBe(invalid);
  });

  it('anything else keeps its stack (a bug), or only its message when asked', () => {
    const bug = new TypeError('x is undefined');
    expect(explainFailure(bug)).toBe(bug.stack);
    expect(explainFailure(bug, 'message')).toBe('x is undefined');
  });
});
