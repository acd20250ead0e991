import { z } from 'zod';
import { ConnectionError, START_HINT } from './errors.js';
import {
  describeSecurity,
  parseKafkaSecurity,
  parseRedisSecurity,
  REDIS_TLS_CA_FILE,
  REDIS_TLS_CERT_FILE,
  type KafkaSecurity,
  type RedisSecurity,
} from './security.js';

/**
 * Where Kafka is and under which setting the user gave it. An object, not a bare broker string, so later
 * settings (TLS, SASL users) join it without changing every caller.
 */
export interface KafkaSettings extends KafkaSecurity {
  readonly brokers: readonly string[];
  /** The environment variable the brokers came from; every message names it. */
  readonly variable: string;
}

/** Where Redis is; the same reasoning as KafkaSettings (TLS files and the ACL user are in RedisSecurity). */
export interface RedisSettings extends RedisSecurity {
  /** One server's URL; for a cluster, `redis://` + its first seed (the cluster client uses `clusterNodes`). */
  readonly url: string;
  /** A Redis Cluster's seed nodes (`host:port`, any subset of the nodes), when set through REDIS_CLUSTER_NODES. */
  readonly clusterNodes?: readonly string[];
  readonly variable: string;
}

export interface ConnectionSettings {
  readonly kafka: KafkaSettings;
  readonly redis: RedisSettings;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export const KAFKA_BROKERS = 'KAFKA_BROKERS';
export const REDIS_URL = 'REDIS_URL';
/** A Redis Cluster instead of one server: comma-separated host:port seed nodes. */
export const REDIS_CLUSTER_NODES = 'REDIS_CLUSTER_NODES';

// host:port, host may be a bracketed IPv6 address; kafkajs wants exactly this form.
const broker = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]@]+):(\d{1,5})$/)
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65_535);
const brokerList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()))
  .pipe(z.array(broker).min(1));
const redisUrl = z.url({ protocol: /^rediss?$/ });

type Parsed<T> = { readonly settings: T } | { readonly problem: string; readonly missing: boolean };

function parseKafka(env: Environment, variable: string): Parsed<KafkaSettings> {
  const value = env[variable]?.trim();
  if (!value) return { problem: `${variable} is not set (expected host:port[,host:port...])`, missing: true };
  const parsed = brokerList.safeParse(value);
  if (!parsed.success)
    return {
      problem: `${variable}="${value}" is not a broker list: expected host:port[,host:port...], e.g. 127.0.0.1:9092`,
      missing: false,
    };
  return withSecurity({ brokers: parsed.data, variable }, parseKafkaSecurity(env));
}

/** REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster), never both: which one a client meant would be a guess. */
function parseRedisOrCluster(env: Environment): Parsed<RedisSettings> {
  const cluster = env[REDIS_CLUSTER_NODES]?.trim();
  if (!cluster)
    return parseRedis(env, REDIS_URL, ` or, for a Redis Cluster, ${REDIS_CLUSTER_NODES}=host:port[,host:port...]`);
  if (env[REDIS_URL]?.trim())
    return {
      problem:
        `both ${REDIS_URL} and ${REDIS_CLUSTER_NODES} are set: set ${REDIS_URL} for one Redis server ` +
        `or ${REDIS_CLUSTER_NODES} for a Redis Cluster, not both`,
      missing: false,
    };
  const parsed = brokerList.safeParse(cluster);
  if (!parsed.success)
    return {
      problem:
        `${REDIS_CLUSTER_NODES}="${cluster}" is not a node list: expected host:port[,host:port...], ` +
        `e.g. 10.0.0.1:7000,10.0.0.2:7000`,
      missing: false,
    };
  const url = `${env[REDIS_TLS_CA_FILE] || env[REDIS_TLS_CERT_FILE] ? 'rediss' : 'redis'}://${parsed.data[0]}`;
  return withSecurity(
    { url, clusterNodes: parsed.data, variable: REDIS_CLUSTER_NODES },
    parseRedisSecurity(env, url, REDIS_CLUSTER_NODES),
  );
}

function parseRedis(env: Environment, variable: string, alternative = ''): Parsed<RedisSettings> {
  const value = env[variable]?.trim();
  if (!value) return { problem: `${variable} is not set (expected redis://host:port${alternative})`, missing: true };
  if (!redisUrl.safeParse(value).success) {
    return {
      problem:
        `${variable}="${maskPassword(value)}" is not a Redis URL: ` +
        'expected redis://[user:password@]host:port[/db], e.g. redis://127.0.0.1:6379',
      missing: false,
    };
  }
  return withSecurity({ url: value, variable }, parseRedisSecurity(env, value, variable));
}

/** TLS/SASL/ACL settings (security.ts) join the address; their problems are reported with the others. */
function withSecurity<T, S>(settings: T, parsed: { security: S; problems: readonly string[] }): Parsed<T & S> {
  if (parsed.problems.length > 0) return { problem: parsed.problems.join('\n'), missing: false };
  return { settings: { ...settings, ...parsed.security } };
}

/** One line per problem, then what to do when something is missing (not needed for a malformed value). */
function settingsOrThrow<T extends readonly Parsed<unknown>[]>(
  results: T,
): { [K in keyof T]: T[K] extends Parsed<infer S> ? S : never } {
  const problems = results.flatMap((result) => ('problem' in result ? [result] : []));
  if (problems.length === 0)
    return results.map((result) => ('settings' in result ? result.settings : undefined)) as never;
  const lines = problems.map((problem) => problem.problem);
  if (problems.some((problem) => problem.missing)) lines.push(`set it, or ${START_HINT}`);
  throw new ConnectionError(lines.join('\n'));
}

/** Kafka settings from `KAFKA_BROKERS` (comma-separated host:port list). */
export function readKafkaSettings(env: Environment = process.env, variable = KAFKA_BROKERS): KafkaSettings {
  return settingsOrThrow([parseKafka(env, variable)] as const)[0];
}

/**
 * Redis settings from `REDIS_URL` (redis:// or rediss:// URL) or, for a Redis Cluster, `REDIS_CLUSTER_NODES`
 * (comma-separated host:port seeds). With another `variable`, that URL variable alone.
 */
export function readRedisSettings(env: Environment = process.env, variable = REDIS_URL): RedisSettings {
  return settingsOrThrow([variable === REDIS_URL ? parseRedisOrCluster(env) : parseRedis(env, variable)] as const)[0];
}

/** Both settings; throws one ConnectionError naming every variable that is missing or malformed. */
export function readConnectionSettings(env: Environment = process.env): ConnectionSettings {
  const [kafka, redis] = settingsOrThrow([parseKafka(env, KAFKA_BROKERS), parseRedisOrCluster(env)] as const);
  return { kafka, redis };
}

/** `KAFKA_BROKERS=a:9092,b:9092`, for messages. */
export function describeKafka(settings: KafkaSettings): string {
  return withSecurityNote(`${settings.variable}=${settings.brokers.join(',')}`, settings);
}

/** `REDIS_URL=redis://user:***@host:6379`: the password never reaches a log line. */
export function describeRedis(settings: RedisSettings): string {
  const address = settings.clusterNodes ? settings.clusterNodes.join(',') : maskPassword(settings.url);
  return withSecurityNote(`${settings.variable}=${address}`, settings);
}

/** `KAFKA_BROKERS=b:9093 (TLS, SASL scram-sha-512 as processor)`; a plain connection is described as before. */
function withSecurityNote(address: string, security: KafkaSecurity | RedisSecurity): string {
  const note = describeSecurity(security);
  return note ? `${address} (${note})` : address;
}

function maskPassword(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
