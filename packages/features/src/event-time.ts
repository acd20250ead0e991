import { z } from 'zod';
import { eventTime, type EventTime } from './time.js';

/**
 * The one rule for event times, online (zod) and offline (the backfill's SQL checks): integer epoch
 * milliseconds (a safe integer), or ISO-8601 with seconds and an explicit offset, `Z` or `±HH:MM`. Offsetless
 * strings, date-only strings, `+0530`, `+05` and named zones are rejected: their instant would depend on the
 * machine's or session's time zone. Both paths report a violation with this text.
 */
export const EVENT_TIME_RULE =
  'expected integer epoch milliseconds or ISO-8601 with a time-zone offset (Z or ±HH:MM), e.g. 2024-05-01T12:00:00Z';

const isoWithOffset = z.iso.datetime({ offset: true, error: EVENT_TIME_RULE });

/**
 * The ISO branch of the rule as a regular expression without look-arounds, so DuckDB's RE2 evaluates exactly
 * what zod does (taken from the schema itself, not copied).
 */
export const ISO_WITH_OFFSET_PATTERN: string = isoWithOffset._zod.pattern.source;

/**
 * An event time as it arrives on the wire, normalised to `EventTime`. Sub-millisecond digits are dropped
 * (event times are ms; the offline backfill floors them the same way, also before 1970).
 */
export const isoOrEpochMs: z.ZodType<EventTime, string | number> = z
  .union([z.number().refine(Number.isSafeInteger, EVENT_TIME_RULE), isoWithOffset], { error: EVENT_TIME_RULE })
  .transform((value) => eventTime(typeof value === 'number' ? value : Date.parse(value)));
