export { ConnectionError, explainFailure, START_HINT } from './errors.js';
export {
  describeKafka,
  describeRedis,
  readConnectionSettings,
  readKafkaSettings,
  readRedisSettings,
  KAFKA_BROKERS,
  REDIS_URL,
  REDIS_CLUSTER_NODES,
  type ConnectionSettings,
  type Environment,
  type KafkaSettings,
  type RedisSettings,
} from './settings.js';
export { checkConnections, checkKafka, checkRedis, type CheckOptions } from './check.js';
export { kafkaClient, kafkaLogCreator } from './kafka.js';
export { redisClient, reportRedisErrors } from './redis.js';
export { REPORT_INTERVAL_MS, type LineWriter, type ReportOptions } from './throttle.js';
export { Secret } from './secret.js';
export {
  describeSecurity,
  kafkaSecurityConfig,
  redisSecurityOptions,
  SASL_MECHANISMS,
  SECURITY_HELP,
  SECURITY_VARIABLES,
  KAFKA_SASL_MECHANISM,
  KAFKA_SASL_PASSWORD,
  KAFKA_SASL_USERNAME,
  KAFKA_TLS,
  KAFKA_TLS_CA_FILE,
  KAFKA_TLS_CERT_FILE,
  KAFKA_TLS_KEY_FILE,
  REDIS_PASSWORD,
  REDIS_TLS_CA_FILE,
  REDIS_TLS_CERT_FILE,
  REDIS_TLS_KEY_FILE,
  REDIS_USERNAME,
  type KafkaSecurity,
  type RedisSecurity,
  type SaslMechanism,
  type SaslSettings,
  type TlsSettings,
} from './security.js';
export { explainKafkaRefusal, explainRedisRefusal } from './refusals.js';
