import { OnlineStoreError } from './errors.js';

/** Hash fields reserved for metadata; feature names may not start with this prefix. */
export const META_PREFIX = '__';
export const EVENT_TIME_FIELD = '__event_time';
export const WRITE_TIME_FIELD = '__write_time';
/** The stream processor's version of a vector (the partition offset its batch reached), ordering equal event times. */
export const VERSION_FIELD = '__version';

/**
 * Namespace and feature-set names become colon-separated key segments, so they may not contain ':'.
 * That keeps `rtml:{ns}:fs:{set}:{entityId}` unambiguous even when entity ids contain colons.
 */
export function assertKeySegment(kind: string, name: string): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new OnlineStoreError(`${kind} must be a non-empty string, got ${JSON.stringify(name)}`);
  if (name.includes(':')) throw new OnlineStoreError(`${kind} may not contain ':', got ${JSON.stringify(name)}`);
}

export function assertEntityId(featureSet: string, entityId: unknown): asserts entityId is string {
  if (typeof entityId !== 'string' || entityId.length === 0) {
    throw new OnlineStoreError(
      `entity id for feature set "${featureSet}" must be a non-empty string, got ${JSON.stringify(entityId)}`,
    );
  }
}

/** Prefix shared by every feature hash of a namespace. */
export function featureKeyPrefix(namespace: string): string {
  return `rtml:${namespace}:fs:`;
}

export function entityHashKey(namespace: string, featureSet: string, entityId: string): string {
  return `${featureKeyPrefix(namespace)}${featureSet}:${entityId}`;
}

/** Escapes Redis glob characters, so a SCAN MATCH pattern matches `text` literally. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
