import { z } from 'zod';
import { eventTime, type EventTime } from '@rtml/features';
import type { KeyedProcessor } from '../processor.js';

/**
 * A deliberately small processor for the runtime's own tests and benchmark: per user, an all-time
 * count/sum (double counting shows) and a sliding-window count/sum (timers and compaction show).
 * The real pipelines use `featureSetProcessor(set)` instead.
 */
const PaymentSchema = z.object({
  eventId: z.string().min(1),
  userId: z.string(),
  eventTime: z.number().int().nonnegative(),
  amount: z.number().finite(),
});
export type Payment = z.infer<typeof PaymentSchema>;

export interface CountingState {
  readonly count: number;
  readonly sum: number;
  /** [eventTime, amount] of events still inside the window of some future read. */
  readonly recent: readonly (readonly [number, number])[];
}

export function countingProcessor(windowMs: number, name = 'payments_counts'): KeyedProcessor<CountingState, Payment> {
  const inWindow =
    (asOf: number) =>
    ([t]: readonly [number, number]) =>
      t > asOf - windowMs && t <= asOf;
  return {
    name,
    parse(raw) {
      const parsed = PaymentSchema.safeParse(raw);
      return parsed.success
        ? { ok: true, event: parsed.data }
        : {
            ok: false,
            reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
          };
    },
    entityIdOf: (event) => event.userId,
    eventTimeOf: (event) => eventTime(event.eventTime),
    initialState: () => ({ count: 0, sum: 0, recent: [] }),
    apply: (state, event) => ({
      count: state.count + 1,
      sum: state.sum + event.amount,
      recent: [...state.recent, [event.eventTime, event.amount] as const],
    }),
    read(state, entityId, asOf) {
      const windowed = state.recent.filter(inWindow(asOf));
      return {
        featureSet: name,
        entityId,
        eventTime: asOf,
        values: {
          count: state.count,
          sum: state.sum,
          window_count: windowed.length,
          window_sum: windowed.reduce((a, [, amount]) => a + amount, 0),
        },
      };
    },
    nextChange(state, after) {
      const expiries = state.recent.map(([t]) => t + windowMs).filter((at) => at > after);
      return expiries.length === 0 ? undefined : (Math.min(...expiries) as EventTime);
    },
    compact: (state, watermark) => ({ ...state, recent: state.recent.filter(([t]) => t + windowMs > watermark) }),
  };
}

/** Export for the CLI's `--processor <module>#<export>`: a one-minute window. */
export const paymentsCounts = countingProcessor(60_000);
