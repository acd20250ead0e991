export {
  OnlineStore,
  type OnlineStoreOptions,
  type StoredFeatureSet,
  type WriteOptions,
  type WriteResult,
} from './store.js';
export type { Checkpoint, CheckpointKeys, CheckpointWrite, FieldWrite } from './checkpoint.js';
export type { OnlineRead, FoundRead, MissingRead } from './read.js';
export {
  materialize,
  type MaterializeOptions,
  type MaterializeProgress,
  type MaterializeResult,
  type Rejection,
} from './materialize.js';
export { OnlineStoreError } from './errors.js';
export { deleteNamespace } from './namespace.js';
export { EVENT_TIME_FIELD, WRITE_TIME_FIELD, VERSION_FIELD } from './keys.js';
export { connectCluster, isCluster, type RedisClient } from './client.js';
