import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duration, eventTime, type EventTime } from '@rtml/features';
import { OfflineStore } from './store.js';

/** 2024-01-01T00:00:00Z: tests speak in minutes after it. */
export const T0 = Date.UTC(2024, 0, 1);
export const at = (minutes: number): EventTime => eventTime(T0 + duration.minutes(minutes));

/** Opens a store in a fresh temp directory (the machine is shared) and returns a cleanup that closes and deletes it. */
export async function openTempStore(): Promise<{ store: OfflineStore; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rtml-offline-store-'));
  const store = await OfflineStore.open({ dir });
  return {
    store,
    dir,
    cleanup: async () => {
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
