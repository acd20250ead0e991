export { startStack, endpointsFromEnvironment, modeSetting, MODE_SETTINGS, type ModeSetting, type RunningStack, type StackEndpoints, type StackMode, type StartOptions } from './stack.js';
export { containerImages } from './docker.js';
export { resolveEndpoints, readRecordedStack } from './state.js';
export { KAFKA_VERSION, resolveKafkaJars } from './kafka-native.js';
export { DevstackError, isAlive, isPortListening, freePort } from './process.js';
