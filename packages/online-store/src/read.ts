import { eventTime, freshnessMs, processingTime, type DurationMs, type EventTime, type FeatureValue, type FeatureValues, type ProcessingTime } from '@rtml/features';
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

function metaNumber(ctx: DecodeContext, hash: Record<string, string>, field: string): number {
  const raw = hash[field];
  const value = raw === undefined ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new OnlineStoreError(`${ctx.key}: metadata field ${field} is missing or not a number (${raw})`);
  return value;
}

function decodeValues(ctx: DecodeContext, hash: Record<string, string>): Record<string, FeatureValue> {
  const values: Record<string, FeatureValue> = {};
  for (const field in hash) {
    if (!field.startsWith(META_PREFIX)) values[field] = decodeFeatureValue(hash[field]!, () => `${ctx.key} field ${field}`);
  }
  return values;
}

/** Turns one HGETALL reply into an OnlineRead. An empty reply is how Redis reports an absent key. */
export function decodeRead(ctx: DecodeContext, hash: Record<string, string>): OnlineRead {
  const identity = { featureSet: ctx.featureSet, entityId: ctx.entityId };
  if (Object.keys(hash).length === 0) return { ...identity, status: 'missing' };
  const storedEventTime = eventTime(metaNumber(ctx, hash, EVENT_TIME_FIELD));
  const age = freshnessMs(storedEventTime, ctx.now);
  const values = decodeValues(ctx, hash);
  return {
    ...identity,
    status: ctx.maxAge !== undefined && age > ctx.maxAge ? 'stale' : 'fresh',
    eventTime: storedEventTime,
    writeTime: processingTime(metaNumber(ctx, hash, WRITE_TIME_FIELD)),
    freshnessMs: age,
    values,
    missingFeatures: (ctx.declaredFeatures ?? []).filter((name) => !Object.hasOwn(values, name)),
  };
}
