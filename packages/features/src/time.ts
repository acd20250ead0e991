/**
 * Two clocks that must never be mixed up: when something happened (event time, carried by the event)
 * and when we processed it (processing time, read from the wall clock). Both are epoch milliseconds,
 * branded so the compiler rejects passing one where the other is expected.
 */
export type EventTime = number & { readonly __clock: 'event' };
export type ProcessingTime = number & { readonly __clock: 'processing' };
export type DurationMs = number & { readonly __unit: 'ms' };

export function eventTime(epochMs: number): EventTime {
  if (!Number.isFinite(epochMs)) throw new RangeError(`event time must be a finite epoch-ms number, got ${epochMs}`);
  return epochMs as EventTime;
}

export function processingTime(epochMs: number): ProcessingTime {
  if (!Number.isFinite(epochMs))
    throw new RangeError(`processing time must be a finite epoch-ms number, got ${epochMs}`);
  return epochMs as ProcessingTime;
}

export function nowProcessingTime(): ProcessingTime {
  return Date.now() as ProcessingTime;
}

export const duration = {
  ms: (n: number) => n as DurationMs,
  seconds: (n: number) => (n * 1000) as DurationMs,
  minutes: (n: number) => (n * 60_000) as DurationMs,
  hours: (n: number) => (n * 3_600_000) as DurationMs,
  days: (n: number) => (n * 86_400_000) as DurationMs,
};

/** How old a value is when read: processing time now minus the event time it reflects. */
export function freshnessMs(valueEventTime: EventTime, now: ProcessingTime): DurationMs {
  return (now - valueEventTime) as DurationMs;
}
