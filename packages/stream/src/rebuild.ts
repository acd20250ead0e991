import type { Admin } from 'kafkajs';
import type { OnlineStore } from '@rtml/online-store';
import { resetPartition } from './checkpoint-reset.js';
import { checkpointKeys } from './keys.js';

export interface RebuildOptions {
  readonly admin: Admin;
  readonly store: OnlineStore;
  readonly group: string;
  readonly topics: readonly string[];
  /** Feature set the processor writes (`KeyedProcessor.name`). */
  readonly featureSet: string;
  /**
   * Which partitions: every partition (default), a list, or `poisoned`: those whose persisted stream time lies more
   * than `maxEventTimeAhead` after now (set by a far-future event before that bound existed).
   */
  readonly partitions?: readonly number[] | 'poisoned';
  readonly maxEventTimeAhead: number;
  /** Rebuild even when retention has deleted the head of a partition (lifetime aggregates then miss those events). */
  readonly fromEarliestRetained?: boolean;
  readonly now?: number;
}

export interface RebuildReport {
  readonly partitions: readonly number[];
  readonly deletedVectors: number;
}

/**
 * Resets a processor's checkpoints so that its next run replays the chosen partitions from their earliest
 * retained offsets into a clean state, then resumes live: the exact repair for a poisoned stream time and the
 * rebuild after the online store lost its state. Refuses while any instance of the group runs (it would keep
 * committing its in-memory image), and when retention has deleted events unless `fromEarliestRetained`.
 *
 * Vectors: a full rebuild deletes every vector of the feature set (the replay writes them again); a partial one
 * deletes only vectors dated after now + `maxEventTimeAhead` (a poisoned partition's), because the online store
 * keeps the newest vector per entity and would refuse the replay's older but correct ones. Every other vector of
 * the replayed partitions is rewritten as of the same or a later event time, which the store accepts.
 */
export async function rebuildCheckpoints(options: RebuildOptions): Promise<RebuildReport> {
  const now = options.now ?? Date.now();
  await assertNoRunningMembers(options.admin, options.group);
  const all = await allPartitions(options.admin, options.topics);
  const partitions =
    options.partitions === 'poisoned' ? await poisonedPartitions(options, all, now) : (options.partitions ?? all);
  const unknown = partitions.filter((p) => !all.includes(p));
  if (unknown.length > 0)
    throw new Error(
      `partition(s) ${unknown.join(', ')} do not exist in ${options.topics.join(', ')} (partitions ${all.join(', ')})`,
    );
  if (partitions.length === 0) return { partitions, deletedVectors: 0 };
  if (!options.fromEarliestRetained) await assertLogsComplete(options.admin, options.topics, partitions);
  const full = all.every((p) => partitions.includes(p));
  const deletedVectors = await options.store.deleteVectors(
    options.featureSet,
    full ? undefined : now + options.maxEventTimeAhead,
  );
  for (const partition of partitions) {
    const { fence } = await options.store.loadCheckpoint(
      checkpointKeys(options.store.namespace, options.group, partition),
    );
    if (!(await resetPartition(options.store, options.group, partition, fence)))
      throw new Error(
        `partition ${partition}: its checkpoint changed during the rebuild; is a processor of group ` +
          `${options.group} still running?`,
      );
  }
  return { partitions, deletedVectors };
}

async function assertNoRunningMembers(admin: Admin, group: string): Promise<void> {
  const { groups } = await admin.describeGroups([group]);
  const members = groups[0]?.members.length ?? 0;
  if (members > 0)
    throw new Error(`group ${group} still has ${members} running member(s): stop every processor of the group first`);
}

async function allPartitions(admin: Admin, topics: readonly string[]): Promise<number[]> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
  return [...new Set(metadata.flatMap((t) => t.partitions.map((p) => p.partitionId)))].sort((a, b) => a - b);
}

async function poisonedPartitions(
  options: RebuildOptions,
  partitions: readonly number[],
  now: number,
): Promise<number[]> {
  const metas = await Promise.all(
    partitions.map(
      async (p) => (await options.store.loadCheckpoint(checkpointKeys(options.store.namespace, options.group, p))).meta,
    ),
  );
  return partitions.filter((_, i) => {
    const streamTime = metas[i] ? (JSON.parse(metas[i]) as { streamTime: number | null }).streamTime : null;
    return streamTime !== null && streamTime > now + options.maxEventTimeAhead;
  });
}

async function assertLogsComplete(
  admin: Admin,
  topics: readonly string[],
  partitions: readonly number[],
): Promise<void> {
  const truncated: string[] = [];
  for (const topic of topics) {
    for (const { partition, low } of await admin.fetchTopicOffsets(topic)) {
      if (partitions.includes(partition) && low !== '0')
        truncated.push(`${topic}[${partition}] starts at offset ${low}`);
    }
  }
  if (truncated.length > 0) {
    throw new Error(
      `retention has deleted events (${truncated.join(', ')}): a replay would miss them in lifetime ` +
        `aggregates. Pass --from-earliest-retained to rebuild from what is left`,
    );
  }
}
