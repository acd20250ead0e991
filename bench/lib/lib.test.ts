import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import {
  advantage,
  ensurePitDataset,
  markdownTable,
  met,
  parseArgs,
  parseBenchLines,
  percentile,
  summarize,
  type BenchRow,
} from './index.js';
import { compareWithOurs, type KafkaStreamsRun } from './kafka-streams.js';

describe('stats', () => {
  it('nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
    expect(summarize([3, 1, 2])).toMatchObject({ n: 3, min: 1, p50: 2, max: 3, mean: 2 });
  });
});

describe('args', () => {
  it('size: the small default, the full one with --full, an explicit flag over both, only positive integers', () => {
    expect(parseArgs([]).size('n', 10, 1_000)).toBe(10);
    expect(parseArgs(['--full']).size('n', 10, 1_000)).toBe(1_000);
    expect(parseArgs(['--full', '--n', '5_000']).size('n', 10, 1_000)).toBe(5_000);
    expect(() => parseArgs(['--n', '0']).size('n', 10, 1_000)).toThrow('--n must be a positive integer, got 0');
    expect(() => parseArgs(['--n=2.5']).size('n', 10, 1_000)).toThrow('positive integer');
  });
});

describe('BENCH rows', () => {
  const faster: BenchRow = { row: 'a', ours: 2, reference: 12, unit: 's', better: 'lower', target: 5 };
  const throughput: BenchRow = { row: 'b', ours: 40, reference: 100, unit: 'msg/s', better: 'higher', target: 0.5 };
  it('advantage is > 1 when ours is better, whichever direction is better', () => {
    expect(advantage(faster)).toBe(6);
    expect(advantage(throughput)).toBe(0.4);
    expect(met(faster)).toBe(true);
    expect(met(throughput)).toBe(false);
    expect(met({ ...faster, target: null })).toBeNull();
    expect(met({ ...faster, reference: null, target: null, limit: 1 })).toBe(false);
  });
  it('round-trips through the printed line', () => {
    const text = `noise\nBENCH ${JSON.stringify(faster)}\nBENCH ${JSON.stringify(throughput)}\n`;
    expect(parseBenchLines(text)).toEqual([faster, throughput]);
    expect(markdownTable([{ source: 'x', row: faster }])).toContain('| 6× better | ≥ 5× better | yes |');
  });
});

describe('PIT data set', () => {
  it('has unique feature keys and no label time equal to any feature time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pit-data-'));
    try {
      const data = await ensurePitDataset({ labels: 2_000, featureRows: 20_000, entities: 300 }, dir);
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      const reader = await connection.runAndReadAll(
        `SELECT (SELECT count(*) FROM '${data.featuresParquet}')::INT AS rows,
                (SELECT count(DISTINCT (entity_id, event_time)) FROM '${data.featuresParquet}')::INT AS keys,
                (SELECT count(DISTINCT entity_id) FROM '${data.featuresParquet}')::INT AS entities,
                (SELECT count(*) FROM '${data.labelsParquet}')::INT AS labels,
                (SELECT count(*) FROM '${data.labelsParquet}' l
                 JOIN '${data.featuresParquet}' f ON f.event_time = l.label_time)::INT AS ties`,
      );
      expect(reader.getRowObjectsJS()[0]).toEqual({
        rows: 20_000,
        keys: 20_000,
        entities: 300,
        labels: 2_000,
        ties: 0,
      });
      connection.closeSync();
      instance.closeSync();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Kafka Streams output check', () => {
  const ours = new Map([['user1', { txn_count_1h: 3, amount_sum_24h: 0.1 + 0.2, last_merchants: ['m1', 'm2'] }]]);
  const runWith = (sample: KafkaStreamsRun['sample']): KafkaStreamsRun => ({
    variant: 'dsl',
    run: 1,
    seconds: 1,
    cpuSeconds: 1,
    events: 3,
    outputRecords: 1,
    sample,
  });

  it('accepts equal vectors (sums within rounding)', () => {
    expect(
      compareWithOurs(
        runWith({ user1: { values: { txn_count_1h: 3, amount_sum_24h: 0.3, last_merchants: ['m1', 'm2'] } } }),
        ours,
      ),
    ).toEqual([]);
  });

  it('names every differing feature and every user without output', () => {
    expect(
      compareWithOurs(
        runWith({ user1: { values: { txn_count_1h: 4, amount_sum_24h: 0.3, last_merchants: ['m2', 'm1'] } } }),
        ours,
      ),
    ).toEqual([
      'user1.txn_count_1h: ours 3, Kafka Streams dsl run 1 4',
      'user1.last_merchants: ours ["m1","m2"], Kafka Streams dsl run 1 ["m2","m1"]',
    ]);
    expect(compareWithOurs(runWith({}), ours)).toEqual(['user1: no output vector from Kafka Streams dsl run 1']);
  });
});
