#!/usr/bin/env -S node --max-semi-space-size=64
// A 64 MB young generation: the processor allocates per event and GC takes ~20 % of its CPU; the larger nursery
// cut CPU per event by ~9 % in bench/stream-throughput.ts --full (55-56 -> 50-51 µs, two interleaved runs each).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { createOnlineEngine, duration, type FeatureSet, type SourceEvent } from '@rtml/features';
import { OnlineStore } from '@rtml/online-store';
import { checkConnections, explainFailure, readConnectionSettings, redisClient } from '@rtml/connections';
import { withRecordedStack } from '@rtml/devstack';
import { featureSetProcessor } from './feature-set.js';
import { serveMetrics } from './metrics.js';
import type { KeyedProcessor } from './processor.js';
import { StreamProcessor } from './stream-processor.js';

interface RunOptions {
  featureSet?: string;
  processor?: string;
  topic: string;
  group: string;
  namespace: string;
  metricsPort: number;
  allowedLatenessMs: number;
  deadLetterTopic?: string;
  ttlMs: number;
  maxAgeMs: number;
  progressMs: number;
  sessionTimeoutMs?: number;
  maxCachedEntities: number;
}

const integer = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number >= 0, got "${value}"`);
  return n;
};

/** `path/to/module.ts#exportName` -> the export, with a clear error when either part is wrong. */
async function loadExport(reference: string): Promise<unknown> {
  const [path, name] = reference.split('#');
  if (!path || !name) throw new InvalidArgumentError(`expected <module path>#<export name>, got "${reference}"`);
  const module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  if (!(name in module)) throw new InvalidArgumentError(`${path} has no export "${name}" (exports: ${Object.keys(module).join(', ')})`);
  return module[name];
}

function isFeatureSet(value: unknown): value is FeatureSet<SourceEvent> {
  return typeof value === 'object' && value !== null && 'source' in value && 'aggregates' in value && 'name' in value;
}

function isKeyedProcessor(value: unknown): value is KeyedProcessor<unknown, unknown> {
  const fns = ['parse', 'entityKey', 'eventTimeOf', 'initialState', 'apply', 'read', 'nextChange', 'compact'];
  return typeof value === 'object' && value !== null && fns.every((fn) => typeof (value as Record<string, unknown>)[fn] === 'function');
}

async function loadProcessor(options: RunOptions): Promise<KeyedProcessor<unknown, unknown>> {
  if (options.featureSet !== undefined) {
    const set = await loadExport(options.featureSet);
    if (!isFeatureSet(set)) throw new InvalidArgumentError(`${options.featureSet} is not a feature set (build it with featureSet() from @rtml/features)`);
    return featureSetProcessor(createOnlineEngine(set)) as KeyedProcessor<unknown, unknown>;
  }
  if (options.processor !== undefined) {
    const processor = await loadExport(options.processor);
    if (!isKeyedProcessor(processor)) throw new InvalidArgumentError(`${options.processor} is not a KeyedProcessor`);
    return processor;
  }
  throw new InvalidArgumentError('give --feature-set <module>#<export> (or --processor <module>#<export>)');
}

async function run(options: RunOptions): Promise<void> {
  const processor = await loadProcessor(options);
  const connections = readConnectionSettings(withRecordedStack());
  await checkConnections(connections);
  const redis = redisClient(connections.redis);
  const store = new OnlineStore(redis, { namespace: options.namespace, featureSets: { [processor.name]: { ttl: duration.ms(options.ttlMs), maxAge: duration.ms(options.maxAgeMs) } } });
  const session = options.sessionTimeoutMs;
  const stream = new StreamProcessor({
    brokers: connections.kafka.brokers,
    redis,
    store,
    group: options.group,
    topics: [options.topic],
    processor,
    allowedLateness: duration.ms(options.allowedLatenessMs),
    deadLetterTopic: options.deadLetterTopic === undefined ? undefined : () => options.deadLetterTopic!,
    consumer: session === undefined ? undefined : { sessionTimeout: session, rebalanceTimeout: session, heartbeatInterval: Math.max(100, Math.floor(session / 12)), maxWaitTimeInMs: 100 },
    progressIntervalMs: options.progressMs,
    maxCachedEntitiesPerTask: options.maxCachedEntities,
  });
  const server = options.metricsPort > 0 ? await serveMetrics(stream.metrics.registry, options.metricsPort) : undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[stream ${processor.name}] ${signal}: finishing the current batch and leaving the group`);
    await stream.stop();
    server?.close();
    await redis.quit();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await stream.start();
  console.log(`[stream ${processor.name}] running: topic ${options.topic}, group ${options.group}, namespace ${options.namespace}${server ? `, metrics on :${options.metricsPort}/metrics` : ''}`);
}

const program = new Command('rtml-stream').description('Kafka -> feature engine -> Redis, exactly once');
program
  .command('run')
  .description('consume a topic and keep feature vectors in Redis up to date.\nNeeds KAFKA_BROKERS and REDIS_URL (or a stack from `npm run infra:up`).')
  .option('--feature-set <module#export>', 'feature set definition (from @rtml/features featureSet())')
  .option('--processor <module#export>', 'a KeyedProcessor instead of a feature set (tests, custom logic)')
  .requiredOption('--topic <topic>', 'input topic')
  .requiredOption('--group <group>', 'consumer group id (also scopes the checkpoints in Redis)')
  .requiredOption('--namespace <ns>', 'online store namespace')
  .option('--metrics-port <port>', 'Prometheus /metrics port, 0 = off', integer('--metrics-port'), 0)
  .option('--allowed-lateness-ms <ms>', 'events up to this much behind the max event time still count', integer('--allowed-lateness-ms'), 60_000)
  .option('--dead-letter-topic <topic>', 'dead-letter topic (default <topic>.dlq)')
  .option('--ttl-ms <ms>', 'Redis TTL of feature hashes', integer('--ttl-ms'), 7 * 86_400_000)
  .option('--max-age-ms <ms>', 'reads older than this are reported stale', integer('--max-age-ms'), 86_400_000)
  .option('--progress-ms <ms>', 'progress line period, 0 = off', integer('--progress-ms'), 5_000)
  .option('--session-timeout-ms <ms>', 'Kafka group session timeout (lower = faster failover)', integer('--session-timeout-ms'))
  .option('--max-cached-entities <n>', 'entity states kept in memory per partition (LRU; the rest reload from Redis)', integer('--max-cached-entities'), 100_000)
  .action(run);

program.parseAsync().catch((error: unknown) => {
  console.error(`rtml-stream: ${explainFailure(error, 'message')}`);
  process.exit(1);
});
