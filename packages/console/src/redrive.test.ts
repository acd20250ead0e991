import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { kafkaClient, readConnectionSettings } from '@rtml/connections';
import { ensureTopics } from '@rtml/kafka';
import { DEAD_LETTER_HEADERS } from '@rtml/stream';
import { DeadLetterBook, PREVIEW_CHARS, readLetter } from './dead-letters.js';
import { REDRIVEN_FROM_HEADER, Redriver } from './redrive.js';
import { tailTopics } from './topic-tail.js';

const connections = readConnectionSettings({ KAFKA_BROKERS: inject('kafkaBrokers'), REDIS_URL: inject('redisUrl') });
const kafka = kafkaClient(connections.kafka, { clientId: 'redrive-test' });
const run = randomUUID().slice(0, 8);
const source = `redrive-${run}-source`;
const ledgerTopic = `redrive-${run}-ledger`;
const transactionalId = `redrive-${run}`;
let admin: Admin;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: source, numPartitions: 2 }]);
});

afterAll(async () => {
  await admin.deleteTopics({ topics: [source, ledgerTopic] }).catch(() => undefined);
  await admin.disconnect();
});

function bookWith(offsets: readonly number[], body = (offset: number) => `{"n":${offset}}`): DeadLetterBook {
  const book = new DeadLetterBook();
  for (const offset of offsets) {
    const headers = {
      [DEAD_LETTER_HEADERS.reason]: 'schema',
      [DEAD_LETTER_HEADERS.topic]: source,
      [DEAD_LETTER_HEADERS.partition]: '0',
      [DEAD_LETTER_HEADERS.offset]: String(offset),
    };
    const message = {
      key: null,
      value: Buffer.from(body(offset)),
      timestamp: String(Date.now()),
      attributes: 0,
      offset: String(offset),
      headers: { ...headers, [DEAD_LETTER_HEADERS.originalKey]: 'k' },
    };
    book.add(readLetter({ topic: `${source}.dlq`, partition: 0, message })!);
  }
  return book;
}

/** Committed records in the source topic per re-driven letter (read_committed, as the processors read). */
async function redrivenCounts(expectedTotal: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let seen = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const consumer = await tailTopics(kafka, 'redrive-test', [source], ({ message }) => {
    const from = message.headers?.[REDRIVEN_FROM_HEADER]?.toString() ?? '?';
    counts[from] = (counts[from] ?? 0) + 1;
    if (++seen >= expectedTotal) done();
  });
  await all;
  // A duplicate would arrive with the rest: give it the chance.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await consumer.disconnect();
  return counts;
}

it(
  'each letter reaches its source topic once: across repeats, concurrent calls, and a console fenced by a ' +
    'newer one',
  async () => {
    const book = bookWith([1, 2, 3, 4], (offset) =>
      offset === 4 ? `{"long":"${'x'.repeat(PREVIEW_CHARS)}"}` : `{"n":${offset}}`,
    );
    const first = new Redriver(kafka, book, ledgerTopic, transactionalId);
    const newer = new Redriver(kafka, book, ledgerTopic, transactionalId);
    try {
      const statuses = (outcomes: { status: string }[]) => outcomes.map((o) => o.status);
      expect(statuses(await first.redrive([{ id: `${source}:0:1` }, { id: `${source}:0:1` }]))).toEqual([
        'redriven',
        'already-redriven',
      ]);
      // A fix edited from a cut preview would drop the rest of the record: refused, nothing sent.
      expect(statuses(await first.redrive([{ id: `${source}:0:4`, value: '{"fixed":true}' }]))).toEqual(['refused']);
      // The newer console fences the first; it learns letter 1 from the ledger and sends letter 2.
      const [a, b] = await Promise.all([
        newer.redrive([{ id: `${source}:0:1` }, { id: `${source}:0:2` }]),
        newer.redrive([{ id: `${source}:0:2` }]),
      ]);
      expect([statuses(a), statuses(b)]).toEqual([['already-redriven', 'redriven'], ['already-redriven']]);
      // The fenced console's next re-drive fails without sending; it then reconnects, fencing the newer one, and knows
      // both.
      await expect(first.redrive([{ id: `${source}:0:3` }])).rejects.toThrow();
      expect(
        statuses(await first.redrive([{ id: `${source}:0:2` }, { id: `${source}:0:3` }, { id: `${source}:0:9` }])),
      ).toEqual(['already-redriven', 'redriven', 'refused']);
    } finally {
      await Promise.all([first.close(), newer.close()]);
    }
    expect(await redrivenCounts(3)).toEqual({ [`${source}:0:1`]: 1, [`${source}:0:2`]: 1, [`${source}:0:3`]: 1 });
  },
);
