import { z } from 'zod';
import { eventTime, type EventTime } from './time.js';

/**
 * An event time as it arrives on the wire: ISO-8601 with an explicit offset (`Z`, `+02:00`, ...) or integer
 * epoch milliseconds. Both normalise to `EventTime`. Offsetless ISO strings are rejected on purpose: their
 * meaning would depend on the machine's time zone. Sub-millisecond digits are truncated (event times are ms).
 */
export const isoOrEpochMs: z.ZodType<EventTime, string | number> = z
  .union([
    z.number().int().refine(Number.isSafeInteger, 'epoch ms must be a safe integer'),
    z.iso.datetime({ offset: true, error: 'expected ISO-8601 with a time-zone offset, e.g. 2024-05-01T12:00:00Z' }),
  ])
  .transform((value) => eventTime(typeof value === 'number' ? value : Date.parse(value)));
