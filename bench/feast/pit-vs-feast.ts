/**
 * PIT join, ours vs Feast, in ONE run on the same Parquet inputs (bench/lib/pit-data.ts):
 *   ours:  @rtml/offline-store buildTrainingSet (DuckDB ASOF JOIN, feature time STRICTLY BEFORE label time)
 *   Feast: get_historical_features with the DuckDB offline store (feature time <= label time, ttl 0 = none)
 * The data has no ties (labels at odd seconds, features at even seconds), so both must select the same rows:
 * every output row is compared (label_id, f0..f3) and any mismatch fails the script.
 *
 *   npx tsx --conditions=source bench/feast/pit-vs-feast.ts            # CI size
 *   npx tsx --conditions=source bench/feast/pit-vs-feast.ts --full     # README size
 *   options: --labels N --feature-rows M --entities E --runs R (best of R timed runs, each side; default 1)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfflineStore } from '@rtml/offline-store';
import { runFeastScript } from '../lib/feast.js';
import {
  benchCommand,
  emit,
  ensurePitDataset,
  machineNote,
  parseCommand,
  PIT_FEATURE_COLUMNS,
  pitLabel,
  pitSizeFromArgs,
  pitSizeOptions,
  timeMs,
} from '../lib/index.js';

const args = parseCommand(
  pitSizeOptions(
    benchCommand(
      'pit-vs-feast',
      'PIT join, ours vs Feast 0.67 get_historical_features (DuckDB offline store), same Parquet inputs; ' +
        'every row cross-checked',
    ),
  ).option('--runs <n>', 'best of R timed runs on each side', '1'),
);
const size = pitSizeFromArgs(args);
const runs = Math.max(1, args.number('runs', 1));

console.log(`# pit-vs-feast: ${pitLabel(size)}, best of ${runs}; ${machineNote()}`);
const { ms: genMs, result: data } = await timeMs(() => ensurePitDataset(size));
console.log(`# data: ${data.dir} (ready in ${(genMs / 1000).toFixed(1)} s)`);

const work = await mkdtemp(join(tmpdir(), 'rtml-pit-feast-'));
try {
  // ---- ours
  const store = await OfflineStore.open({ dir: join(work, 'store') });
  let oursS = Infinity;
  let oursCpuS = Infinity;
  let rowCount = 0;
  try {
    const ingest = await timeMs(() => store.appendHistory('pit', { parquet: data.featuresParquet }));
    const ingestSeconds = (ingest.ms / 1000).toFixed(2);
    console.log(`# ours: ingest ${ingest.result.rowsWritten} history rows in ${ingestSeconds} s (not timed below)`);
    for (let i = 0; i < runs; i++) {
      const cpu0 = process.cpuUsage(); // every thread of this process, DuckDB's included
      const { ms, result } = await timeMs(() =>
        store.buildTrainingSet({ labels: { parquet: data.labelsParquet }, featureSets: [{ name: 'pit' }], into: 'ts' }),
      );
      const cpu = process.cpuUsage(cpu0);
      oursS = Math.min(oursS, ms / 1000);
      oursCpuS = Math.min(oursCpuS, (cpu.user + cpu.system) / 1e6);
      rowCount = result.rowCount;
    }
    const oursRate = Math.round(rowCount / oursS).toLocaleString('en-US');
    const oursTimes = `${oursS.toFixed(3)} s (CPU ${oursCpuS.toFixed(3)} s)`;
    console.log(`# ours: ${rowCount} rows in ${oursTimes} = ${oursRate} rows/s; ${machineNote()}`);

    // ---- Feast
    const feastOut = join(work, 'feast.parquet');
    const result = runFeastScript<{
      seconds: number;
      cpu_seconds: number;
      rows: number;
      rows_per_s: number;
      feast: string;
    }>(
      'pit_feast.py',
      ['--labels', data.labelsParquet, '--features', data.featuresParquet, '--out', feastOut, '--runs', String(runs)],
      'FEAST',
    );
    const feastRate = Math.round(result.rows_per_s).toLocaleString('en-US');
    const feastTimes = `${result.seconds.toFixed(3)} s (CPU ${result.cpu_seconds.toFixed(3)} s)`;
    console.log(
      `# feast ${result.feast}: ${result.rows} rows in ${feastTimes} = ${feastRate} rows/s; ${machineNote()}`,
    );

    // ---- cross-check every row
    const f = PIT_FEATURE_COLUMNS;
    const differs = f.map((c) => `o."pit__${c}" IS DISTINCT FROM x."${c}"`).join(' OR ');
    const [check] = await store.query(
      `SELECT count(*)::DOUBLE AS ours, (SELECT count(*) FROM read_parquet('${feastOut}'))::DOUBLE AS feast,
              count(x.label_id)::DOUBLE AS matched, count(o."pit__f0")::DOUBLE AS with_features,
              count(*) FILTER (WHERE x.label_id IS NULL OR ${differs})::DOUBLE AS mismatched
       FROM ts o LEFT JOIN read_parquet('${feastOut}') x USING (label_id)`,
    );
    const sample = await store.query(
      `SELECT o.label_id, o.entity_id, o.label_time, o.pit__event_time,
         ${f.map((c) => `o."pit__${c}" AS ours_${c}, x."${c}" AS feast_${c}`).join(', ')}
       FROM ts o JOIN read_parquet('${feastOut}') x USING (label_id)
       WHERE o.label_id % ${Math.floor(size.labels / 5) + 1} = 3 ORDER BY o.label_id`,
    );
    console.log(`# cross-check: ${JSON.stringify(check)}`);
    for (const row of sample)
      console.log(`#   ${JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`);
    if (
      !check ||
      check['ours'] !== size.labels ||
      check['feast'] !== size.labels ||
      check['matched'] !== size.labels ||
      check['mismatched'] !== 0
    ) {
      throw new Error(`ours and Feast disagree: ${JSON.stringify(check)}`);
    }
    emit({
      row: `PIT join vs Feast ${result.feast}: ${pitLabel(size)}`,
      ours: oursS,
      reference: result.seconds,
      unit: 's',
      better: 'lower',
      target: 5,
      note:
        `wall time; ours ${Math.round(rowCount / oursS)} rows/s, Feast ${Math.round(result.rows_per_s)} rows/s; ` +
        `all ${size.labels} rows equal`,
    });
    emit({
      row: `PIT join vs Feast ${result.feast}, CPU time: ${pitLabel(size)}`,
      ours: oursCpuS,
      reference: result.cpu_seconds,
      unit: 'CPU s',
      better: 'lower',
      target: 5,
      note: 'process CPU (all threads): less sensitive than wall time to other load on a shared box',
    });
  } finally {
    store.close();
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
