import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventTime } from '@rtml/features';
import { transactions, userTransactionFeatures, type TransactionEvent } from '@rtml/features/testing';
import { openTempStore, T0 } from './test-support.js';

let ctx: Awaited<ReturnType<typeof openTempStore>>;
beforeEach(async () => {
  ctx = await openTempStore();
});
afterEach(async () => ctx.cleanup());

// A quote, a comma and a newline in a string and a null amount: what a hand-written CSV or SQL text gets wrong.
const events: TransactionEvent[] = [
  { eventId: 'e1', eventTime: eventTime(T0), userId: 'u1', amount: 10, merchantId: `O'Brien, "Ltd"\nDublin` },
  { eventId: 'e2', eventTime: eventTime(T0 + 60_000), userId: 'u1', amount: null, merchantId: 'm2' },
  { eventId: 'e3', eventTime: eventTime(T0 + 120_000), userId: 'u2', amount: 5.5, merchantId: '' },
];

const columnsOf = (table: string) =>
  ctx.store.query(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ` +
      `ordinal_position`,
  );
const rowsOf = (table: string) => ctx.store.query(`SELECT * FROM "${table}" ORDER BY eventId`);

describe('OfflineStore.loadEvents', () => {
  it('creates a table of the source events, typed from the schema, with every value as it was', async () => {
    expect(await ctx.store.loadEvents('txns', transactions, events)).toBe(3);

    expect(await columnsOf('txns')).toEqual([
      { column_name: 'eventId', data_type: 'VARCHAR' },
      { column_name: 'eventTime', data_type: 'BIGINT' },
      { column_name: 'userId', data_type: 'VARCHAR' },
      { column_name: 'amount', data_type: 'DOUBLE' },
      { column_name: 'merchantId', data_type: 'VARCHAR' },
    ]);
    expect(await rowsOf('txns')).toEqual(events.map((event) => ({ ...event, eventTime: BigInt(event.eventTime) })));
  });

  it('loads an NDJSON file of the same records into the same table, and replaces an existing one', async () => {
    const file = join(ctx.dir, "it's events.ndjson");
    await writeFile(file, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
    await ctx.store.loadEvents('from_memory', transactions, events);
    await ctx.store.loadEvents('from_file', transactions, events.slice(0, 1));

    expect(await ctx.store.loadEvents('from_file', transactions, { ndjson: file })).toBe(3);

    expect(await columnsOf('from_file')).toEqual(await columnsOf('from_memory'));
    expect(await rowsOf('from_file')).toEqual(await rowsOf('from_memory'));
  });

  it('is what a backfill reads', async () => {
    await ctx.store.loadEvents('txns', transactions, events);
    const result = await ctx.store.backfill(userTransactionFeatures, { events: 'txns', eventTimeEncoding: 'epoch_ms' });
    expect(result.rowsWritten).toBeGreaterThanOrEqual(events.length);
  });
});
