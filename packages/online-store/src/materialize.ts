import type { FeatureVector } from '@rtml/features';
import { OnlineStoreError } from './errors.js';
import type { OnlineStore } from './store.js';

export interface MaterializeProgress {
  readonly batches: number;
  /** Vectors sent to the store so far. */
  readonly seen: number;
  readonly written: number;
  /** Not written because the store already held a newer (e.g. streamed) value. */
  readonly skippedOlder: number;
}

export interface MaterializeOptions {
  /** Vectors per atomic writeBatch call; default 500. */
  readonly batchSize?: number;
  readonly onProgress?: (progress: MaterializeProgress) => void;
}

/**
 * The batch path into the online store: loads (latest offline) vectors through the same idempotent
 * writeBatch the stream processor uses, so a newer streamed value is never overwritten by an older batch one.
 */
export async function materialize(
  store: OnlineStore,
  vectors: AsyncIterable<FeatureVector> | Iterable<FeatureVector>,
  { batchSize = 500, onProgress }: MaterializeOptions = {},
): Promise<MaterializeProgress> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OnlineStoreError(`batchSize must be a positive integer, got ${batchSize}`);
  let progress: MaterializeProgress = { batches: 0, seen: 0, written: 0, skippedOlder: 0 };
  const flush = async (batch: readonly FeatureVector[]): Promise<void> => {
    const result = await store.writeBatch(batch);
    progress = {
      batches: progress.batches + 1,
      seen: progress.seen + batch.length,
      written: progress.written + result.written,
      skippedOlder: progress.skippedOlder + result.skippedOlder,
    };
    onProgress?.(progress);
  };
  let batch: FeatureVector[] = [];
  for await (const vector of vectors) {
    batch.push(vector);
    if (batch.length === batchSize) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
  return progress;
}
