#!/usr/bin/env -S node --max-semi-space-size=64
// A 64 MB young generation: the processor allocates per event and GC takes ~20 % of its CPU; the larger nursery
// cut CPU per event by ~9 % in bench/stream-throughput.ts --full (55-56 -> 50-51 µs, two interleaved runs each).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { duration, type FeatureSet, type SourceEvent } from '@rtml/features';
import { OnlineStore, type RedisClient, type StoredFeatureSet } from '@rtml/online-store';
import {
  checkConnections,
  explainFailure,
  kafkaClient,
  readConnectionSettings,
  redisClient,
  SECURITY_HELP,
  type KafkaSettings,
} from '@rtml/connections';
import { featureSetProcessor } from './feature-set.js';
import { serveMetrics } from './metrics.js';
import type { KeyedProcessor } from './processor.js';
import { rebuildCheckpoints } from './rebuild.js';
import { environmentWithRecordedStack } from './recorded-stack.js';
import {
  DEFAULT_CHECKPOINT,
  DEFAULT_MAX_EVENT_TIME_AHEAD,
  StreamProcessor,
  type StateLossPolicy,
} from './stream-processor.js';

/** Options every command shares: what the processor is and where its state lives. */
interface ProcessorOptions {
  featureSet?: string;
  processor?: string;
  topic: string;
  group: string;
  namespace: string;
  onlineExpiryMs?: number;
  maxAgeMs?: number;
  maxEventTimeAheadMs: number;
}

interface RunOptions extends ProcessorOptions {
  metricsPort: number;
  allowedLatenessMs: number;
  deadLetterTopic?: string;
  progressMs: number;
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  maxCachedEntities: number;
  onStateLoss: StateLossPolicy;
  createTopics?: number;
  checkpointIntervalMs: number;
  checkpointMaxBatches: number;
  replicaTimeoutMs: number;
}

interface RebuildCliOptions extends ProcessorOptions {
  partitions?: number[];
  poisoned?: boolean;
  fromEarliestRetained?: boolean;
}

const ENVIRONMENT_HELP = `
Environment:
  KAFKA_BROKERS   Kafka bootstrap servers, e.g. 127.0.0.1:9092 (comma-separated)
  REDIS_URL       online store, e.g. redis://127.0.0.1:6379
  REDIS_CLUSTER_NODES  instead of REDIS_URL: a Redis Cluster's seed nodes, host:port,host:port
  Without them, the stack recorded by \`npm run infra:up\` is used.
${SECURITY_HELP}`;

const integer = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`${name} must be a whole number >= 0, got "${value}"`);
  return n;
};

const positive = (name: string) => (value: string) => {
  const n = integer(name)(value);
  if (n === 0) throw new InvalidArgumentError(`${name} must be at least 1, got "${value}"`);
  return n;
};

const partitionList = (value: string): number[] => value.split(',').map((part) => integer('--partitions')(part.trim()));

/** `path/to/module.ts#exportName` -> the export, with a clear error when either part is wrong. */
async function loadExport(reference: string): Promise<unknown> {
  const [path, name] = reference.split('#');
  if (!path || !name) throw new InvalidArgumentError(`expected <module path>#<export name>, got "${reference}"`);
  const module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  if (!(name in module))
    throw new InvalidArgumentError(`${path} has no export "${name}" (exports: ${Object.keys(module).join(', ')})`);
  return module[name];
}

function isFeatureSet(value: unknown): value is FeatureSet<SourceEvent> {
  return typeof value === 'object' && value !== null && 'source' in value && 'aggregates' in value && 'name' in value;
}

function isKeyedProcessor(value: unknown): value is KeyedProcessor<unknown, unknown> {
  const fns = ['parse', 'entityIdOf', 'eventTimeOf', 'initialState', 'apply', 'read', 'nextChange', 'compact'];
  return (
    typeof value === 'object' &&
    value !== null &&
    fns.every((fn) => typeof (value as Record<string, unknown>)[fn] === 'function')
  );
}

interface Loaded {
  readonly processor: KeyedProcessor<unknown, unknown>;
  /** How the store keeps its vectors: a feature set's own definition, or the command-line settings of a processor. */
  readonly stored: StoredFeatureSet;
}

/** A hand-written processor's vectors: expire 7 days after their last write, stale after a day, unless told. */
const PROCESSOR_DEFAULTS = { onlineExpiry: duration.days(7), maxAge: duration.days(1) };

async function loadProcessor(options: ProcessorOptions): Promise<Loaded> {
  if (options.featureSet !== undefined) {
    const set = await loadExport(options.featureSet);
    if (!isFeatureSet(set))
      throw new InvalidArgumentError(
        `${options.featureSet} is not a feature set (build it with featureSet() from @rtml/features)`,
      );
    if (options.onlineExpiryMs !== undefined || options.maxAgeMs !== undefined) {
      const why = "a feature set's are in its definition (onlineExpiry, maxAge)";
      throw new InvalidArgumentError(`--online-expiry-ms and --max-age-ms are for --processor; ${why}`);
    }
    return { processor: featureSetProcessor(set), stored: set };
  }
  const processor = await loadExport(options.processor!);
  if (!isKeyedProcessor(processor)) throw new InvalidArgumentError(`${options.processor} is not a KeyedProcessor`);
  const { onlineExpiryMs, maxAgeMs } = options;
  const onlineExpiry = onlineExpiryMs === undefined ? PROCESSOR_DEFAULTS.onlineExpiry : duration.ms(onlineExpiryMs);
  const maxAge = maxAgeMs === undefined ? PROCESSOR_DEFAULTS.maxAge : duration.ms(maxAgeMs);
  return { processor, stored: { name: processor.name, onlineExpiry, maxAge } };
}

function onlineStore(redis: RedisClient, loaded: Loaded, options: ProcessorOptions): OnlineStore {
  return new OnlineStore(redis, { namespace: options.namespace, featureSets: [loaded.stored] });
}

/**
 * Kafka settings and a Redis client from KAFKA_BROKERS and REDIS_URL, or REDIS_CLUSTER_NODES for a Redis Cluster (or
 * the stack of `npm run infra:up`), checked before any work (@rtml/connections reads and checks both forms, and
 * reports a failing cluster node in one line per interval, as it does one server).
 */
async function checkedConnections(): Promise<{ kafka: KafkaSettings; redis: RedisClient }> {
  const connections = readConnectionSettings(await environmentWithRecordedStack());
  await checkConnections(connections);
  return { kafka: connections.kafka, redis: redisClient(connections.redis) };
}

async function run(options: RunOptions): Promise<void> {
  const loaded = await loadProcessor(options);
  const { processor } = loaded;
  const connections = await checkedConnections();
  const redis = connections.redis;
  const session = options.sessionTimeoutMs;
  const stream = new StreamProcessor({
    topology: {
      processor,
      topics: [options.topic],
      allowedLateness: duration.ms(options.allowedLatenessMs),
      maxEventTimeAhead: duration.ms(options.maxEventTimeAheadMs),
      deadLetterTopic: options.deadLetterTopic === undefined ? undefined : () => options.deadLetterTopic!,
    },
    kafka: connections.kafka,
    store: onlineStore(redis, loaded, options),
    group: options.group,
    checkpoint: {
      intervalMs: options.checkpointIntervalMs,
      maxBatches: options.checkpointMaxBatches,
      replicaTimeoutMs: options.replicaTimeoutMs,
    },
    onStateLoss: options.onStateLoss,
    createMissingTopics: options.createTopics === undefined ? undefined : { numPartitions: options.createTopics },
    consumer: {
      ...(session !== undefined && {
        sessionTimeout: session,
        rebalanceTimeout: session,
        heartbeatInterval: Math.max(100, Math.floor(session / 12)),
      }),
      ...(options.maxBytesPerPartition !== undefined && { maxBytesPerPartition: options.maxBytesPerPartition }),
    },
    progressIntervalMs: options.progressMs,
    maxCachedEntitiesPerTask: options.maxCachedEntities,
  });
  const server =
    options.metricsPort > 0
      ? await serveMetrics(stream.metrics.registry, options.metricsPort, () => stream.health())
      : undefined;
  const exit = async (code: number) => {
    await stream.stop().catch(() => undefined);
    server?.close();
    redis.disconnect();
    process.exit(code);
  };
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[stream ${processor.name}] ${signal}: finishing the current batch and leaving the group`);
    void exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // One line and a non-zero exit, so a supervisor restarts the process instead of it idling with a dead consumer.
  void stream.whenFailed().then((error) => {
    console.error(`rtml-stream: stopped: ${error.message}`);
    void exit(1);
  });
  await stream.start();
  const endpoints = server ? `, metrics on :${options.metricsPort}/metrics (/healthz, /readyz)` : '';
  console.log(
    `[stream ${processor.name}] running: topic ${options.topic}, group ${options.group}, namespace ` +
      `${options.namespace}${endpoints}`,
  );
}

async function rebuild(options: RebuildCliOptions): Promise<void> {
  const loaded = await loadProcessor(options);
  const { processor } = loaded;
  const connections = await checkedConnections();
  const redis = connections.redis;
  const admin = kafkaClient(connections.kafka, { clientId: `rtml-stream-rebuild-${options.group}` }).admin();
  await admin.connect();
  try {
    const report = await rebuildCheckpoints({
      admin,
      store: onlineStore(redis, loaded, options),
      group: options.group,
      topics: [options.topic],
      featureSet: processor.name,
      partitions: options.poisoned ? 'poisoned' : options.partitions,
      maxEventTimeAhead: duration.ms(options.maxEventTimeAheadMs),
      fromEarliestRetained: options.fromEarliestRetained,
    });
    const which =
      report.partitions.length === 0
        ? 'nothing to rebuild (no partition matched)'
        : `partition(s) ${report.partitions.join(', ')} reset to replay from their earliest offsets`;
    console.log(
      `[stream ${processor.name}] rebuild: ${which}; ${report.deletedVectors} vector(s) deleted. Start ` +
        `\`rtml-stream run\` with the same --topic/--group/--namespace to replay.`,
    );
  } finally {
    await admin.disconnect();
    redis.disconnect();
  }
}

/** Options of every command; "(required)" ones are checked together in `requireAll`. */
function processorCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option(
      '--feature-set <module#export>',
      '(required, or --processor) feature set definition (from @rtml/features featureSet())',
    )
    .option(
      '--processor <module#export>',
      '(required, or --feature-set) a KeyedProcessor instead of a feature set (tests, custom logic)',
    )
    .option('--topic <topic>', '(required) input topic')
    .option('--group <group>', '(required) consumer group id (also scopes the checkpoints in Redis)')
    .option('--namespace <ns>', '(required) online store namespace')
    .option(
      '--online-expiry-ms <ms>',
      'with --processor: Redis expiry of feature hashes (default 7 days; a feature set has its own)',
      integer('--online-expiry-ms'),
    )
    .option(
      '--max-age-ms <ms>',
      'with --processor: reads older than this are reported stale (default 1 day; a feature set has its own)',
      integer('--max-age-ms'),
    )
    .option(
      '--max-event-time-ahead-ms <ms>',
      'events dated further ahead of this machine\'s clock are dead-lettered as "future"',
      integer('--max-event-time-ahead-ms'),
      DEFAULT_MAX_EVENT_TIME_AHEAD,
    )
    .addHelpText('after', ENVIRONMENT_HELP)
    .hook('preAction', (command) => requireAll(command));
}

/** Reports every missing required option at once (commander stops at the first). */
function requireAll(command: Command): void {
  const options = command.opts<Partial<ProcessorOptions>>();
  const missing = (['topic', 'group', 'namespace'] as const)
    .filter((name) => options[name] === undefined)
    .map((name) => `--${name}`);
  if (options.featureSet === undefined && options.processor === undefined)
    missing.unshift('--feature-set (or --processor)');
  if (missing.length > 0)
    command.error(
      `error: missing required option(s): ${missing.join(', ')} (see rtml-stream ${command.name()} --help)`,
    );
}

const runCommand = processorCommand('run', 'consume a topic and keep feature vectors in Redis up to date')
  .option('--metrics-port <port>', 'serves /metrics, /healthz and /readyz; 0 = off', integer('--metrics-port'), 0)
  .option(
    '--allowed-lateness-ms <ms>',
    'events up to this much behind the max event time still count',
    integer('--allowed-lateness-ms'),
    60_000,
  )
  .option('--dead-letter-topic <topic>', 'dead-letter topic (default <topic>.dlq)')
  .addOption(
    new Option('--create-topics [partitions]', 'create the input topic with this many partitions if it does not exist')
      .argParser(positive('--create-topics'))
      .preset('3'),
  )
  .option(
    '--progress-ms <ms>',
    'progress line period (idle: one line a minute), 0 = off',
    integer('--progress-ms'),
    5_000,
  )
  .option(
    '--session-timeout-ms <ms>',
    "Kafka group session timeout (default 6000: a dead instance's partitions move within 10 s)",
    integer('--session-timeout-ms'),
  )
  .option(
    '--max-bytes-per-partition <bytes>',
    'Kafka fetch size per partition (kafkajs default 1 MB; larger records are still fetched whole)',
    integer('--max-bytes-per-partition'),
  )
  .option(
    '--max-cached-entities <n>',
    'entity states kept in memory per partition (LRU; the rest reload from Redis)',
    integer('--max-cached-entities'),
    100_000,
  )
  .option(
    '--checkpoint-interval-ms <ms>',
    'longest time between two checkpoints of a partition (recovery replays at most this much)',
    integer('--checkpoint-interval-ms'),
    DEFAULT_CHECKPOINT.intervalMs,
  )
  .option(
    '--checkpoint-max-batches <n>',
    'most batches between two checkpoints of a partition',
    positive('--checkpoint-max-batches'),
    DEFAULT_CHECKPOINT.maxBatches,
  )
  .option(
    '--replica-timeout-ms <ms>',
    'how long a checkpoint waits for a Redis replica to acknowledge the vectors behind it',
    integer('--replica-timeout-ms'),
    DEFAULT_CHECKPOINT.replicaTimeoutMs,
  )
  .addOption(
    new Option(
      '--on-state-loss <policy>',
      "when Redis lost a partition's checkpoint: replay only if the topic still starts at offset 0, or " +
        'replay whatever is retained',
    )
      .choices(['replay-if-complete', 'replay'])
      .default('replay-if-complete'),
  )
  .action(run);

const rebuildCommand = processorCommand(
  'rebuild',
  'reset the checkpoints so that the next run replays from the earliest offsets (processor must be stopped)',
)
  .option('--partitions <list>', 'only these partitions, e.g. 0,2 (default: all)', partitionList)
  .option('--poisoned', 'only partitions whose stream time lies beyond now + --max-event-time-ahead-ms')
  .option(
    '--from-earliest-retained',
    'rebuild even though retention has deleted events (lifetime aggregates miss them)',
  )
  .action(rebuild);

const program = new Command('rtml-stream')
  .description('Kafka -> feature engine -> Redis, exactly once')
  .addCommand(runCommand)
  .addCommand(rebuildCommand);

program.parseAsync().catch((error: unknown) => {
  console.error(`rtml-stream: ${explainFailure(error, 'message')}`);
  process.exit(1);
});
