import type { Command } from 'commander';
import {
  explainFailure,
  readConnectionSettings,
  readRedisSettings,
  type ConnectionSettings,
  type KafkaSettings,
  type RedisSettings,
} from '@rtml/connections';
import { withRecordedStack } from '@rtml/devstack';

/**
 * The bench's Kafka and Redis, read as every component reads them (`@rtml/connections`: TLS, SASL and Redis ACL
 * users included), from the environment or the stack `npm run infra:up` left running. A missing or malformed
 * setting ends the script with the usual one line per problem.
 */
export function benchConnections(command: Command): ConnectionSettings {
  return oneLine(command, () => readConnectionSettings(withRecordedStack()));
}

/** Redis alone, for the scripts that need no Kafka; `env` for servers the script started itself. */
export function benchRedis(command: Command, env: NodeJS.ProcessEnv = withRecordedStack()): RedisSettings {
  return oneLine(command, () => readRedisSettings(env));
}

function oneLine<T>(command: Command, read: () => T): T {
  try {
    return read();
  } catch (error) {
    return command.error(explainFailure(error, 'message'));
  }
}

/**
 * Whether these settings ask for TLS or credentials. The references outside Node (the Kafka Streams peer, Feast,
 * redis-benchmark) are handed plain endpoints only, so with a secured service they are refused or skipped.
 */
export function isSecured(settings: KafkaSettings | RedisSettings): boolean {
  if ('brokers' in settings) return settings.tls !== undefined || settings.sasl !== undefined;
  const url = new URL(settings.url);
  return (
    url.protocol === 'rediss:' ||
    url.username !== '' ||
    settings.username !== undefined ||
    settings.password !== undefined
  );
}
