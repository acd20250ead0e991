import type { EventTime, FeatureVector, ParseResult } from '@rtml/features';

// One declaration of a validation result, @rtml/features' (stream processors and feature engines parse alike).
export type { ParseResult };

/**
 * What the stream runtime needs from per-entity logic. The runtime owns Kafka, Redis, event time and
 * checkpoints; the processor owns the maths. `featureSetProcessor(set)` adapts the shared feature
 * engine, so the stream holds no second implementation of feature logic.
 *
 * State `S` must be JSON-serialisable plain data: it is checkpointed to Redis as JSON.
 */
export interface KeyedProcessor<S, E> {
  /** Feature set the vectors belong to; also names the processor in logs. */
  readonly name: string;
  /** Validates one decoded JSON value from `topic`. Never throws. */
  parse(raw: unknown, topic: string): ParseResult<E>;
  /** Entity the event belongs to; an empty string means "no key" (dead-lettered). */
  entityIdOf(event: E): string;
  eventTimeOf(event: E): EventTime;
  initialState(): S;
  /** Must be exact under out-of-order arrival (within the allowed lateness). */
  apply(state: S, event: E): S;
  read(state: S, entityId: string, asOf: EventTime): FeatureVector;
  /** First event time after `after` at which `read` would change without new events (window expiry). */
  nextChange(state: S, after: EventTime): EventTime | undefined;
  /** Drops what no read at or after `watermark` can need. */
  compact(state: S, watermark: EventTime): S;
  /**
   * Optional: true when a (compacted) state holds nothing a future read needs, i.e. it equals `initialState()`
   * for every purpose. Its Redis snapshot is then deleted instead of written, so entities whose windows have all
   * expired leave no state behind. Without it every snapshot is kept (lifetime aggregates need that anyway).
   */
  isEmpty?(state: S): boolean;
}
