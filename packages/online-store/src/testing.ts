import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { connectCluster, type RedisClient } from './client.js';
import { deleteNamespace } from './namespace.js';

/**
 * For tests on a Redis shared with others: one client, and namespaces handed out fresh per test and deleted
 * afterwards (`cleanup`, for `afterAll`), so a test file removes exactly what it created and never FLUSHALLs.
 */
export interface TestNamespaces<Client extends RedisClient = Redis> {
  readonly redis: Client;
  /** A new namespace `{prefix}-{uuid}`, deleted by `cleanup`. */
  fresh(): string;
  readonly cleanup: () => Promise<void>;
}

export function testNamespaces(redisUrl: string, prefix: string): TestNamespaces {
  return namespacesOn(new Redis(redisUrl), prefix);
}

/** The same on a Redis Cluster, from `REDIS_CLUSTER_NODES`-style seeds (comma-separated host:port). */
export function testClusterNamespaces(
  redisClusterNodes: string,
  prefix: string,
): TestNamespaces<ReturnType<typeof connectCluster>> {
  return namespacesOn(connectCluster(redisClusterNodes), prefix);
}

function namespacesOn<Client extends RedisClient>(redis: Client, prefix: string): TestNamespaces<Client> {
  const namespaces: string[] = [];
  return {
    redis,
    fresh() {
      const namespace = `${prefix}-${randomUUID()}`;
      namespaces.push(namespace);
      return namespace;
    },
    async cleanup() {
      for (const namespace of namespaces) await deleteNamespace(redis, namespace);
      redis.disconnect();
    },
  };
}
