import { describe, expect, it } from 'vitest';
import { ConnectionError } from './errors.js';
import { describeRedis, readConnectionSettings, readKafkaSettings, readRedisSettings } from './settings.js';

describe('connection settings', () => {
  it('reads a broker list and a Redis URL', () => {
    const settings = readConnectionSettings({ KAFKA_BROKERS: '127.0.0.1:9092, [::1]:9093', REDIS_URL: 'rediss://app:secret@cache:6380/2' });
    expect(settings.kafka).toEqual({ brokers: ['127.0.0.1:9092', '[::1]:9093'], variable: 'KAFKA_BROKERS' });
    expect(settings.redis.url).toBe('rediss://app:secret@cache:6380/2');
    expect(describeRedis(settings.redis)).toBe('REDIS_URL=rediss://app:***@cache:6380/2');
  });

  it('names the variable and its value when a URL is malformed', () => {
    expect(() => readRedisSettings({ REDIS_URL: 'localhost:6379' })).toThrow(/^REDIS_URL="localhost:6379" is not a Redis URL: expected redis:\/\//);
    expect(() => readRedisSettings({ REDIS_URL: 'http://x:1' })).toThrow(ConnectionError);
    expect(() => readRedisSettings({ REDIS_URL: 'redis://u:hunter2@' })).toThrow(/REDIS_URL="redis:\/\/u:\*\*\*@"/);
  });

  it('names the variable and its value when a broker list is malformed', () => {
    for (const bad of ['kafka', 'kafka:', 'host:99999', 'a:1,,b:2', 'PLAINTEXT://a:9092']) {
      expect(() => readKafkaSettings({ KAFKA_BROKERS: bad }), bad).toThrow(`KAFKA_BROKERS="${bad}" is not a broker list`);
    }
  });

  it('lists every missing variable once, then what to do', () => {
    const error = (() => {
      try {
        readConnectionSettings({});
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error?.message.split('\n')).toEqual([
      'KAFKA_BROKERS is not set (expected host:port[,host:port...])',
      'REDIS_URL is not set (expected redis://host:port)',
      'set it, or start the stack with `npm run infra:up` and `eval "$(npm run --silent infra:status)"`',
    ]);
  });
});
