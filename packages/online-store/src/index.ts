export { OnlineStore, FENCE_ON_CLUSTER, type OnlineStoreOptions, type StoredFeatureSet, type WriteOptions, type WriteResult } from './store.js';
export { readFence, type Fence, type SideWrite } from './fence.js';
export type { OnlineRead, FoundRead, MissingRead } from './read.js';
export { materialize, type MaterializeOptions, type MaterializeProgress, type MaterializeResult, type Rejection } from './materialize.js';
export { OnlineStoreError } from './errors.js';
export { deleteNamespace } from './namespace.js';
export { EVENT_TIME_FIELD, WRITE_TIME_FIELD } from './keys.js';
export { connectCluster, isCluster, type RedisClient } from './client.js';
