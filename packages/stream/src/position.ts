/**
 * Where a fetched batch stands against the offset committed in Redis (the next offset to process).
 *
 * Kafka's group offset is only a monitoring copy, so the consumer's fetch position can differ from the
 * committed one after a (re)assignment, and nothing but this check keeps a partition in offset order:
 * - `process`: the batch starts at the committed offset; or past it, after a seek to exactly that offset
 *   already returned it there (a real gap: compacted records, or transaction markers that kafkajs skips
 *   without handing them to us).
 * - `skip-redelivered`: it starts before the committed offset but reaches it; process only the offsets at
 *   or after it.
 * - `seek`: it lies wholly before the committed offset, or starts past it without a seek to that offset
 *   since. Seek to the committed offset and drop the batch; processing it would skip events or apply them
 *   out of order.
 */
export type BatchPosition = 'process' | 'skip-redelivered' | 'seek';

export interface OffsetRange {
  /** First offset kafkajs fetched, control records and aborted records included (`batch.firstOffset()`). */
  readonly first: bigint;
  /** Offset of the last data message. */
  readonly lastMessage: bigint;
}

export function batchPosition(batch: OffsetRange, committed: bigint, lastSeek: bigint | undefined): BatchPosition {
  if (batch.first === committed) return 'process';
  if (batch.first < committed) return batch.lastMessage >= committed ? 'skip-redelivered' : 'seek';
  return lastSeek === committed ? 'process' : 'seek';
}
