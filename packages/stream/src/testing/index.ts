/** `@rtml/stream/testing`: run a feature set or processor in unit tests, without Kafka or Redis. */
export {
  createTestDriver,
  type TestDriver,
  type TestDriverOptions,
  type PipeOptions,
  type PipeValue,
} from './test-driver.js';
export { MemoryStore } from './memory-store.js';
