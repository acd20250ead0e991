// Speed of the test driver: `npx tsx --conditions=source packages/stream/src/testing/driver-speed.ts` (numbers in the
// README).
import { duration } from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import { createTestDriver } from './index.js';
const T0 = 1_700_000_000_000;
const events = Array.from({ length: 20_000 }, (_, i) => ({
  eventId: `e${i}`,
  eventTime: T0 + i * 1000,
  userId: `u${i % 200}`,
  amount: i % 97,
  merchantId: `m${i % 13}`,
}));
for (const run of [1, 2, 3]) {
  const driver = createTestDriver(userTransactionFeatures, {
    allowedLateness: duration.minutes(1),
    partitions: 3,
    startTime: T0 + 1e9,
  });
  const start = performance.now();
  for (let i = 0; i < events.length; i += 500) await driver.pipe(events.slice(i, i + 500));
  const ms = performance.now() - start;
  console.log(
    `run ${run}: ${events.length} events in ${ms.toFixed(0)} ms (${Math.round((events.length / ms) * 1000)} ` +
      `ev/s), ${driver.vectors().length} vectors, ${driver.deadLetters().length} dead letters`,
  );
}
