import type { CheckpointKeys } from '@rtml/online-store';

export type { CheckpointKeys };

/**
 * Redis layout of the runtime's checkpoints, beside (never inside) the online store's feature keys. Every key of a
 * partition carries the hash tag `{namespace:group:partition}`, so they share one hash slot (one node of a cluster)
 * and each checkpoint is one atomic script:
 *   rtml:{ns}:stream:{group}:{ns:group:p}:offsets   fence: JSON {topic: next offset}
 *   rtml:{ns}:stream:{group}:{ns:group:p}:meta      stream time, the record that set it, the timer shard count
 *   rtml:{ns}:stream:{group}:{ns:group:p}:timers    hash: shard -> JSON {entity: at}
 *   rtml:{ns}:stream:{group}:{ns:group:p}:states    hash: entity -> JSON state
 * A task is one partition number across all input topics (co-partitioned, like Kafka Streams tasks).
 */
export function checkpointKeys(namespace: string, group: string, partition: number): CheckpointKeys {
  // A brace in either would move the hash tag, and a partition's keys could land in different slots.
  if (/[{}]/.test(namespace + group))
    throw new Error(`namespace and group may not contain "{" or "}" (hash tags): ${namespace}, ${group}`);
  const prefix = `rtml:${namespace}:stream:${group}:{${namespace}:${group}:${partition}}`;
  return { fence: `${prefix}:offsets`, meta: `${prefix}:meta`, timers: `${prefix}:timers`, states: `${prefix}:states` };
}
