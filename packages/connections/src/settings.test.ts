import { describe, expect, it } from 'vitest';
import { ConnectionError } from './errors.js';
import { describeRedis, readConnectionSettings, readKafkaSettings, readRedisSettings } from './settings.js';

describe('connection settings', () => {
  it('reads a broker list and a Redis URL', () => {
    const settings = readConnectionSettings({
      KAFKA_BROKERS: '127.0.0.1:9092, [::1]:9093',
      REDIS_URL: 'rediss://app:secret@cache:6380/2',
    });
    expect(settings.kafka).toEqual({ brokers: ['127.0.0.1:9092', '[::1]:9093'], variable: 'KAFKA_BROKERS' });
    expect(settings.redis.url).toBe('rediss://app:secret@cache:6380/2');
    expect(describeRedis(settings.redis)).toBe('REDIS_URL=rediss://app:***@cache:6380/2');
  });

  it('reads a Redis Cluster from REDIS_CLUSTER_NODES, and refuses it beside REDIS_URL or malformed', () => {
    const cluster = readRedisSettings({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001' });
    expect(cluster).toEqual({
      url: 'redis://10.0.0.1:7000',
      clusterNodes: ['10.0.0.1:7000', '10.0.0.2:7001'],
      variable: 'REDIS_CLUSTER_NODES',
    });
    expect(describeRedis(cluster)).toBe('REDIS_CLUSTER_NODES=10.0.0.1:7000,10.0.0.2:7001');
    expect(
      readConnectionSettings({ KAFKA_BROKERS: 'k:9092', REDIS_CLUSTER_NODES: 'r:7000' }).redis.clusterNodes,
    ).toEqual(['r:7000']);
    expect(() => readRedisSettings({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r:7000' })).toThrow(
      'both REDIS_URL and REDIS_CLUSTER_NODES are set: set REDIS_URL for one Redis server or ' +
        'REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    );
    expect(() => readRedisSettings({ REDIS_CLUSTER_NODES: 'redis://r:7000' })).toThrow(
      'REDIS_CLUSTER_NODES="redis://r:7000" is not a node list: expected host:port',
    );
    // Another URL variable is read alone: a cluster setting does not answer for it.
    expect(() => readRedisSettings({ REDIS_CLUSTER_NODES: 'r:7000' }, 'SERVING_REDIS_URL')).toThrow(
      'SERVING_REDIS_URL is not set (expected redis://host:port)',
    );
  });

  it('names the variable and its value when a URL is malformed', () => {
    expect(() => readRedisSettings({ REDIS_URL: 'localhost:6379' })).toThrow(
      /^REDIS_URL="localhost:6379" is not a Redis URL: expected redis:\/\//,
    );
    expect(() => readRedisSettings({ REDIS_URL: 'http://x:1' })).toThrow(ConnectionError);
    expect(() => readRedisSettings({ REDIS_URL: 'redis://u:hunter2@' })).toThrow(/REDIS_URL="redis:\/\/u:\*\*\*@"/);
  });

  it('names the variable and its value when a broker list is malformed', () => {
    for (const bad of ['kafka', 'kafka:', 'host:99999', 'a:1,,b:2', 'PLAINTEXT://a:9092']) {
      expect(() => readKafkaSettings({ KAFKA_BROKERS: bad }), bad).toThrow(
        `KAFKA_BROKERS="${bad}" is not a broker list`,
      );
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
      'REDIS_URL is not set (expected redis://host:port or, for a Redis Cluster, ' +
        'REDIS_CLUSTER_NODES=host:port[,host:port...])',
      'set it, or start the stack with `npm run infra:up` and `eval "$(npm run --silent infra:status)"`',
    ]);
  });
});
