import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 (its last release) schedules `setTimeout(throttledUntil - Date.now())` with `throttledUntil = -1`
 * whenever a request queue is neither throttled nor holding pending requests: a negative delay, which Node 24
 * reports as `TimeoutNegativeWarning: -17962... is a negative number`, and a 1 ms polling loop on every idle
 * connection (tulios/kafkajs#1751, #1704; upstream fix proposed in PR #1768, never released).
 * This replaces that one method with the fixed version: with nothing pending and no throttle there is nothing to
 * check, because `push` and every completed request call back into the queue themselves.
 */
interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' own interval for re-checking pending requests held back by the in-flight limit. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  if (untilUnthrottled <= 0 && this.pending.length === 0) return;
  const delay = untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
}

// kafkajs has no "exports" map, so its internal module resolves to the very instance kafkajs itself requires.
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: RequestQueueInternals;
};
RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
