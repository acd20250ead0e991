import type { Admin } from 'kafkajs';
import type { OnlineStore } from '@rtml/online-store';
import { checkpointKeys } from './keys.js';

/** A processor (its consumer group) and one of its input topics. */
export interface ProcessorInput {
  readonly group: string;
  readonly topic: string;
}

export interface WaitCaughtUpOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

/**
 * Resolves once every processor has checkpointed, in the online store (the processors' `store`, same namespace), up to
 * the end its input topic had when this was called: everything produced before the call is then in the store, and
 * recovery would not replay it. The checkpoint follows the vectors by at most the checkpoint interval.
 */
export async function waitUntilCaughtUp(
  store: OnlineStore,
  admin: Admin,
  inputs: readonly ProcessorInput[],
  options: WaitCaughtUpOptions = {},
): Promise<void> {
  const { timeoutMs = 120_000, pollMs = 20 } = options;
  const targets = await endOffsets(admin, inputs, store.namespace);
  if (targets.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A failing read (a Redis Cluster failing over, a shard still joining) is retried until the deadline.
    const fences = await store.readFences(targets.map((t) => t.fenceKey)).catch((error: Error) => error);
    const behind = fences instanceof Error ? targets : targets.filter((t, i) => !reached(fences[i], t.topic, t.end));
    if (behind.length === 0) return;
    if (Date.now() > deadline) {
      const where = behind.map((t) => `${t.group} ${t.topic}[${t.partition}] < ${t.end}`).join(', ');
      const why = fences instanceof Error ? ` (reading the checkpoints failed: ${fences.message})` : '';
      throw new Error(`stream processors not caught up within ${timeoutMs} ms: ${where}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

interface PartitionTarget extends ProcessorInput {
  readonly partition: number;
  readonly end: number;
  readonly fenceKey: string;
}

/** Non-empty partitions only: an empty one has nothing to wait for (and no fence until its first event). */
async function endOffsets(
  admin: Admin,
  inputs: readonly ProcessorInput[],
  namespace: string,
): Promise<PartitionTarget[]> {
  const perInput = await Promise.all(
    inputs.map(async (input) =>
      (await admin.fetchTopicOffsets(input.topic))
        .filter((p) => p.high !== '0')
        .map((p) => ({
          ...input,
          partition: p.partition,
          end: Number(p.high),
          fenceKey: checkpointKeys(namespace, input.group, p.partition).fence,
        })),
    ),
  );
  return perInput.flat();
}

/** The fence is JSON `{topic: next offset}` for all topics of the partition's task. */
function reached(fence: string | null | undefined, topic: string, end: number): boolean {
  const committed = fence ? (JSON.parse(fence) as Record<string, string>)[topic] : undefined;
  return committed !== undefined && Number(committed) >= end;
}
