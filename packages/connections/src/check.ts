import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { ConnectionError, START_HINT } from './errors.js';
import { kafkaSecurityConfig, redisSecurityOptions } from './security.js';
import { describeKafka, describeRedis, type ConnectionSettings, type KafkaSettings, type RedisSettings } from './settings.js';
import { networkCause } from './throttle.js';

export interface CheckOptions {
  /** Per service; a preflight should fail in seconds, not after a client's full retry schedule. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

/** One line: which service, under which setting, and what went wrong. */
async function probe(what: string, setting: string, attempt: () => Promise<void>): Promise<string | undefined> {
  try {
    await attempt();
    return undefined;
  } catch (error) {
    return `cannot reach ${what} at ${setting} (${networkCause(error instanceof Error ? error.message : String(error))})`;
  }
}

async function probeKafka(settings: KafkaSettings, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({ ...kafkaSecurityConfig(settings), clientId: 'rtml-preflight', brokers: [...settings.brokers], logLevel: logLevel.NOTHING, connectionTimeout: timeoutMs, requestTimeout: timeoutMs, retry: { retries: 0 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

async function probeRedis(settings: RedisSettings, timeoutMs: number): Promise<void> {
  const redis = new Redis(settings.url, { ...redisSecurityOptions(settings), lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // connect() may reject with a bare "Connection is closed."; the socket error says why.
  let socketError: Error | undefined;
  redis.on('error', (error: Error) => (socketError ??= error));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw socketError ?? error;
  } finally {
    redis.disconnect();
  }
}

function failIfAny(problems: readonly (string | undefined)[]): void {
  const lines = problems.filter((problem): problem is string => problem !== undefined);
  if (lines.length > 0) throw new ConnectionError([...lines, `is it running? ${START_HINT}`].join('\n'));
}

/** Checks each given service at once, before any real work: one error listing every one that does not answer. */
export async function checkConnections(settings: Partial<ConnectionSettings>, options: CheckOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { kafka, redis } = settings;
  failIfAny(
    await Promise.all([
      kafka ? probe('Kafka', describeKafka(kafka), () => probeKafka(kafka, timeoutMs)) : undefined,
      redis ? probe('Redis', describeRedis(redis), () => probeRedis(redis, timeoutMs)) : undefined,
    ]),
  );
}

/** Fails fast with a ConnectionError naming KAFKA_BROKERS and its value when no broker answers. */
export const checkKafka = (settings: KafkaSettings, options?: CheckOptions): Promise<void> => checkConnections({ kafka: settings }, options);

/** Fails fast with a ConnectionError naming REDIS_URL (password masked) when Redis does not answer a PING. */
export const checkRedis = (settings: RedisSettings, options?: CheckOptions): Promise<void> => checkConnections({ redis: settings }, options);
