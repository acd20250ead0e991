/*
 * @rtml/features/testing: what tests, benchmarks and parity checks use, kept out of the main entry. The reference
 * example (card transactions per user), the offline/online parity contract, reading a backfill's history, the
 * event order and the event-time rule text.
 */
export { transactions, user, userTransactionFeatures, type TransactionEvent } from './example.js';
export { offlineOnlineAgree, type SummedInputs } from './agreement.js';
export { readBackfillHistory, rowAsOf, type HistoryRow } from './offline.js';
export { compareEventIds, compareEventKeys } from './order.js';
export { EVENT_TIME_RULE, ISO_WITH_OFFSET_PATTERN } from './event-time.js';
