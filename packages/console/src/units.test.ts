import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '@rtml/stream';
import { DeadLetterBook, PREVIEW_CHARS, readLetter } from './dead-letters.js';
import { humanDuration } from './feature-sets.js';
import { bucketDelta, histogramBuckets, histogramQuantile, parsePrometheus } from './prometheus.js';
import { readLedgerEntry } from './redrive.js';

const METRICS = `# HELP rtml_stream_freshness_seconds Event time to value visible in Redis
# TYPE rtml_stream_freshness_seconds histogram
rtml_stream_freshness_seconds_bucket{le="0.1"} 50
rtml_stream_freshness_seconds_bucket{le="1"} 90
rtml_stream_freshness_seconds_bucket{le="+Inf"} 100
rtml_stream_freshness_seconds_count 100
rtml_stream_events_total{topic="t",outcome="applied"} 7
rtml_stream_events_total{topic="t",outcome="dead-letter"} 2
rtml_stream_dead_letters_total{reason="schema \\"x\\""} 2
`;

describe('Prometheus text', () => {
  it('parses samples with labels, escapes included', () => {
    const samples = parsePrometheus(METRICS);
    expect(samples.filter((s) => s.name === 'rtml_stream_events_total').map((s) => s.value)).toEqual([7, 2]);
    expect(samples.find((s) => s.name === 'rtml_stream_dead_letters_total')?.labels).toEqual({ reason: 'schema "x"' });
  });

  it('quantiles interpolate inside the bucket; the open last bucket gives its lower bound; empty gives null', () => {
    const buckets = histogramBuckets(parsePrometheus(METRICS), 'rtml_stream_freshness_seconds');
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.7, buckets)).toBeCloseTo(0.1 + 0.9 * (20 / 40));
    expect(histogramQuantile(0.99, buckets)).toBe(1);
    expect(
      histogramQuantile(
        0.5,
        new Map([
          [1, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNull();
  });

  it('per-interval buckets are differences, and a restarted processor (counters went down) counts from zero', () => {
    const before = new Map([
      [1, 10],
      [Infinity, 12],
    ]);
    expect([
      ...bucketDelta(
        new Map([
          [1, 15],
          [Infinity, 20],
        ]),
        before,
      ),
    ]).toEqual([
      [1, 5],
      [Infinity, 8],
    ]);
    expect([
      ...bucketDelta(
        new Map([
          [1, 3],
          [Infinity, 3],
        ]),
        before,
      ),
    ]).toEqual([
      [1, 3],
      [Infinity, 3],
    ]);
  });
});

const letterMessage = (offset: number, reason: string, value: string) => ({
  topic: 't.dlq',
  partition: 0,
  message: {
    key: Buffer.from(`t:1:${offset}`),
    value: Buffer.from(value),
    timestamp: '1700000000000',
    attributes: 0,
    offset: String(offset),
    headers: {
      [DEAD_LETTER_HEADERS.reason]: Buffer.from(reason),
      [DEAD_LETTER_HEADERS.detail]: Buffer.from('why'),
      [DEAD_LETTER_HEADERS.topic]: Buffer.from('t'),
      [DEAD_LETTER_HEADERS.partition]: Buffer.from('1'),
      [DEAD_LETTER_HEADERS.offset]: Buffer.from(String(offset)),
      [DEAD_LETTER_HEADERS.originalKey]: Buffer.from('alice'),
    },
  },
});

describe('dead letters', () => {
  it('reads the headers into a letter whose id is the refused record, with a bounded preview', () => {
    const long = 'x'.repeat(PREVIEW_CHARS + 10);
    const letter = readLetter(letterMessage(5, 'schema', long))!;
    expect(letter.view).toMatchObject({
      id: 't:1:5',
      reason: 'schema',
      detail: 'why',
      sourceTopic: 't',
      sourcePartition: 1,
      sourceOffset: '5',
      key: 'alice',
      size: long.length,
      previewCut: true,
      bodyIncomplete: false,
    });
    expect(letter.view.preview).toHaveLength(PREVIEW_CHARS);
    expect(letter.body?.toString()).toBe(long);
    expect(
      readLetter({
        ...letterMessage(6, 'schema', ''),
        message: { ...letterMessage(6, 'schema', '').message, headers: {} },
      }),
    ).toBeUndefined();
  });

  it(
    'a letter sent twice (a processor crash) is listed and counted once; the list is bounded, the counts ' + 'are not',
    () => {
      const book = new DeadLetterBook(2);
      for (const [offset, reason] of [
        [1, 'schema'],
        [1, 'schema'],
        [2, 'late'],
        [3, 'schema'],
      ] as const)
        book.add(readLetter(letterMessage(offset, reason, '{}'))!);
      expect(book.countsByReason()).toEqual({ late: 1, schema: 2 });
      expect(book.list().map((l) => l.id)).toEqual(['t:1:3', 't:1:2']);
      expect(book.list({ reason: 'late' }).map((l) => l.id)).toEqual(['t:1:2']);
    },
  );
});

it('durations read as in the definitions', () => {
  expect([3_600_000, 90_000, 86_400_000 * 7, 1_500].map(humanDuration)).toEqual(['1h', '90s', '7d', '1500ms']);
});

describe('re-drive ledger records', () => {
  const record = (key: string | null, value: string) =>
    ({ key: key === null ? null : Buffer.from(key), value: Buffer.from(value) }) as unknown as KafkaMessage;
  const entry = { id: 't:0:5', at: 1_700_000_000_000, sha256: 'ab', edited: true, to: 't[0]@9' };

  it('an entry is read; sync records, foreign or malformed records are skipped, never thrown', () => {
    expect(readLedgerEntry(record('t:0:5', JSON.stringify(entry)))).toEqual(entry);
    expect(readLedgerEntry(record('__sync', 'a-uuid'))).toBeUndefined();
    expect(readLedgerEntry(record('t:0:5', '{"id":'))).toBeUndefined();
    expect(readLedgerEntry(record('t:0:5', JSON.stringify({ ...entry, at: 'now' })))).toBeUndefined();
    expect(readLedgerEntry(record('t:0:6', JSON.stringify(entry)))).toBeUndefined(); // key and id disagree
    expect(readLedgerEntry(record(null, JSON.stringify(entry)))).toBeUndefined();
  });

  it('the book lists a letter with the ledger note: when, where to, and whether edited', () => {
    const book = new DeadLetterBook();
    book.noteRedrive('t:0:5', entry);
    expect(book.list()).toEqual([]); // a note alone lists nothing: only letters the console read are listed
    const letter = readLetter({
      topic: 't.dlq',
      partition: 0,
      message: {
        key: null,
        value: Buffer.from('{"x":1}'),
        timestamp: '1700000000000',
        headers: {
          [DEAD_LETTER_HEADERS.reason]: 'schema',
          [DEAD_LETTER_HEADERS.topic]: 't',
          [DEAD_LETTER_HEADERS.partition]: '0',
          [DEAD_LETTER_HEADERS.offset]: '5',
        },
      } as unknown as KafkaMessage,
    })!;
    book.add(letter);
    expect(book.list()[0]?.redriven).toEqual({ at: entry.at, edited: true, to: 't[0]@9' });
  });
});
