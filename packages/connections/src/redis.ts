import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { explainRedisRefusal } from './refusals.js';
import { redisSecurityOptions } from './security.js';
import { describeRedis, type RedisSettings } from './settings.js';
import {
  isUnreachable,
  networkCause,
  REPORT_INTERVAL_MS,
  throttledWriter,
  writeToStderr,
  type ReportOptions,
} from './throttle.js';

/**
 * One line per retry interval while Redis is unreachable, naming the setting, and one when it answers again.
 * Having a listener also stops ioredis printing `[ioredis] Unhandled error event` with a stack trace.
 */
export function reportRedisErrors<C extends Redis | Cluster>(
  redis: C,
  settings: RedisSettings,
  options: ReportOptions = {},
): C {
  const write = options.write ?? writeToStderr;
  const report = throttledWriter(options.intervalMs ?? REPORT_INTERVAL_MS, write);
  let failing = false;
  redis.on('error', (error: Error) => {
    failing = true;
    const refusal = explainRedisRefusal(error.message, describeRedis(settings));
    if (refusal) report('refused', `[redis] ${refusal}`);
    else if (isUnreachable(error.message))
      report(
        'unreachable',
        `[redis] cannot reach ${describeRedis(settings)} (${networkCause(error.message)}); retrying the connection`,
      );
    else report(error.message, `[redis] ${describeRedis(settings)}: ${error.message}`);
  });
  redis.on('ready', () => {
    if (failing) write(`[redis] connected again to ${describeRedis(settings)}`);
    failing = false;
  });
  return redis;
}

/**
 * An ioredis client for these settings (TLS files, ACL user) that reports outages in one line per interval: a
 * `Cluster` when they came from REDIS_CLUSTER_NODES (`options` then apply to each node's connection).
 */
export function redisClient(settings: RedisSettings, options: RedisOptions & ReportOptions = {}): Redis | Cluster {
  const { intervalMs, write, ...redisOptions } = options;
  const connection = { ...redisSecurityOptions(settings), ...redisOptions };
  const client = settings.clusterNodes
    ? new Cluster(settings.clusterNodes.map(seed), { redisOptions: connection })
    : new Redis(settings.url, connection);
  return reportRedisErrors(client, settings, { intervalMs, write });
}

const seed = (node: string) => ({
  host: node.slice(0, node.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
  port: Number(node.slice(node.lastIndexOf(':') + 1)),
});
