export { startStack, endpointsFromEnvironment, type RunningStack, type StackEndpoints, type StackMode, type StartOptions } from './stack.js';
export { resolveEndpoints, readRecordedStack, withRecordedStack } from './state.js';
export { KAFKA_VERSION, resolveKafkaJars } from './kafka-native.js';
export { DevstackError, isAlive, isPortListening, freePort } from './process.js';
export { SECURE_NAMING, SECURE_PRINCIPALS, readSecurePassword, secureEnvironment, type SecurePrincipal, type SecureStackInfo } from './secure.js';
export { ensureTlsMaterial, type TlsMaterial } from './tls-material.js';
