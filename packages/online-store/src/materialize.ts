import type { EventTime, FeatureVector } from '@rtml/features';
import { OnlineStoreError } from './errors.js';
import type { OnlineStore } from './store.js';

export interface MaterializeProgress {
  readonly batches: number;
  /** Vectors read from the source so far, rejected ones included. */
  readonly seen: number;
  readonly written: number;
  /** Not written because the store already held a newer (e.g. streamed) value. */
  readonly skippedOlder: number;
  /** Not written because the store refuses them (see `MaterializeResult.rejections`). */
  readonly rejected: number;
}

/** A vector the store refused, and why (e.g. a NaN value or a fractional event time). */
export interface Rejection {
  readonly featureSet: string;
  readonly entityId: string;
  readonly eventTime: EventTime;
  readonly reason: string;
}

export interface MaterializeResult extends MaterializeProgress {
  /** The first `MAX_LISTED_REJECTIONS` (100) rejections; `rejected` counts them all. */
  readonly rejections: readonly Rejection[];
}

export interface MaterializeOptions {
  /** Vectors per atomic writeBatch call; default 500. */
  readonly batchSize?: number;
  readonly onProgress?: (progress: MaterializeProgress) => void;
}

const MAX_LISTED_REJECTIONS = 100;

/**
 * The batch path into the online store: loads (latest offline) vectors through the same idempotent
 * writeBatch the stream processor uses, so a newer streamed value is never overwritten by an older batch one.
 * Each vector is validated on its own first: one the store refuses is reported and set aside, never failing
 * the valid vectors of its batch.
 */
export async function materialize(
  store: OnlineStore,
  vectors: AsyncIterable<FeatureVector> | Iterable<FeatureVector>,
  { batchSize = 500, onProgress }: MaterializeOptions = {},
): Promise<MaterializeResult> {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new OnlineStoreError(`batchSize must be a positive integer, got ${batchSize}`);
  let progress: MaterializeProgress = { batches: 0, seen: 0, written: 0, skippedOlder: 0, rejected: 0 };
  const rejections: Rejection[] = [];
  let batch: FeatureVector[] = [];
  let seenInBatch = 0;
  const flush = async (): Promise<void> => {
    const result = batch.length > 0 ? await store.writeBatch(batch) : { written: 0, skippedOlder: 0 };
    progress = {
      ...progress,
      batches: progress.batches + (batch.length > 0 ? 1 : 0),
      seen: progress.seen + seenInBatch,
      written: progress.written + result.written,
      skippedOlder: progress.skippedOlder + result.skippedOlder,
    };
    batch = [];
    seenInBatch = 0;
    onProgress?.(progress);
  };
  for await (const vector of vectors) {
    seenInBatch++;
    const reason = rejectionOf(store, vector);
    if (reason === undefined) batch.push(vector);
    else {
      progress = { ...progress, rejected: progress.rejected + 1 };
      if (rejections.length < MAX_LISTED_REJECTIONS)
        rejections.push({
          featureSet: vector.featureSet,
          entityId: vector.entityId,
          eventTime: vector.eventTime,
          reason,
        });
    }
    if (batch.length === batchSize) await flush();
  }
  if (seenInBatch > 0) await flush();
  return { ...progress, rejections };
}

function rejectionOf(store: OnlineStore, vector: FeatureVector): string | undefined {
  try {
    store.validate(vector);
    return undefined;
  } catch (error) {
    if (error instanceof OnlineStoreError) return error.message;
    throw error;
  }
}
