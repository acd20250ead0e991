import type { OnlineStore } from '@rtml/online-store';
import { checkpointKeys } from './keys.js';

/**
 * Fence value of a partition reset to "nothing applied yet": every input topic starts at its earliest retained
 * offset. Unlike an absent fence (which, with Kafka group offsets present, means the online store lost its
 * state), it says the reset was deliberate, so a crash during the replay just continues it.
 */
export const EMPTY_CHECKPOINT = '{}';

/**
 * Resets a partition's checkpoint to `EMPTY_CHECKPOINT`, deleting its meta, timers and entity states in the same
 * fenced call (one hash slot), so it applies only if the fence still holds `expectedFence` (no instance
 * checkpointed meanwhile). The next owner then replays the partition from the earliest retained offset. False when
 * the fence moved.
 */
export function resetPartition(
  store: OnlineStore,
  group: string,
  partition: number,
  expectedFence: string | null,
): Promise<boolean> {
  return store.writeCheckpoint(checkpointKeys(store.namespace, group, partition), {
    expected: expectedFence,
    next: EMPTY_CHECKPOINT,
    clear: true,
  });
}
