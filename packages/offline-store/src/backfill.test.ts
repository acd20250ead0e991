import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackfill } from '@rtml/features';
import { userTransactionFeatures } from '@rtml/features/testing';
import { openTempStore, T0 } from './test-support.js';

let ctx: Awaited<ReturnType<typeof openTempStore>>;
beforeEach(async () => {
  ctx = await openTempStore();
  await ctx.store.connection.run(`
    CREATE TABLE txns AS SELECT * FROM (VALUES
      ('e1', ${T0}::BIGINT, 'u1', 10.0, 'm1'),
      ('e2', ${T0 + 60_000}::BIGINT, 'u1', 30.0, 'm2'),
      ('e3', ${T0 + 120_000}::BIGINT, 'u2', 5.0, 'm1')
    ) AS t(eventId, eventTime, userId, amount, merchantId)`);
});
afterEach(async () => ctx.cleanup());

describe('OfflineStore.backfill', () => {
  it("stores exactly the set's runBackfill history under the set's name and leaves no staging table", async () => {
    const result = await ctx.store.backfill(userTransactionFeatures, { events: 'txns', eventTimeEncoding: 'epoch_ms' });

    const expected = await runBackfill(ctx.store.connection, userTransactionFeatures, {
      events: 'txns',
      into: 'reference',
    });
    expect(expected.rows).toBeGreaterThan(3); // an event row each, plus window-expiry rows
    expect(result).toMatchObject({ featureSet: userTransactionFeatures.name, rowsWritten: expected.rows });
    const stored = await ctx.store.query(
      `SELECT * EXCLUDE (event_time), epoch_ms(event_time) AS t FROM fs__user_txn ORDER BY entity_id, t`,
    );
    const reference = await ctx.store.query(
      `SELECT * EXCLUDE (event_time), epoch_ms(event_time) AS t FROM reference ORDER BY entity_id, t`,
    );
    expect(stored).toEqual(reference);
    const tables = await ctx.store.query(
      `SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'backfill%'`,
    );
    expect(tables).toEqual([]);
  });
});
