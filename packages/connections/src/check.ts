import { Redis } from 'ioredis';
import { logLevel } from 'kafkajs';
import { ConnectionError, START_HINT } from './errors.js';
import { explainKafkaRefusal, explainRedisRefusal } from './refusals.js';
import { kafkaClient } from './kafka.js';
import { redisSecurityOptions } from './security.js';
import {
  describeKafka,
  describeRedis,
  type ConnectionSettings,
  type KafkaSettings,
  type RedisSettings,
} from './settings.js';
import { networkCause } from './throttle.js';

export interface CheckOptions {
  /** Per service; a preflight should fail in seconds, not after a client's full retry schedule. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** A line naming the service and setting; `refused` when it answered but turned us away (no "is it running?"). */
interface Problem {
  readonly line: string;
  readonly refused: boolean;
}

/** One line: which service, under which setting, and what went wrong (refusals name the setting to change). */
async function probe(
  what: string,
  setting: string,
  explainRefusal: (cause: string) => string | undefined,
  attempt: () => Promise<void>,
): Promise<Problem | undefined> {
  try {
    await attempt();
    return undefined;
  } catch (error) {
    const cause = networkCause(error instanceof Error ? error.message : String(error));
    const refusal = explainRefusal(cause);
    return refusal
      ? { line: refusal, refused: true }
      : { line: `cannot reach ${what} at ${setting} (${cause})`, refused: false };
  }
}

/**
 * One bootstrap broker answers a metadata request. Each is tried in turn: kafkajs picks ONE seed at random, so
 * without retries one dead broker in KAFKA_BROKERS would fail the check (and the start) of a healthy cluster.
 */
async function probeKafka(settings: KafkaSettings, timeoutMs: number): Promise<void> {
  await firstThatAnswers(settings.brokers, (broker) => probeKafkaBroker({ ...settings, brokers: [broker] }, timeoutMs));
}

async function probeKafkaBroker(settings: KafkaSettings, timeoutMs: number): Promise<void> {
  // Silent and without retries: this check reports the failure itself, once.
  const kafka = kafkaClient(settings, {
    clientId: 'rtml-preflight',
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

/** Resolves when `attempt` succeeds for one of the addresses, tried in order; otherwise throws the last failure. */
async function firstThatAnswers(
  addresses: readonly string[],
  attempt: (address: string) => Promise<void>,
): Promise<void> {
  let failure: unknown;
  for (const address of addresses) {
    try {
      return await attempt(address);
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/**
 * One server answers PING; for a cluster, any of its seeds answers PING, CLUSTER SLOTS and CLUSTER INFO (an ACL user
 * without them leaves a cluster client retrying "Failed to refresh slots cache", or never ready, without a word).
 */
async function probeRedis(settings: RedisSettings, timeoutMs: number): Promise<void> {
  const urls = settings.clusterNodes?.map((node) => `${new URL(settings.url).protocol}//${node}`) ?? [settings.url];
  await firstThatAnswers(urls, (url) => pingRedis(url, settings, timeoutMs));
}

async function pingRedis(url: string, settings: RedisSettings, timeoutMs: number): Promise<void> {
  const redis = new Redis(url, {
    ...redisSecurityOptions(settings),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // connect() may reject with a bare "Connection is closed."; the socket error says why.
  let socketError: Error | undefined;
  redis.on('error', (error: Error) => (socketError ??= error));
  try {
    await redis.connect();
    await redis.ping();
    // What a cluster client sends first: CLUSTER SLOTS to find the nodes, CLUSTER INFO as its ready check.
    if (settings.clusterNodes) await Promise.all([redis.cluster('SLOTS'), redis.cluster('INFO')]);
  } catch (error) {
    throw socketError ?? error;
  } finally {
    redis.disconnect();
  }
}

function failIfAny(results: readonly (Problem | undefined)[]): void {
  const problems = results.filter((problem): problem is Problem => problem !== undefined);
  if (problems.length === 0) return;
  const hint = problems.some((problem) => !problem.refused) ? [`is it running? ${START_HINT}`] : [];
  throw new ConnectionError([...problems.map((problem) => problem.line), ...hint].join('\n'));
}

/** Checks each given service at once, before any real work: one error listing every one that does not answer. */
export async function checkConnections(
  settings: Partial<ConnectionSettings>,
  options: CheckOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { kafka, redis } = settings;
  failIfAny(
    await Promise.all([
      kafka
        ? probe(
            'Kafka',
            describeKafka(kafka),
            (cause) => explainKafkaRefusal(cause, describeKafka(kafka), kafka, true),
            () => probeKafka(kafka, timeoutMs),
          )
        : undefined,
      redis
        ? probe(
            'Redis',
            describeRedis(redis),
            (cause) => explainRedisRefusal(cause, describeRedis(redis), true),
            () => probeRedis(redis, timeoutMs),
          )
        : undefined,
    ]),
  );
}

/** Fails fast with a ConnectionError naming KAFKA_BROKERS and its value when no broker answers. */
export const checkKafka = (settings: KafkaSettings, options?: CheckOptions): Promise<void> =>
  checkConnections({ kafka: settings }, options);

/** Fails fast with a ConnectionError naming REDIS_URL (password masked) when Redis does not answer a PING. */
export const checkRedis = (settings: RedisSettings, options?: CheckOptions): Promise<void> =>
  checkConnections({ redis: settings }, options);
