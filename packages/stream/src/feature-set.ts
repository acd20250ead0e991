import { createOnlineEngine, type FeatureSet, type OnlineState, type SourceEvent } from '@rtml/features';
import type { KeyedProcessor } from './processor.js';

/**
 * A feature set as a stream processor: every bit of feature logic (validation, windows, aggregation,
 * compaction) is its online engine's, computing what the offline backfill computes from the same definition.
 */
export function featureSetProcessor<E extends SourceEvent>(set: FeatureSet<E>): KeyedProcessor<OnlineState, E> {
  const engine = createOnlineEngine(set);
  return {
    name: engine.featureSet.name,
    parse: (raw) => engine.parse(raw),
    entityIdOf: (event) => engine.entityIdOf(event),
    eventTimeOf: (event) => event.eventTime,
    initialState: () => engine.initialState(),
    apply: (state, event) => engine.apply(state, event),
    read: (state, entityId, asOf) => engine.read(state, entityId, asOf),
    nextChange: (state, after) => engine.nextChange(state, after),
    compact: (state, watermark) => engine.compact(state, watermark),
    isEmpty: (state) => engine.isEmpty(state),
  };
}
