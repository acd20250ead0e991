import type { OnlineEngine, OnlineState, SourceEvent } from '@rtml/features';
import type { KeyedProcessor } from './processor.js';

/**
 * The shared feature engine as a stream processor: every bit of feature logic (validation, windows,
 * aggregation, compaction) is the engine's, the same code the offline backfill uses.
 */
export function featureSetProcessor<E extends SourceEvent>(engine: OnlineEngine<E>): KeyedProcessor<OnlineState, E> {
  return {
    name: engine.featureSet.name,
    parse: (raw) => engine.parse(raw),
    entityKey: (event) => engine.entityKey(event),
    eventTimeOf: (event) => event.eventTime,
    initialState: () => engine.initialState(),
    apply: (state, event) => engine.apply(state, event),
    read: (state, entityId, asOf) => engine.read(state, entityId, asOf),
    nextChange: (state, after) => engine.nextChange(state, after),
    compact: (state, watermark) => engine.compact(state, watermark),
    isEmpty: (state) => engine.isEmpty(state),
  };
}
