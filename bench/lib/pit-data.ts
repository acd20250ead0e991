/**
 * The deterministic point-in-time-join data set shared by `bench/pit-join.ts` (ours) and `bench/feast/` (Feast),
 * written once to Parquet so both read byte-identical inputs.
 *
 * Pure integer arithmetic (no PRNG, no DuckDB hash), so any language can regenerate it:
 *
 *   features.parquet  (M rows, i in [0, M))
 *     entity_id  VARCHAR    'e' || ((i * 2654435761) % E)                     -> every entity gets ~M/E rows
 *     event_time TIMESTAMP  BASE + ((i * 1000003) % M) * 2000 ms              -> a permutation, all distinct:
 *                                                                                EVEN seconds
 *     f0..f3     DOUBLE     ((i * (2k + 3) * 7919 + k) % 100003) / 100.0
 *   labels.parquet    (N rows, j in [0, N))
 *     label_id   BIGINT     j                                                  -> join key for cross-checks
 *     entity_id  VARCHAR    'e' || ((j * 40503 + 7) % E)
 *     label_time TIMESTAMP  BASE + ((j * 7919 + 12345) % M) * 2000 + 1000 ms  -> ODD seconds: never equal to
 *                                                                                a feature time
 *     label      DOUBLE     1.0 if (j * 31) % 7 = 0 else 0.0
 *
 * BASE = 2024-01-01T00:00:00Z. Because label times and feature times never coincide, "feature time < label time"
 * (ours, strictly before) and "feature time <= label time" (Feast) select the same feature row for every label.
 * Every (entity, time) pair of features.parquet is unique, so "latest row" is never ambiguous.
 *
 * Column names match `@rtml/offline-store` directly: `appendHistory(set, { parquet: featuresParquet })` and
 * `buildTrainingSet({ labels: { parquet: labelsParquet }, ... })`. Feast's entity_df renames label_time to
 * event_timestamp.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Command } from 'commander';

export const PIT_GENERATOR_VERSION = 2;
export const PIT_FEATURE_COLUMNS = ['f0', 'f1', 'f2', 'f3'] as const;
export const PIT_BASE_ISO = '2024-01-01 00:00:00';

export interface PitSize {
  /** Label rows (entity df rows in Feast terms). */
  readonly labels: number;
  /** Feature history rows. */
  readonly featureRows: number;
  readonly entities: number;
}

/** CI size and README size. Every bench that joins this data set should use these two. */
export const PIT_SMALL: PitSize = { labels: 10_000, featureRows: 100_000, entities: 1_000 };
export const PIT_FULL: PitSize = { labels: 1_000_000, featureRows: 10_000_000, entities: 100_000 };

export interface PitDataset {
  readonly size: PitSize;
  readonly dir: string;
  readonly labelsParquet: string;
  readonly featuresParquet: string;
  /** Feature rows span [BASE, BASE + 2000 ms * featureRows). */
  readonly baseEpochMs: number;
}

const BENCH_DIR = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Default cache directory (gitignored): bench/.data/ */
export const DEFAULT_DATA_DIR = join(BENCH_DIR, '.data');

export function pitLabel(size: PitSize): string {
  return `${size.labels} labels x ${size.featureRows} feature rows (${size.entities} entities)`;
}

function check(size: PitSize): void {
  for (const [k, v] of Object.entries(size))
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`PitSize.${k} must be a positive integer, got ${v}`);
  // (i * 1000003) % M must be a permutation of [0, M): gcd(1000003, M) = 1 (1000003 is prime).
  if (size.featureRows % 1_000_003 === 0) throw new RangeError('featureRows must not be a multiple of 1000003');
  // i * 2654435761 must stay below 2^63 in DuckDB BIGINT arithmetic.
  if (size.featureRows > 3_000_000_000) throw new RangeError('featureRows too large for the generator');
}

/** Generates (or reuses, if already generated with the same size and generator version) the two Parquet files. */
export async function ensurePitDataset(size: PitSize, dataDir: string = DEFAULT_DATA_DIR): Promise<PitDataset> {
  check(size);
  const dir = join(dataDir, `pit-v${PIT_GENERATOR_VERSION}-${size.labels}l-${size.featureRows}r-${size.entities}e`);
  const dataset: PitDataset = {
    size,
    dir,
    labelsParquet: join(dir, 'labels.parquet'),
    featuresParquet: join(dir, 'features.parquet'),
    baseEpochMs: Date.parse(`${PIT_BASE_ISO.replace(' ', 'T')}Z`),
  };
  const manifest = join(dir, 'manifest.json');
  if (existsSync(manifest)) {
    const saved = JSON.parse(await readFile(manifest, 'utf8')) as { version: number; size: PitSize };
    if (saved.version === PIT_GENERATOR_VERSION && JSON.stringify(saved.size) === JSON.stringify(size)) return dataset;
  }
  await rm(dir, { recursive: true, force: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const { labels: N, featureRows: M, entities: E } = size;
    const base = `TIMESTAMP '${PIT_BASE_ISO}'`;
    const features = PIT_FEATURE_COLUMNS.map(
      (name, k) => `((i * ${2 * k + 3} * 7919 + ${k}) % 100003) / 100.0 AS ${name}`,
    ).join(', ');
    await connection.run(
      `COPY (SELECT 'e' || ((i * 2654435761) % ${E}) AS entity_id,
                    ${base} + to_milliseconds(((i * 1000003) % ${M}) * 2000) AS event_time,
                    ${features}
             FROM range(${M}) t(i) ORDER BY i)
       TO '${join(tmp, 'features.parquet')}' (FORMAT PARQUET, COMPRESSION ZSTD)`,
    );
    await connection.run(
      `COPY (SELECT j AS label_id,
                    'e' || ((j * 40503 + 7) % ${E}) AS entity_id,
                    ${base} + to_milliseconds(((j * 7919 + 12345) % ${M}) * 2000 + 1000) AS label_time,
                    CASE WHEN (j * 31) % 7 = 0 THEN 1.0 ELSE 0.0 END::DOUBLE AS label
             FROM range(${N}) t(j) ORDER BY j)
       TO '${join(tmp, 'labels.parquet')}' (FORMAT PARQUET, COMPRESSION ZSTD)`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify({ version: PIT_GENERATOR_VERSION, size }, null, 2)}\n`);
  await rename(tmp, dir);
  return dataset;
}

/** The size a bench script should use: --labels/--feature-rows/--entities override the small or --full preset. */
/** The data-set size options every PIT script takes (read back with pitSizeFromArgs). */
export function pitSizeOptions(command: Command): Command {
  return command
    .option('--labels <n>', `label rows (default ${PIT_SMALL.labels}, ${PIT_FULL.labels} with --full)`)
    .option(
      '--feature-rows <n>',
      `feature history rows (default ${PIT_SMALL.featureRows}, ${PIT_FULL.featureRows} with --full)`,
    )
    .option('--entities <n>', `entities (default ${PIT_SMALL.entities}, ${PIT_FULL.entities} with --full)`);
}

export function pitSizeFromArgs(args: { full: boolean; number(name: string, fallback: number): number }): PitSize {
  const preset = args.full ? PIT_FULL : PIT_SMALL;
  return {
    labels: args.number('labels', preset.labels),
    featureRows: args.number('feature-rows', preset.featureRows),
    entities: args.number('entities', preset.entities),
  };
}
