export { ConnectionError, explainFailure, START_HINT } from './errors.js';
export {
  describeKafka,
  describeRedis,
  readConnectionSettings,
  readKafkaSettings,
  readRedisSettings,
  KAFKA_BROKERS,
  REDIS_URL,
  type ConnectionSettings,
  type Environment,
  type KafkaSettings,
  type RedisSettings,
} from './settings.js';
export { checkConnections, checkKafka, checkRedis, type CheckOptions } from './check.js';
export { kafkaClient, kafkaLogCreator } from './kafka.js';
export { redisClient, reportRedisErrors } from './redis.js';
export { REPORT_INTERVAL_MS, type LineWriter, type ReportOptions } from './throttle.js';
