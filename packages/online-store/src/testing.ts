import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteNamespace } from './namespace.js';

/**
 * For tests on a Redis shared with others: one client, and namespaces handed out fresh per test and deleted
 * afterwards (`cleanup`, for `afterAll`), so a test file removes exactly what it created and never FLUSHALLs.
 */
export interface TestNamespaces {
  readonly redis: Redis;
  /** A new namespace `{prefix}-{uuid}`, deleted by `cleanup`. */
  fresh(): string;
  cleanup(): Promise<void>;
}

export function testNamespaces(redisUrl: string, prefix: string): TestNamespaces {
  const redis = new Redis(redisUrl);
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
