export {
  startStack,
  endpointsFromEnvironment,
  modeSetting,
  MODE_SETTINGS,
  type ManagedProcess,
  type ModeSetting,
  type RunningStack,
  type StackEndpoints,
  type StackMode,
  type StartOptions,
} from './stack.js';
export { containerImages } from './docker.js';
export {
  clusterEndpointsFromEnvironment,
  isClusterEndpoints,
  endpointVariables,
  parseTopology,
  startClusterStack,
  startTopology,
  type ClusterEndpoints,
  type RunningCluster,
  type Topology,
} from './cluster-stack.js';
export {
  REDIS_CLUSTER_NODE_TIMEOUT_MS,
  startNativeRedisCluster,
  type NativeRedisCluster,
  type RedisClusterSecurity,
  type StartRedisClusterOptions,
} from './redis-cluster.js';
export { startNativeRedis, type NativeRedis } from './redis-native.js';
export { resolveEndpoints, readRecordedStack, withRecordedStack } from './state.js';
export { brokerAnswers, KAFKA_VERSION, resolveKafkaJars } from './kafka-native.js';
export { DevstackError, isAlive, isPortListening, freePort, stopProcess } from './process.js';
export {
  SECURE_NAMING,
  SECURE_PRINCIPALS,
  readSecurePassword,
  secureClusterEnvironment,
  secureEnvironment,
  secureRedisCluster,
  type SecurePrincipal,
  type SecureStackInfo,
} from './secure.js';
export { ensureTlsMaterial, type TlsMaterial } from './tls-material.js';
export {
  clusterProcess,
  detachReplica,
  kafkaLeaderOf,
  kafkaNodeId,
  killNode,
  redisPrimaryOf,
  replicaOf,
  replicationOffset,
  waitUntilKafkaWhole,
  waitUntilRedisServes,
  waitUntilRedisWhole,
  type DetachedPrimary,
  type KilledNode,
} from './cluster-faults.js';
