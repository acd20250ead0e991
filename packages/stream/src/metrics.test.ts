import { expect, it } from 'vitest';
import { humanMs, StreamMetrics } from './metrics.js';

it('writes durations in human units', () => {
  expect([0.4, 182, 4_200, 750_000, 43_046_327, 43_046_327_000].map(humanMs)).toEqual([
    '0ms',
    '182ms',
    '4.2s',
    '12.5min',
    '12.0h',
    '498.2d',
  ]);
  expect(humanMs(undefined)).toBe('-');
});

it('progress lines: freshness of backdated events in hours, and silence while idle until the heartbeat is due', () => {
  const metrics = new StreamMetrics();
  metrics.recordLag('transactions', 0, 0);
  metrics.recordCommit('transactions', 2, 40, [43_046_327, 43_046_327]);
  expect(metrics.progressLine('user_txn')).toMatch(
    new RegExp(
      /^\[stream user_txn\] \d+ ev\/s \| lag 0 over 1 partitions \| batch /.source +
        /p50 40ms \| freshness p50 12\.0h p99 12\.0h \| dead letters 0$/.source,
    ),
  );
  expect(metrics.progressLine('user_txn')).toBeUndefined(); // nothing happened since
  expect(metrics.progressLine('user_txn', 0)).toBe('[stream user_txn] idle | lag 0 over 1 partitions'); // heartbeat due
  metrics.recordLag('transactions', 0, 7); // lag moving without commits is news
  expect(metrics.progressLine('user_txn')).toMatch(/lag 7 over 1 partitions/);
});
