import { once } from 'node:events';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaClient, kafkaLogCreator } from './kafka.js';
import { redisClient } from './redis.js';
import { readConnectionSettings } from './settings.js';

const closed = readConnectionSettings({ KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' });
const HOUR = 3_600_000;

function entry(message: string, error?: string | Error) {
  return { namespace: 'Consumer', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message, error } };
}

describe('outage reports', () => {
  it('demotes routine coordinator start-up retries to debug', () => {
    const lines: string[] = [];
    const log = kafkaLogCreator(closed.kafka, { write: (line) => lines.push(line) })(logLevel.ERROR);
    log(
      entry('Response GroupCoordinator', "The coordinator is loading and hence can't process requests for this group"),
    );
    log(entry('[Connection] Response FindCoordinator', 'The group coordinator is not available'));
    log(entry('Crash: KafkaJSNumberOfRetriesExceeded: The group coordinator is not available'));
    log(entry('Restarting the consumer in 300ms'));
    expect(lines).toEqual([]);
    log(entry('Crash: KafkaJSNonRetriableError: something else'));
    log(entry('Restarting the consumer in 300ms'));
    expect(lines).toEqual([
      '[kafka error] Consumer: Crash: KafkaJSNonRetriableError: something else',
      '[kafka error] Consumer: Restarting the consumer in 300ms',
    ]);
    lines.length = 0;
    kafkaLogCreator(closed.kafka, { write: (line) => lines.push(line) })(logLevel.DEBUG)(
      entry('x', 'The coordinator is loading'),
    );
    expect(lines).toHaveLength(1);
  });

  it('names the reason of an error kafkajs hands over as an Error object (eachBatch failures)', () => {
    const lines: string[] = [];
    kafkaLogCreator(closed.kafka, { write: (line) => lines.push(line) })(logLevel.ERROR)(
      entry('Error when calling eachBatch', new Error('MOVED 13850 127.0.0.1:7003')),
    );
    expect(lines).toEqual(['[kafka error] Consumer: Error when calling eachBatch MOVED 13850 127.0.0.1:7003']);
  });

  it(
    'leaves CreateTopics replies to the caller: no line for a topic that exists (ensureTopics reports real ' +
      'failures)',
    () => {
      const lines: string[] = [];
      const log = kafkaLogCreator(closed.kafka, { write: (line) => lines.push(line) })(logLevel.ERROR);
      log({ ...entry('Response CreateTopics(key: 19, version: 3)', 'Topic creation errors'), namespace: 'Connection' });
      expect(lines).toEqual([]);
      log({
        ...entry('Response Produce(key: 0, version: 7)', 'Not authorized to access topics'),
        namespace: 'Connection',
      });
      expect(lines).toHaveLength(1);
    },
  );

  it('reports an unreachable broker once per interval, naming KAFKA_BROKERS, without a stack', async () => {
    const lines: string[] = [];
    const kafka = kafkaClient(closed.kafka, {
      clientId: 'report-test',
      retry: { retries: 3, initialRetryTime: 50 },
      write: (line) => lines.push(line),
      intervalMs: HOUR,
    });
    const producer = kafka.producer();
    await expect(producer.connect()).rejects.toThrow(/ECONNREFUSED/);
    expect(lines).toEqual([
      '[kafka] cannot reach KAFKA_BROKERS=127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1); retrying',
    ]);
  });

  it('reports an unreachable Redis once per interval, naming REDIS_URL', async () => {
    const lines: string[] = [];
    const redis = redisClient(closed.redis, {
      retryStrategy: () => 10,
      write: (line) => lines.push(line),
      intervalMs: HOUR,
    });
    for (let i = 0; i < 3; i++) await once(redis, 'error'); // three failed attempts, one line
    redis.disconnect();
    expect(lines).toEqual([
      '[redis] cannot reach REDIS_URL=redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1); retrying the connection',
    ]);
  });
});
