import { afterEach, describe, expect, it, vi } from 'vitest';
import { clusterEndpointsFromEnvironment, endpointVariables, parseTopology } from './cluster-stack.js';

afterEach(() => vi.unstubAllEnvs());

describe('topology settings', () => {
  it('defaults to single, accepts cluster, and names the setting when the value is unknown', () => {
    expect(parseTopology(undefined, 'RTML_TOPOLOGY')).toBe('single');
    expect(parseTopology('cluster', 'RTML_TOPOLOGY')).toBe('cluster');
    expect(() => parseTopology('clsuter', 'RTML_TOPOLOGY')).toThrow(
      'RTML_TOPOLOGY must be one of single, cluster, got "clsuter"',
    );
  });

  it('takes an external cluster from KAFKA_BROKERS + REDIS_CLUSTER_NODES, and refuses only one of them', () => {
    vi.stubEnv('KAFKA_BROKERS', 'k1:9092,k2:9092,k3:9092');
    vi.stubEnv('REDIS_CLUSTER_NODES', '');
    expect(() => clusterEndpointsFromEnvironment()).toThrow('set both KAFKA_BROKERS and REDIS_CLUSTER_NODES');
    vi.stubEnv('REDIS_CLUSTER_NODES', 'r1:7000,r2:7000');
    expect(clusterEndpointsFromEnvironment()).toEqual({
      kafkaBrokers: 'k1:9092,k2:9092,k3:9092',
      redisClusterNodes: 'r1:7000,r2:7000',
    });
  });

  it('exports exactly one Redis variable per topology', () => {
    expect(endpointVariables({ kafkaBrokers: 'k:1', redisUrl: 'redis://r:2' })).toEqual({
      KAFKA_BROKERS: 'k:1',
      REDIS_URL: 'redis://r:2',
    });
    expect(endpointVariables({ kafkaBrokers: 'k:1,k:2', redisClusterNodes: 'r:1,r:2' })).toEqual({
      KAFKA_BROKERS: 'k:1,k:2',
      REDIS_CLUSTER_NODES: 'r:1,r:2',
    });
  });
});
