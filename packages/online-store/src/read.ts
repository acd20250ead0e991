import {
  eventTime,
  freshnessMs,
  processingTime,
  type DurationMs,
  type EventTime,
  type FeatureValue,
  type FeatureValues,
  type ProcessingTime,
} from '@rtml/features';
import { OnlineStoreError } from './errors.js';
import { decodeFeatureValue } from './codec.js';
import { EVENT_TIME_FIELD, META_PREFIX, WRITE_TIME_FIELD } from './keys.js';

interface ReadIdentity {
  readonly featureSet: string;
  readonly entityId: string;
}

/** Nothing stored for this entity (never written, or expired by TTL). It carries no values by construction. */
export interface MissingRead extends ReadIdentity {
  readonly status: 'missing';
  readonly eventTime?: never;
  readonly writeTime?: never;
  readonly freshnessMs?: never;
  readonly values?: never;
}

/** Stored values, `stale` when older (by event time) than the feature set's maxAge. */
export interface FoundRead extends ReadIdentity {
  readonly status: 'fresh' | 'stale';
  readonly eventTime: EventTime;
  readonly writeTime: ProcessingTime;
  /** now − eventTime */
  readonly freshnessMs: DurationMs;
  /** Only the features actually stored; absent ones are listed in `missingFeatures`, never defaulted. */
  readonly values: FeatureValues;
  /** Declared features (see FeatureSetConfig.features) absent from the stored hash. */
  readonly missingFeatures: readonly string[];
}

export type OnlineRead = MissingRead | FoundRead;

export interface DecodeContext extends ReadIdentity {
  readonly key: string;
  readonly maxAge: DurationMs | undefined;
  readonly declaredFeatures: readonly string[] | undefined;
  readonly now: ProcessingTime;
}

function metaNumber(ctx: DecodeContext, raw: string | undefined, field: string): number {
  const value = raw === undefined ? NaN : Number(raw);
  if (!Number.isFinite(value))
    throw new OnlineStoreError(`${ctx.key}: metadata field ${field} is missing or not a number (${raw})`);
  return value;
}

/**
 * Turns one HGETALL reply, as Redis sends it (`[field, value, field, value, ...]`), into an OnlineRead; an empty reply
 * is how Redis reports an absent key. The flat reply is decoded in one pass: building ioredis' field -> value object
 * first and walking it again cost as much as the JSON values themselves (bench/README.md, online lookup).
 */
export function decodeRead(ctx: DecodeContext, reply: readonly string[]): OnlineRead {
  // Properties are spelled out, not spread from a shared identity object: the spread cost ~6 µs per read.
  if (reply.length === 0) return { featureSet: ctx.featureSet, entityId: ctx.entityId, status: 'missing' };
  const values: Record<string, FeatureValue> = {};
  let storedEventTime: string | undefined;
  let storedWriteTime: string | undefined;
  for (let at = 0; at < reply.length; at += 2) {
    const field = reply[at]!;
    const raw = reply[at + 1]!;
    if (!field.startsWith(META_PREFIX)) values[field] = decodeFeatureValue(raw, () => `${ctx.key} field ${field}`);
    else if (field === EVENT_TIME_FIELD) storedEventTime = raw;
    else if (field === WRITE_TIME_FIELD) storedWriteTime = raw;
  }
  const time = eventTime(metaNumber(ctx, storedEventTime, EVENT_TIME_FIELD));
  const age = freshnessMs(time, ctx.now);
  return {
    featureSet: ctx.featureSet,
    entityId: ctx.entityId,
    status: ctx.maxAge !== undefined && age > ctx.maxAge ? 'stale' : 'fresh',
    eventTime: time,
    writeTime: processingTime(metaNumber(ctx, storedWriteTime, WRITE_TIME_FIELD)),
    freshnessMs: age,
    values,
    missingFeatures:
      ctx.declaredFeatures === undefined ? [] : ctx.declaredFeatures.filter((name) => !Object.hasOwn(values, name)),
  };
}
