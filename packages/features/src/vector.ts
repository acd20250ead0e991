import type { EventTime } from './time.js';

/** What a feature can hold. `null` means "missing" and is never silently replaced by 0. */
export type FeatureValue = number | string | boolean | null | readonly number[] | readonly string[];

export type FeatureValues = Readonly<Record<string, FeatureValue>>;

/** The values of one feature set for one entity, valid as of `eventTime` (the event time they reflect). */
export interface FeatureVector {
  readonly featureSet: string;
  readonly entityId: string;
  readonly eventTime: EventTime;
  readonly values: FeatureValues;
}
