/**
 * Redis layout of the runtime's checkpoints, beside (never inside) the online store's feature keys:
 *   rtml:{namespace}:stream:{group}:offsets:{partition}          fence: JSON {topic: next offset}
 *   rtml:{namespace}:stream:{group}:meta:{partition}             stream time (+ the timer shard count)
 *   rtml:{namespace}:stream:{group}:timers:{partition}:{shard}   pending timers of one shard: JSON {entity: at}
 *   rtml:{namespace}:stream:{group}:state:{partition}:{entity}   one entity's processor state
 * A task is one partition number across all input topics (co-partitioned, like Kafka Streams tasks).
 */
export interface CheckpointKeys {
  readonly offsets: string;
  readonly meta: string;
  state(entityId: string): string;
  timers(shard: number): string;
}

/** Prefix of every checkpoint key of one processor (consumer group) in a namespace. */
export function checkpointPrefix(namespace: string, group: string): string {
  return `rtml:${namespace}:stream:${group}`;
}

export function checkpointKeys(namespace: string, group: string, partition: number): CheckpointKeys {
  const prefix = checkpointPrefix(namespace, group);
  return {
    offsets: `${prefix}:offsets:${partition}`,
    meta: `${prefix}:meta:${partition}`,
    state: (entityId) => `${prefix}:state:${partition}:${entityId}`,
    timers: (shard) => `${prefix}:timers:${partition}:${shard}`,
  };
}
