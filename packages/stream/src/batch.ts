import type { EventTime, FeatureVector } from '@rtml/features';
import type { DeadLetter, DeadLetterReason } from './dead-letter.js';
import type { KeyedProcessor } from './processor.js';
import type { CommitStore, Task } from './task.js';

/** One input record as read from Kafka. */
export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface DecodedEvent<E> {
  readonly kind: 'event';
  readonly event: E;
  readonly entityId: string;
  readonly eventTime: EventTime;
  readonly source: SourceRecord;
}

export type Decoded<E> = DecodedEvent<E> | (DeadLetter & { readonly kind: 'dead-letter' });

function deadLetter(
  source: SourceRecord,
  reason: DeadLetterReason,
  detail: string,
): DeadLetter & { kind: 'dead-letter' } {
  return { kind: 'dead-letter', reason, detail, ...source };
}

/**
 * JSON decoding, schema validation, keying and the event-time upper bound of one record; never throws.
 * `latestEventTime` is the processor's wall clock plus the tolerated clock skew: an event dated later would move
 * stream time (and with it the watermark) into the future and make every later event of its partition `late`.
 */
export function decodeRecord<E>(
  processor: KeyedProcessor<unknown, E>,
  source: SourceRecord,
  latestEventTime: number,
): Decoded<E> {
  if (source.value === null) return deadLetter(source, 'malformed-json', 'record has no value');
  let raw: unknown;
  try {
    raw = JSON.parse(source.value.toString('utf8'));
  } catch (error) {
    return deadLetter(source, 'malformed-json', (error as Error).message);
  }
  const parsed = processor.parse(raw, source.topic);
  if (!parsed.ok) return deadLetter(source, 'schema', parsed.reason);
  const entityId = processor.entityIdOf(parsed.event);
  if (typeof entityId !== 'string' || entityId.length === 0)
    return deadLetter(source, 'missing-key', 'event has no entity key');
  const time = processor.eventTimeOf(parsed.event);
  if (!Number.isFinite(time)) return deadLetter(source, 'schema', `event time is not a finite number: ${time}`);
  if (time > latestEventTime)
    return deadLetter(
      source,
      'future',
      `event time ${readableTime(time)} is after ${readableTime(latestEventTime)} (processor clock + max ` +
        `event time ahead)`,
    );
  return { kind: 'event', event: parsed.event, entityId, eventTime: time, source };
}

/** ISO 8601 where JavaScript dates reach (±273,790 years), epoch ms beyond. */
function readableTime(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms since the epoch`;
}

export interface BatchOutcome {
  readonly deadLetters: DeadLetter[];
  /** One vector per entity emitted (touched or due), as of the batch's stream time: the batch's writes, coalesced. */
  readonly vectors: FeatureVector[];
  /** Event times of the events applied, for freshness once committed. */
  readonly appliedEventTimes: EventTime[];
  readonly timerEmits: number;
}

/**
 * Applies decoded records to the task's (already loaded) entity states, fires due timers, and returns the vectors to
 * write. Mutates the task image (states, timers, dirty set): the caller discards the task if a write fails.
 */
export function applyBatch<S, E>(
  task: Task<S>,
  processor: KeyedProcessor<S, E>,
  allowedLatenessMs: number,
  records: readonly Decoded<E>[],
): BatchOutcome {
  const deadLetters: DeadLetter[] = [];
  const appliedEventTimes: EventTime[] = [];
  const touched = new Set<string>();
  for (const record of records) {
    if (record.kind === 'dead-letter') {
      deadLetters.push(record);
      continue;
    }
    const watermark = task.watermark(allowedLatenessMs);
    if (watermark !== undefined && record.eventTime < watermark) {
      deadLetters.push(
        deadLetter(record.source, 'late', lateReason(task, record.eventTime, watermark, allowedLatenessMs)),
      );
      continue;
    }
    task.entities.set(record.entityId, processor.apply(entityState(task, record.entityId), record.event));
    if (task.streamTime === undefined || record.eventTime > task.streamTime) {
      task.streamTime = record.eventTime;
      task.streamTimeFrom = record.source; // a reference; copied to {topic, offset} only when checkpointed
    }
    touched.add(record.entityId);
    appliedEventTimes.push(record.eventTime);
  }
  const due = task.dueTimers().filter((id) => !touched.has(id));
  const emitted = [...touched, ...due];
  return {
    deadLetters,
    appliedEventTimes,
    timerEmits: due.length,
    ...emitEntities(task, processor, allowedLatenessMs, emitted),
  };
}

function lateReason(task: Task<unknown>, time: EventTime, watermark: EventTime, allowedLatenessMs: number): string {
  const from = task.streamTimeFrom
    ? ` by ${task.streamTimeFrom.topic}[${task.partition}]@${task.streamTimeFrom.offset}`
    : '';
  return (
    `event time ${time} is before the watermark ${watermark}: stream time ${task.streamTime} ` +
    `set${from}, allowed lateness ${allowedLatenessMs} ms`
  );
}

function entityState<S>(task: Task<S>, entityId: string): S {
  const state = task.entities.get(entityId);
  if (state === undefined)
    throw new Error(
      `internal: state of entity "${entityId}" (partition ${task.partition}) was not loaded before apply`,
    );
  return state;
}

/** Compacts, reads as of stream time, re-arms the timer and marks each entity for the next checkpoint. */
function emitEntities<S, E>(
  task: Task<S>,
  processor: KeyedProcessor<S, E>,
  allowedLatenessMs: number,
  entityIds: readonly string[],
) {
  const vectors: FeatureVector[] = [];
  const asOf = task.streamTime;
  const watermark = task.watermark(allowedLatenessMs);
  if (asOf === undefined || watermark === undefined) return { vectors };
  for (const id of entityIds) {
    const state = processor.compact(entityState(task, id), watermark);
    task.entities.set(id, state);
    vectors.push(processor.read(state, id, asOf));
    task.timers.set(id, processor.nextChange(state, asOf));
    task.dirty.add(id);
  }
  return { vectors };
}

/** Entities whose state `applyBatch` will touch: the events' keys plus timers that can come due in this batch. */
export function entitiesNeeded<S, E>(task: Task<S>, records: readonly Decoded<E>[]): string[] {
  const ids = new Set<string>();
  let maxTime = task.streamTime ?? -Infinity;
  for (const record of records) {
    if (record.kind !== 'event') continue;
    ids.add(record.entityId);
    if (record.eventTime > maxTime) maxTime = record.eventTime;
  }
  for (const id of task.timers.dueBy(maxTime)) ids.add(id);
  return [...ids];
}

export interface BatchSettings {
  readonly allowedLatenessMs: number;
  /** Processor clock + max event time ahead: later events are dead-lettered as `future`. */
  readonly latestEventTime: number;
}

/**
 * One fetched batch of a task, from records to the planned commit: decode, load the entity states it needs (one
 * read), apply, fire timers. The runtime and the test driver both go through here, so they share every rule.
 */
export async function processRecords<S, E>(
  task: Task<S>,
  processor: KeyedProcessor<S, E>,
  store: CommitStore,
  sources: readonly SourceRecord[],
  settings: BatchSettings,
): Promise<BatchOutcome> {
  const records = sources.map((source) => decodeRecord(processor, source, settings.latestEventTime));
  await task.loadEntities(store, processor, entitiesNeeded(task, records));
  return applyBatch(task, processor, settings.allowedLatenessMs, records);
}

/**
 * Writes a batch's vectors, versioned by the position the batch reaches (`Task.version`), and moves the task's
 * in-memory position to `nextOffset` of `topic`. Idempotent: a replay of the same offsets writes the same versions,
 * which the store refuses, and never overwrites a newer vector.
 */
export async function writeVectors<S>(
  task: Task<S>,
  topic: string,
  nextOffset: string,
  outcome: BatchOutcome,
  store: CommitStore,
): Promise<void> {
  task.offsets = { ...task.offsets, [topic]: nextOffset };
  task.batchesSinceCheckpoint += 1;
  if (outcome.vectors.length > 0)
    await store.writeBatch(outcome.vectors, { version: task.version(), writtenNodes: task.writtenNodes });
}

/** How a checkpoint attempt ended. */
export type CheckpointResult =
  /** Written; or nothing was processed since the last one. */
  | 'done'
  /** Not written: a replica has not acknowledged the vectors since the last checkpoint yet (try again later). */
  | 'lagging'
  /** Not written: the fence moved (another instance checkpointed, or the checkpoint was lost): drop the task. */
  | 'moved';

/**
 * One checkpoint of a task, after its vectors are on a replica of every node that received them: the position,
 * meta, changed timer shards and the states of entities changed since the last checkpoint, in ONE fenced call in the
 * partition's own hash slot. A zombie (its expected fence is stale) writes nothing.
 */
export async function checkpoint<S>(
  task: Task<S>,
  processor: KeyedProcessor<S, unknown>,
  store: CommitStore,
  replicaTimeoutMs: number,
): Promise<CheckpointResult> {
  if (!task.aheadOfCheckpoint()) return 'done';
  if ((await store.awaitReplicas(task.writtenNodes, replicaTimeoutMs)) === 'lagging') return 'lagging';
  const write = task.checkpointWrite(processor);
  if (!(await store.writeCheckpoint(task.keys, write))) return 'moved';
  task.checkpointed(write);
  return 'done';
}
